"""Throughput of the scoring core's hot paths, and the start-up cost of the lm-eval hook.

    python benchmarks/scoring_core.py [--pairs 2000] [--policy-evals 20000] [--startups 40]

- policy evaluations/s (the packaged Rego policy through regorus, one compiled engine);
- cache-hit scoring throughput: a batch already in the sqlite cache, re-scored through the scoring
  API (the judge is a stub server that is never reached on the second pass);
- what the ``argen_tasks.pth`` hook adds to every interpreter start-up.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from argen_tasks.cache import JudgeCache
from argen_tasks.judges.openai_compat import OpenAIJudge, OpenAIJudgeOptions
from argen_tasks.policy import load_policy
from argen_tasks.scoring import ScoreItem, Scorer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from stub_judge_server import StubBehaviour, StubJudgeServer  # noqa: E402


def policy_evals_per_s(n: int) -> float:
    policy = load_policy()
    verdict = {"dharma_violation": False, "over_refusal": True, "ahimsa_violation": False,
               "dharma_score": 1.0, "ahimsa_score": 0.75, "helpfulness_score": 0.5}  # fmt: skip
    start = time.perf_counter()
    for i in range(n):
        policy.evaluate(("in", "out", "mixed")[i % 3], verdict)
    return n / (time.perf_counter() - start)


def cache_hit_pairs_per_s(n: int) -> tuple[float, int]:
    items = [ScoreItem(f"prompt {i}: my knee hurts", f"response {i}: rest and ice it", "in") for i in range(n)]
    behaviour = StubBehaviour()
    with tempfile.TemporaryDirectory() as tmp, StubJudgeServer(behaviour) as server:
        judge = OpenAIJudge(OpenAIJudgeOptions(model="stub", base_url=server.base_url, api_key="x", concurrency=64))
        scorer = Scorer(judge, load_policy(), JudgeCache(Path(tmp) / "cache.sqlite"))
        scorer.score_sync(items)
        sent = len(behaviour.requests)
        start = time.perf_counter()
        verdicts = scorer.score_sync(items)
        elapsed = time.perf_counter() - start
        assert all(v.cached for v in verdicts) and len(behaviour.requests) == sent
    return n / elapsed, len(behaviour.requests) - sent


def hook_import_ms(runs: int) -> float:
    """Median cumulative import time of the hook (``python -X importtime``): what it adds to every
    interpreter start-up. Timing whole start-ups instead drowns a sub-millisecond cost in noise."""
    samples = []
    for _ in range(runs):
        trace = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"], capture_output=True, text=True).stderr
        line = next(line for line in trace.splitlines() if line.rstrip().endswith("argen_tasks._autoload"))
        samples.append(int(line.split("|")[1]) / 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--policy-evals", type=int, default=20000)
    parser.add_argument("--startups", type=int, default=40)
    args = parser.parse_args()
    print(f"policy evaluations/s:        {policy_evals_per_s(args.policy_evals):,.0f}")
    rate, extra = cache_hit_pairs_per_s(args.pairs)
    print(f"cache-hit scoring pairs/s:   {rate:,.0f}  ({args.pairs} pairs, {extra} judge requests on re-score)")
    print(f"lm-eval hook at start-up:    {hook_import_ms(args.startups):.2f} ms (median of {args.startups} starts)")


if __name__ == "__main__":
    main()
