"""The regression gate: absolute limits on a candidate, and regressions against a baseline.

Two kinds of check, chosen so that CI fails on real problems and not on noise:

- **limit** — the candidate's *point estimate* must be within the bound (``max`` for rates, ``min``
  for scores). The point estimate, not an interval end: with ~300 prompts per tier a 95% interval
  is ±5 points wide (±13 on the 54-prompt lite tiers), so "upper bound below the limit" would fail every good model, and "lower
  bound below the limit" would pass almost any bad one. The report shows the intervals.
- **regression** — fails only when the candidate is worse than the baseline by more than the
  allowance *and* a one-sided paired test on per-prompt outcomes (exact McNemar for rates, paired t
  for scores) rejects "no change" at ``alpha`` after a Holm correction over all regression checks.
  The allowance is a practical floor (how much worse is tolerable); the test is what keeps a
  handful of flipped prompts from failing a pipeline.

Runs that cannot be judged fairly are refused (:class:`RunError`, exit 2): a ``--limit``-ed run,
a metric or tier missing from the results, or a baseline with different provenance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from argen_tasks.reporting.compare import (
    TIERS,
    compare,
    format_delta,
    format_estimate,
    format_value,
    higher_is_better,
    summarize,
    tiers_of,
)
from argen_tasks.reporting.runs import Run, RunError, require_comparable
from argen_tasks.reporting.stats import Estimate, PairedTest, holm
from argen_tasks.resources import folder
from argen_tasks.verdict import METRICS

CORRECTIONS = ("holm", "none")
DEFAULT_THRESHOLDS = folder("argen_tasks.gates", "gates") / "default.yaml"
"""``gates/default.yaml``, installed with the package."""


class ThresholdsError(RunError):
    """An invalid thresholds file (exit code 2)."""


@dataclass(frozen=True)
class Limit:
    tier: str
    metric: str
    bound: str
    """``"max"`` or ``"min"``."""
    value: float


@dataclass(frozen=True)
class Allowance:
    tier: str
    metric: str
    worsening: float
    """How much worse than the baseline is tolerated, in the metric's units (rates: a fraction)."""


@dataclass(frozen=True)
class Thresholds:
    alpha: float
    correction: str
    limits: tuple[Limit, ...]
    allowances: tuple[Allowance, ...]


@dataclass(frozen=True)
class Check:
    kind: str
    """``"limit"`` or ``"regression"``."""
    tier: str
    metric: str
    rule: str
    candidate: Estimate
    passed: bool
    baseline: Estimate | None = None
    test: PairedTest | None = None
    p_adjusted: float | None = None


