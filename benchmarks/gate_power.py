"""The smallest per-tier regression in a rate that ``argen-gate`` detects with 80% power.

    python benchmarks/gate_power.py [--thresholds gates/default.yaml] [--simulations 4000]

The gate fails a rate regression when the one-sided exact McNemar test on the prompts' paired
outcomes rejects "no change" after a Holm correction over every regression check of the thresholds
file. With one real regression among ``m`` checks, Holm compares its p-value with ``alpha / m``.

Model: each prompt of an ``n``-prompt tier flips independently; it gets worse with probability
``c + delta`` and better with probability ``c`` (``c`` is the churn a retrained model shows even when
it is no worse), so the rate rises by ``delta``. Three computations of the power, which must agree:

- **exact**: the number of discordant prompts ``D ~ Binomial(n, 2c + delta)``, the worse ones
  ``W | D ~ Binomial(D, (c + delta) / (2c + delta))``, summed over the McNemar rejection region;
- **normal approximation** (Connor 1987): ``Phi((delta sqrt(n) - z sqrt(psi)) / sqrt(psi - delta^2))``
  with ``psi = 2c + delta``;
- **simulation** through the gate's own test (``argen_tasks.reporting.stats.paired_test``).

Prints a table of the smallest ``delta`` (in points) with power >= 0.8 per tier size and churn.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import stats

from argen_tasks.reporting.gate import load_thresholds
from argen_tasks.reporting.stats import paired_test
from argen_tasks.splits import load_prompts

POWER = 0.8
CHURNS = (0.0, 0.05, 0.10)


def critical_worse(discordant: int, alpha: float) -> int:
    """The fewest worse prompts among ``discordant`` that the one-sided exact McNemar test rejects at ``alpha``."""
    worse = np.arange(discordant + 1)
    rejects = stats.binom.sf(worse - 1, discordant, 0.5) <= alpha
    return int(worse[rejects][0]) if rejects.any() else discordant + 1


def exact_power(n: int, delta: float, churn: float, alpha: float) -> float:
    worse, better = churn + delta, churn
    discordant = np.arange(n + 1)
    critical = np.array([critical_worse(d, alpha) for d in discordant])
    share = worse / (worse + better) if worse + better else 0.0
    p_reject = stats.binom.sf(critical - 1, discordant, share)
    return float(np.sum(stats.binom.pmf(discordant, n, worse + better) * p_reject))


def normal_power(n: int, delta: float, churn: float, alpha: float) -> float:
    psi = 2 * churn + delta
    if psi - delta**2 <= 0:
        return 1.0
    z = stats.norm.isf(alpha)
    return float(stats.norm.cdf((delta * np.sqrt(n) - z * np.sqrt(psi)) / np.sqrt(psi - delta**2)))


def simulated_power(n: int, delta: float, churn: float, alpha: float, simulations: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    rejected = 0
    for _ in range(simulations):
        kind = rng.choice(3, size=n, p=[churn + delta, churn, 1 - 2 * churn - delta])
        baseline = (kind == 1).astype(float)
        candidate = (kind == 0).astype(float)
        test = paired_test(baseline, candidate, binary=True, higher_is_better=False)
        rejected += test.p_worse <= alpha and test.delta > 0
    return rejected / simulations


def smallest_delta(n: int, churn: float, alpha: float) -> float:
    for points in np.arange(0.5, 60.5, 0.5):
        if exact_power(n, points / 100, churn, alpha) >= POWER:
            return float(points)
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--thresholds", type=Path, default=Path(__file__).resolve().parent.parent / "gates" / "default.yaml")
    parser.add_argument("--simulations", type=int, default=4000)
    args = parser.parse_args()
    thresholds = load_thresholds(args.thresholds)
    checks = len(thresholds.allowances)
    alpha = thresholds.alpha / checks if thresholds.correction == "holm" else thresholds.alpha
    test = load_prompts("test")
    sizes = {tier: sum(r["tier"] == tier for r in test) for tier in ("in", "out", "mixed")}
    sizes |= {"adversarial": len(load_prompts("adversarial")), "all": len(test) + len(load_prompts("adversarial")), "old tier": 54}
    print(f"{args.thresholds}: alpha {thresholds.alpha} over {checks} regression checks ({thresholds.correction}): "
          f"a lone regression is tested at {alpha:.4f}")  # fmt: skip
    print("\nsmallest rise in a rate (points) detected with 80% power")
    print("| tier | prompts | " + " | ".join(f"churn {c:.0%}" for c in CHURNS) + " |")
    print("|---|---|" + "---|" * len(CHURNS))
    for tier, n in sizes.items():
        print(f"| {tier} | {n} | " + " | ".join(f"{smallest_delta(n, c, alpha):.1f}" for c in CHURNS) + " |")
    print("\ncheck: power at the detected rise, three ways (n = in-tier size)")
    print("| churn | rise | exact | normal approx. | simulated (gate's test) |")
    print("|---|---|---|---|---|")
    n = sizes["in"]
    for churn in CHURNS:
        delta = smallest_delta(n, churn, alpha) / 100
        sim = simulated_power(n, delta, churn, alpha, args.simulations)
        print(f"| {churn:.0%} | {delta:.1%} | {exact_power(n, delta, churn, alpha):.3f} "
              f"| {normal_power(n, delta, churn, alpha):.3f} | {sim:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
