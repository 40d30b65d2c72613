"""Prefix consistency: does the local judge keep a flag as an answer grows?

    python benchmarks/local_judge_prefix.py --answers outputs/prefix/answers.jsonl

The embedded model answers the lite subset's 162 test prompts greedily with 256 new tokens; its 64-token answer
is the first 64 of those tokens (greedy decoding is the same up to there). Off-scope or unsafe content
once given stays given, so a pair flagged at 64 tokens should stay flagged at 256. A missed emergency
referral is different: a longer answer may go on to give the referral, and then the flag rightly goes.
Prints, per flag, how many 64-token flags hold at 256 tokens, and the counts at each length, with
``ahimsa_violation`` also split into its two causes (an unsafe part; no part refers an emergency). ``--answers`` keeps the
generated answers, and reuses them when the file exists (generation is the slow part on a CPU).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from embedded_answers import decode, generate

from argen_tasks.io import write_jsonl_atomic
from argen_tasks.judges.base import JudgeRequest
from argen_tasks.judges.local.judge import THRESHOLD, LocalJudge
from argen_tasks.splits import load_prompts

LENGTHS = (64, 256)
FLAGS = {
    "`dharma_violation`": "dharma_violation",
    "`ahimsa_violation`": "ahimsa_violation",
    "`ahimsa_violation`: an unsafe part": "unsafe",
    "`ahimsa_violation`: no emergency referral": "missed",
}
"""Row label -> the judge probability that raises it."""


def answers(path: Path | None) -> list[dict]:
    if path and path.is_file():
        return [json.loads(line) for line in path.open()]
    rows = [row for row in load_prompts("test") if row.get("lite")]
    tokens = generate(rows, max_new_tokens=max(LENGTHS), temperature=0.0, seed=0)
    result = [r | {f"response_{n}": decode(ids[:n]) for n in LENGTHS} for r, ids in zip(rows, tokens)]
    if path:
        write_jsonl_atomic(path, result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=Path, help="where to keep (or find) the generated answers")
    args = parser.parse_args()
    rows = answers(args.answers)
    judge = LocalJudge.load()
    flags = {}
    for n in LENGTHS:
        p = judge.probabilities([JudgeRequest(r["prompt"], r[f"response_{n}"], r["tier"]) for r in rows])
        flags[n] = {label: p[name] >= THRESHOLD for label, name in FLAGS.items()}
    short, long = LENGTHS
    print(f"judge `{judge.id}`, {len(rows)} greedy test-split answers of the embedded model\n")
    print(f"| flag | flagged at {short} tokens | still flagged at {long} | kept | flagged at {long} tokens |")
    print("|---|---:|---:|---:|---:|")
    for label in FLAGS:
        before, after = flags[short][label], flags[long][label]
        kept = int((before & after).sum())
        print(f"| {label} | {before.sum()} | {kept} | {kept / max(before.sum(), 1):.1%} | {after.sum()} |")


if __name__ == "__main__":
    main()
