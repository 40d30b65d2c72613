"""Load time and batch throughput of the local judge.

    python benchmarks/local_judge_speed.py                  # CPU
    python benchmarks/local_judge_speed.py --device cuda    # GPU

1. Load: a fresh interpreter imports the judge and loads it (MiniLM from its package, the adapter
   merged in), timed inside it; median of ``--loads`` runs.
2. Throughput of the judging phase (``LocalJudge.judge_many``, in process) on two workloads:
   ``long``, the long-answer set's responses (~1,500 characters, sectioned), and ``grpo``, 48-token
   completions (the embedded model's base answers cut at 48 of its tokens), as a CPU GRPO step hands
   the reward. Every pair is made unique, so nothing is de-duplicated.
3. End to end: ``argen-judge score --judge local --judge-cache off`` on the long workload
   (start-up, load, judging, writing).
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

import torch
from transformers import AutoTokenizer

from argen_tasks.judges.base import JudgeRequest
from argen_tasks.judges.local.judge import LocalJudge
from argen_tasks.models import resolve_model
from argen_tasks.splits import data_dir, load_labeled, load_long_answers

WORKLOADS = {"long": "long answers", "grpo": "48-token completions"}
LOAD = (
    "import sys, time; t = time.perf_counter(); from argen_tasks.judges.local.judge import LocalJudge; "
    "LocalJudge.load(device=sys.argv[1]); print(time.perf_counter() - t)"
)


def timed_load(device: str) -> float:
    done = subprocess.run([sys.executable, "-c", LOAD, device], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def workload(name: str, count: int, tokenizer_name: str) -> list[dict]:
    if name == "long":
        rows = load_long_answers()
    else:
        tokenizer = AutoTokenizer.from_pretrained(resolve_model(tokenizer_name))
        base = load_labeled(data_dir() / "judge" / "smollm2_base.jsonl")
        rows = [r | {"response": tokenizer.decode(tokenizer(r["response"])["input_ids"][:48])} for r in base]
    return [{**rows[i % len(rows)], "response": f"{rows[i % len(rows)]['response']} (#{i})"} for i in range(count)]


def throughput(judge: LocalJudge, rows: list[dict]) -> float:
    requests = [JudgeRequest(r["prompt"], r["response"], r["tier"]) for r in rows]
    start = time.perf_counter()
    asyncio.run(judge.judge_many(requests))
    return len(rows) / (time.perf_counter() - start)


def end_to_end(cli: Path, rows: list[dict], device: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "pairs.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in rows))
        start = time.perf_counter()
        subprocess.run(
            [str(cli), "score", str(source), "-o", str(Path(tmp) / "out.jsonl"), "--judge", "local", "--judge-cache", "off"],
            check=True, capture_output=True, env=os.environ | {"CUDA_VISIBLE_DEVICES": "" if device == "cpu" else "0"},
        )  # fmt: skip
        return len(rows) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workloads", nargs="+", choices=("long", "grpo"), default=["long", "grpo"])
    parser.add_argument("--tokenizer", default="smollm2-135m-instruct", help="cuts the grpo workload at 48 of its tokens")
    args = parser.parse_args()

    loads = [timed_load(args.device) for _ in range(args.loads)]
    judge = LocalJudge.load(device=args.device)
    rows = {name: workload(name, args.pairs, args.tokenizer) for name in args.workloads}
    throughput(judge, rows[args.workloads[0]][:32])
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"judge `{judge.id}` on {where}; {args.pairs} pairs per workload\n")
    print("| what | result |\n|---|---|")
    print(f"| load, median of {args.loads} fresh interpreters | {statistics.median(loads):.2f} s |")
    for name, batch in rows.items():
        chars = statistics.mean(len(r["response"]) for r in batch)
        print(f"| judging, {WORKLOADS[name]} (mean {chars:.0f} chars) | {throughput(judge, batch):.1f} pairs/s |")
    cli = Path(sys.executable).parent / "argen-judge"
    if "long" in rows and cli.exists():
        print(f"| `argen-judge score --judge local`, long answers, end to end | {end_to_end(cli, rows['long'], args.device):.1f} pairs/s |")


if __name__ == "__main__":
    main()
