"""Benchmark: the GRPO reward phase costs about one judge latency, whatever the number of completions.

A stub judge (``tests/stub_judge_server.py``: an OpenAI-compatible ``/v1/chat/completions`` on
127.0.0.1 that sleeps ``L`` seconds and returns a fixed, valid verdict: it only adds latency) stands
in for an LLM judge. The reward phase is timed exactly as TRL runs it: ``GRPOTrainer._calculate_rewards``
of a real trainer (a tiny random model; no generation happens) with argen's reward functions, the real
scorer and the real OpenAI judge client, cache off (``tests/reward_phase.py``). The target is at most
``1.5 L`` plus local overhead.

    .venv/bin/python benchmarks/reward_latency.py --latency 0.5 --completions 8 32 128
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from reward_phase import measure  # noqa: E402
from stub_judge_server import StubBehaviour, StubJudgeServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.5, help="stub judge latency L in seconds")
    parser.add_argument("--completions", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    # The same phase against a zero-latency stub is the local overhead (client, stub server, policy).
    slow, fast = StubBehaviour(latency_s=args.latency, keep_bodies=False), StubBehaviour(keep_bodies=False)
    with StubJudgeServer(slow) as server, StubJudgeServer(fast) as instant:
        for n in args.completions:
            rows.append((measure(server, n, args.repeats), measure(instant, n, args.repeats)))
    print(
        "| completions | L (s) | reward phase, median (s) | worst (s) | local overhead at L=0, median (s) "
        "| (median - overhead) / L | judge requests | max in flight | errors |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r, base in rows:
        print(
            f"| {r.completions} | {r.latency_s:.2f} | {r.median_s:.3f} | {r.seconds:.3f} | {base.median_s:.3f} | "
            f"{(r.median_s - base.median_s) / r.latency_s:.2f} | {r.requests} | {r.max_in_flight} | {r.errors} |"
        )


if __name__ == "__main__":
    main()
