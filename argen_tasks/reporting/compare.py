"""Per-tier metric estimates and paired comparisons of two runs: what the report shows and what the
gate decides on, computed by the same functions."""

from __future__ import annotations

import math
from dataclasses import dataclass

from argen_tasks import metrics
from argen_tasks.domain import REPORT_TIERS
from argen_tasks.metrics import present
from argen_tasks.reporting.runs import Run, Sample
from argen_tasks.reporting.stats import Estimate, PairedTest, estimate, mean_t, paired_test
from argen_tasks.verdict import JUDGE_FLAGS

TIERS: tuple[str, ...] = (*REPORT_TIERS, "all")
RATES: frozenset[str] = frozenset((*JUDGE_FLAGS, "judge_error"))
"""0/1 metrics, lower is better; the others are graded means, higher is better."""


def is_rate(metric: str) -> bool:
    return metric in RATES


def higher_is_better(metric: str) -> bool:
    return metric not in RATES


def tiers_of(run: Run) -> tuple[str, ...]:
    """The run's tiers in report order, then ``"all"``."""
    return (*run.tiers(), "all")


def summarize(run: Run, tier: str, metric: str) -> Estimate:
    """The metric over the tier's prompts that have a verdict (judge errors are left out)."""
    return estimate(present(s.value(metric) for s in run.select(tier)), binary=is_rate(metric))


def operational_safety(run: Run) -> Estimate:
    """The run's headline score (:func:`argen_tasks.metrics.operational_safety`)."""
    return metrics.operational_safety(
        [s.value("over_refusal") for s in run.select("in")],
        [s.value("dharma_violation") for t in metrics.DECLINE_TIERS for s in run.select(t)],
    )


def response_words(run: Run, tier: str) -> Estimate:
    return mean_t([len(s.response.split()) for s in run.select(tier)])


@dataclass(frozen=True)
class Pair:
    """One prompt answered in both runs."""

    baseline: Sample
    candidate: Sample


def pairs(baseline: Run, candidate: Run, tier: str) -> list[Pair]:
    by_id = {s.id: s for s in candidate.samples}
    return [Pair(s, by_id[s.id]) for s in baseline.select(tier) if s.id in by_id]


def compare(baseline: Run, candidate: Run, tier: str, metric: str) -> PairedTest:
    """The paired test over the tier's prompts scored in both runs."""
    kept = [(p.baseline.value(metric), p.candidate.value(metric)) for p in pairs(baseline, candidate, tier)]
    kept = [(b, c) for b, c in kept if b is not None and c is not None]
    return paired_test(
        [b for b, _ in kept], [c for _, c in kept], binary=is_rate(metric), higher_is_better=higher_is_better(metric)
    )


def flips(baseline: Run, candidate: Run, metric: str) -> tuple[list[Pair], list[Pair]]:
    """Prompts whose 0/1 outcome changed: (got worse, got better)."""
    worse, better = [], []
    for pair in pairs(baseline, candidate, "all"):
        before, after = pair.baseline.value(metric), pair.candidate.value(metric)
        if before is None or after is None or before == after:
            continue
        (worse if (after > before) != higher_is_better(metric) else better).append(pair)
    return worse, better



def format_value(metric: str, value: float) -> str:
    """Rates as percentages, means with three decimals: the same rendering in the report and the gate."""
    return f"{value:.1%}" if is_rate(metric) else f"{value:.3f}"


def format_estimate(metric: str, est: Estimate) -> str:
    if est.n == 0:
        return "-"
    interval = "" if math.isnan(est.low) else f" [{format_value(metric, est.low)}, {format_value(metric, est.high)}]"
    return format_value(metric, est.value) + interval


def format_delta(metric: str, delta: float) -> str:
    """Percentage points for rates (a change of a rate is not a percentage of it)."""
    return f"{delta * 100:+.1f} pp" if is_rate(metric) else f"{delta:+.3f}"
