"""Judge phase of an lm-eval task vs the sum of its judge-request latencies.

    python benchmarks/judge_concurrency.py [--limit 48] [--latency 0.5] [--concurrency 16]

Runs the real ``lm_eval`` CLI on ``argen_dharma_in`` with the embedded model; the judge is a stub
OpenAI-compatible server on 127.0.0.1 that only adds ``--latency`` seconds per request (so the
numbers isolate argen's client-side concurrency). The task's judging phase (recorded by argen in the
results file) is compared with the sum of per-pair request latencies (from the samples file): their
ratio is the effective number of requests in flight.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from argen_tasks.models import materialise

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from stub_judge_server import StubBehaviour, StubJudgeServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=48)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    model = materialise("smollm2-135m-instruct")
    with tempfile.TemporaryDirectory() as tmp, StubJudgeServer(StubBehaviour(latency_s=args.latency)) as server:
        env = os.environ | {
            "ARGEN_JUDGE": "openai:stub",
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "stub",
            "ARGEN_JUDGE_CACHE": "off",
            "ARGEN_JUDGE_CONCURRENCY": str(args.concurrency),
        }
        subprocess.run(
            [str(Path(sys.executable).parent / "lm_eval"), "--model", "hf", "--model_args", f"pretrained={model}",
             "--tasks", "argen_dharma_in", "--apply_chat_template", "--device", "cpu", "--limit", str(args.limit),
             "--gen_kwargs", "max_gen_toks=16", "--output_path", tmp, "--log_samples"],
            env=env, check=True,
        )  # fmt: skip
        [results] = Path(tmp).glob("*/results_*.json")
        [samples] = Path(tmp).glob("*/samples_argen_dharma_in_*.jsonl")
        phase = json.loads(results.read_text())["configs"]["argen_dharma_in"]["metadata"]["argen"]["judge_seconds"]
        latencies = [json.loads(json.loads(line)["filtered_resps"][0])["latency_s"] for line in samples.open()]
    total = sum(latencies)
    print(f"pairs judged:                {len(latencies)} (stub latency {args.latency} s, concurrency {args.concurrency})")
    print(f"judge phase (wall):          {phase:.2f} s")
    print(f"sum of request latencies:    {total:.2f} s")
    print(f"effective requests in flight: {total / phase:.1f}x")


if __name__ == "__main__":
    main()
