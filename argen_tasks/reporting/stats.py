"""The statistics behind ``argen-report`` and ``argen-gate``, in one place so that an interval in a
report and a decision of the gate can never be computed two different ways.

- Rates (violations, over-refusal, judge errors): Wilson score intervals, which stay inside [0, 1]
  and keep their coverage at 0 or 1 successes, where the normal approximation collapses.
- Means (graded scores, reward): Student-t intervals; the per-prompt values are bounded, so the
  mean is close to normal at the test set's size (54 to 313 prompts per tier).
- The harmonic mean of two rates (the operational-safety score): a percentile bootstrap that resamples
  each rate's prompts on its own, seeded so that a report is reproducible.
- Paired comparisons over the same prompts: exact McNemar (a binomial test on the discordant pairs)
  for 0/1 outcomes, a paired t-test for graded ones. Pairing removes the prompt-to-prompt variance,
  which is most of the variance, so a real change is detected with far fewer prompts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A point estimate over ``n`` values with its two-sided confidence interval."""

    value: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class PairedTest:
    """Candidate vs baseline on the same prompts, oriented so that "worse" means worse for the metric."""

    method: str
    n: int
    """Prompts with a value in both runs."""
    worse: int
    """Prompts where the candidate is worse than the baseline."""
    better: int
    delta: float
    """Mean of candidate minus baseline over the paired prompts (in the metric's own units)."""
    p_worse: float
    """One-sided p-value for "the candidate is worse"."""
    p_two_sided: float


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> Estimate:
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), n)


def mean_t(values: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    n = len(values)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = float(np.mean(values))
    if n == 1:
        return Estimate(mean, math.nan, math.nan, 1)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * float(np.std(values, ddof=1)) / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n)


BOOTSTRAP_RESAMPLES = 4000


def harmonic_mean_of_rates(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """``2AB / (A + B)`` for the means ``A``, ``B`` of two 0/1 samples; ``n`` counts both samples.

    Resampling a 0/1 sample with replacement draws its success count from Binomial(n, mean), so the
    bootstrap draws those counts directly."""
    if not a or not b:
        return Estimate(math.nan, math.nan, math.nan, 0)
    rng = np.random.default_rng(0)
    resampled = [rng.binomial(len(x), float(np.mean(x)), BOOTSTRAP_RESAMPLES) / len(x) for x in (a, b)]
    point = float(_harmonic(np.mean(a), np.mean(b)))
    spread = _harmonic(*resampled)
    tail = (1 - confidence) / 2 * 100
    low, high = np.nanpercentile(spread, [tail, 100 - tail])
    return Estimate(point, float(low), float(high), len(a) + len(b))


def _harmonic(a: Any, b: Any) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    total = a + b
    return np.divide(2 * a * b, total, out=np.zeros_like(total), where=total > 0)


def estimate(values: Sequence[float], binary: bool, confidence: float = CONFIDENCE) -> Estimate:
    """Wilson for 0/1 values, Student-t otherwise."""
    return wilson(int(sum(values)), len(values), confidence) if binary else mean_t(values, confidence)


def paired_test(
    baseline: Sequence[float], candidate: Sequence[float], *, binary: bool, higher_is_better: bool
) -> PairedTest:
    """Exact McNemar for 0/1 outcomes, paired t otherwise; ``baseline[i]`` and ``candidate[i]`` are one prompt."""
    base, cand = np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)
    if base.shape != cand.shape:
        raise ValueError("paired values must have the same length")
    worsening = (base - cand) if higher_is_better else (cand - base)
    worse, better = int(np.sum(worsening > 0)), int(np.sum(worsening < 0))
    delta = float(np.mean(cand - base)) if len(base) else math.nan
    if binary:
        p_worse, p_two_sided = _mcnemar_exact(worse, better)
        method = "McNemar exact"
    else:
        p_worse, p_two_sided = _paired_t(worsening)
        method = "paired t"
    return PairedTest(method, len(base), worse, better, delta, p_worse, p_two_sided)


def _mcnemar_exact(worse: int, better: int) -> tuple[float, float]:
    """Under "no change" each discordant prompt is equally likely to flip either way: Binomial(n, 1/2)."""
    discordant = worse + better
    if discordant == 0:
        return 1.0, 1.0
    one_sided = float(stats.binom.sf(worse - 1, discordant, 0.5))
    return one_sided, float(stats.binomtest(worse, discordant, 0.5).pvalue)


def _paired_t(worsening: np.ndarray) -> tuple[float, float]:
    if len(worsening) < 2:
        return 1.0, 1.0
    if np.all(worsening == worsening[0]):
        # No spread: the change is nothing or identical on every prompt (scipy would answer NaN).
        change = float(worsening[0])
        return (0.0 if change > 0 else 1.0), (1.0 if change == 0 else 0.0)
    one_sided = stats.ttest_1samp(worsening, 0.0, alternative="greater").pvalue
    two_sided = stats.ttest_1samp(worsening, 0.0).pvalue
    return float(one_sided), float(two_sided)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values: the gate runs many checks at once, and without a correction one of
    them fails by chance far more often than ``alpha`` (Holm controls that, uniformly more
    powerful than Bonferroni)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