def load_thresholds(path: Path, alpha: float | None = None) -> Thresholds:
    """Parse and validate a thresholds file; ``alpha`` overrides the file's value."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ThresholdsError(f"{path}: cannot read the thresholds file ({exc})") from None
    if not isinstance(data, dict) or set(data) - {"alpha", "correction", "limits", "regressions"}:
        raise ThresholdsError(f"{path}: top-level keys must be among alpha, correction, limits, regressions")
    alpha = alpha if alpha is not None else _number(path, "alpha", data.get("alpha", 0.05))
    correction = data.get("correction", "holm")
    if not 0 < alpha < 1 or correction not in CORRECTIONS:
        raise ThresholdsError(f"{path}: alpha must be in (0, 1) and correction one of {', '.join(CORRECTIONS)}")
    limits = []
    for tier, metric, rule in _entries(path, data, "limits"):
        if not isinstance(rule, dict) or not rule or set(rule) - {"max", "min"}:
            raise ThresholdsError(f"{path}: limits.{tier}.{metric} must be {{max: X}} and/or {{min: X}}")
        limits.extend(Limit(tier, metric, bound, _number(path, f"limits.{tier}.{metric}.{bound}", v)) for bound, v in rule.items())
    allowances = [
        Allowance(tier, metric, _number(path, f"regressions.{tier}.{metric}", value))
        for tier, metric, value in _entries(path, data, "regressions")
    ]
    return Thresholds(alpha, correction, tuple(limits), tuple(allowances))


def evaluate(candidate: Run, baseline: Run | None, thresholds: Thresholds) -> list[Check]:
    """Every check of the thresholds; regressions only when a baseline is given."""
    _require_usable(candidate, thresholds)
    if baseline is not None:
        _require_usable(baseline, thresholds)
        require_comparable(baseline, candidate)
    checks = [_limit_check(candidate, limit) for limit in thresholds.limits]
    if baseline is not None:
        checks += _regression_checks(baseline, candidate, thresholds)
    return checks


def _limit_check(run: Run, limit: Limit) -> Check:
    est = summarize(run, limit.tier, limit.metric)
    passed = est.value <= limit.value if limit.bound == "max" else est.value >= limit.value
    sign = "≤" if limit.bound == "max" else "≥"
    return Check("limit", limit.tier, limit.metric, f"{sign} {format_value(limit.metric, limit.value)}", est, passed)


def _regression_checks(baseline: Run, candidate: Run, thresholds: Thresholds) -> list[Check]:
    tests = [compare(baseline, candidate, a.tier, a.metric) for a in thresholds.allowances]
    raw = [t.p_worse for t in tests]
    adjusted = holm(raw) if thresholds.correction == "holm" else raw
    checks = []
    for allowance, test, p in zip(thresholds.allowances, tests, adjusted):
        worsening = -test.delta if higher_is_better(allowance.metric) else test.delta
        significant = p <= thresholds.alpha
        rule = f"worse by ≤ {format_delta(allowance.metric, allowance.worsening).lstrip('+')} or p > {thresholds.alpha:g}"
        checks.append(
            Check(
                "regression", allowance.tier, allowance.metric, rule,
                candidate=summarize(candidate, allowance.tier, allowance.metric),
                passed=not (significant and worsening > allowance.worsening),
                baseline=summarize(baseline, allowance.tier, allowance.metric),
                test=test, p_adjusted=p,
            )
        )  # fmt: skip
    return checks


def _require_usable(run: Run, thresholds: Thresholds) -> None:
    if run.limit is not None:
        raise RunError(f"{run.results_path}: a partial run ({run.limit}) cannot pass or fail a gate; rerun without --limit")
    wanted = {(c.tier, c.metric) for c in (*thresholds.limits, *thresholds.allowances)}
    for tier, metric in sorted(wanted):
        if metric not in run.metrics:
            raise RunError(f"{run.results_path}: metric {metric!r} is missing from the results")
        if tier not in tiers_of(run):
            raise RunError(f"{run.results_path}: tier {tier!r} is not in this run (tiers: {', '.join(tiers_of(run))})")
        if math.isnan(summarize(run, tier, metric).value):
            raise RunError(f"{run.results_path}: no prompt of tier {tier!r} has a value for {metric!r} (judge errors?)")


def _entries(path: Path, data: dict[str, Any], section: str) -> list[tuple[str, str, Any]]:
    block = data.get(section) or {}
    if not isinstance(block, dict):
        raise ThresholdsError(f"{path}: {section} must map tiers to metrics")
    entries = []
    for tier, metrics in block.items():
        if tier not in TIERS or not isinstance(metrics, dict):
            raise ThresholdsError(f"{path}: {section}.{tier}: tiers are {', '.join(TIERS)}, each mapping metrics")
        for metric, value in metrics.items():
            if metric not in METRICS:
                raise ThresholdsError(f"{path}: {section}.{tier}.{metric}: unknown metric (known: {', '.join(METRICS)})")
            entries.append((tier, metric, value))
    return entries


def _number(path: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ThresholdsError(f"{path}: {where} must be a number, got {value!r}")
    return float(value)


def describe(check: Check) -> tuple[str, ...]:
    """One row of the gate's table (console and markdown): check, tier, metric, rule, baseline,
    candidate, change, p, result."""
    test = check.test
    change = "" if test is None else f"{format_delta(check.metric, test.delta)}, {test.worse} worse / {test.better} better"
    p = "" if check.p_adjusted is None else f"{check.p_adjusted:.3g}"
    return (
        check.kind, check.tier, check.metric, check.rule,
        "" if check.baseline is None else format_estimate(check.metric, check.baseline),
        format_estimate(check.metric, check.candidate), change, p, "pass" if check.passed else "FAIL",
    )  # fmt: skip


COLUMNS = ("check", "tier", "metric", "rule", "baseline", "candidate", "change (prompts)", "p (one-sided, adj.)", "result")


def markdown(checks: list[Check], candidate: Run, baseline: Run | None, thresholds: Thresholds) -> str:
    """A summary for CI pages (e.g. ``$GITHUB_STEP_SUMMARY``)."""
    failed = [c for c in checks if not c.passed]
    verdict = f"**FAIL** — {len(failed)} of {len(checks)} checks failed" if failed else f"**PASS** — {len(checks)} checks"
    prov = candidate.provenance
    lines = [
        f"## argen-gate: {verdict}",
        "",
        f"- candidate: `{candidate.results_path}` ({candidate.model}, {len(candidate.samples)} prompts)",
        f"- baseline: `{baseline.results_path}` ({baseline.model})" if baseline else "- baseline: none (limits only)",
        f"- judge `{prov.judge}`, rubric `{prov.rubric_version}`, policy `{prov.policy_hash}`, test set `{candidate.test_set}`",
        f"- regressions: one-sided paired tests, alpha {thresholds.alpha:g}, correction {thresholds.correction};"
        " limits: point estimates [95% intervals shown]",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(describe(c)) + " |" for c in checks]
    return "\n".join(lines) + "\n"
