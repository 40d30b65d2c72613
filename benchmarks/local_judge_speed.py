"""Load time and batch throughput of the local judge.

    python benchmarks/local_judge_speed.py --pairs 4000

1. Load: a fresh interpreter imports the judge and loads it (encoder + heads), timed inside it;
   median of ``--loads`` runs. The distilled encoder is built once per machine before that
   (its one-off cost is printed too).
2. Throughput: ``argen-judge score --judge local --judge-cache off`` on ``--pairs`` distinct pairs
   (labeled-set responses, each made unique so nothing is de-duplicated), end to end, and the
   judging phase alone (``LocalJudge.judge_many`` on the same pairs, in process).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from argen_tasks.judges.base import JudgeRequest
from argen_tasks.judges.local import LocalJudge
from argen_tasks.splits import load_labeled

LOAD = (
    "import time; t = time.perf_counter(); from argen_tasks.judges.local import LocalJudge; "
    "LocalJudge.load(); print(time.perf_counter() - t)"
)


def timed_load(env: dict[str, str] | None = None) -> float:
    done = subprocess.run([sys.executable, "-c", LOAD], capture_output=True, text=True, check=True, env=env)
    return float(done.stdout.strip().splitlines()[-1])


def pairs(count: int) -> list[dict]:
    rows = load_labeled()
    return [
        {"prompt": r["prompt"], "response": f"{r['response']} (#{i})", "tier": r["tier"]}
        for i, r in zip(range(count), (rows[i % len(rows)] for i in range(count)))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=4000)
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as empty_cache:
        build = timed_load(os.environ | {"ARGEN_CACHE_DIR": empty_cache})
    first = timed_load()
    loads = [timed_load() for _ in range(args.loads)]
    rows = pairs(args.pairs)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "pairs.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in rows))
        start = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "argen-judge"), "score", str(source), "-o", str(Path(tmp) / "out.jsonl"),
             "--judge", "local", "--judge-cache", "off"],
            check=True, capture_output=True,
        )  # fmt: skip
        cli = time.perf_counter() - start
    judge = LocalJudge.load()
    requests = [JudgeRequest(r["prompt"], r["response"], r["tier"]) for r in rows]
    start = time.perf_counter()
    asyncio.run(judge.judge_many(requests))
    phase = time.perf_counter() - start

    print(f"judge `{judge.id}`; {args.pairs} pairs; mean response {statistics.mean(len(r['response']) for r in rows):.0f} chars\n")
    print("| what | result |\n|---|---|")
    print(f"| once per machine: load with an empty cache (distils the encoder) | {build:.1f} s |")
    print(f"| first load in a fresh interpreter (encoder already built) | {first:.2f} s |")
    print(f"| load, median of {args.loads} fresh interpreters | {statistics.median(loads):.2f} s |")
    print(f"| `argen-judge score --judge local`, end to end (start-up, load, judge, write) | {cli:.1f} s = {args.pairs / cli:.0f} pairs/s |")
    print(f"| judging phase alone (`judge_many`) | {phase:.2f} s = {args.pairs / phase:.0f} pairs/s |")


if __name__ == "__main__":
    main()
