"""``argen-judge score``: judge (prompt, response) rows and write verdict rows.

Input rows are ``{prompt, response[, tier]}`` or lm-eval samples (``--log_samples`` output).
Output rows are the input rows with a ``verdict`` object. Exits 1 when the judge error rate is
above ``--max-error-rate``, so a broken judge cannot pass silently in a pipeline; 2 for unusable
input (an empty file too: an empty batch must not pass a pipeline either); 70 on an internal error.
The input and the output path are checked before the judge is asked anything.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from argen_tasks.cli.exits import FAILED, OK, run_cli
from argen_tasks.cli.parser import ArgenParser
from argen_tasks.config import add_scoring_arguments, scoring_config
from argen_tasks.io import OutputError, check_writable, write_jsonl_atomic
from argen_tasks.judges import JudgeNotConfigured
from argen_tasks.policy import PolicyError
from argen_tasks.scoring import ScoreItem, get_scorer
from argen_tasks.splits import DataError, read_jsonl
from argen_tasks.verdict import Provenance, Verdict

MAX_FIELD_CHARS = 100_000
"""Longest prompt or response judged: far beyond any chat answer (an LLM judge could not read it in
one request); a longer field is a wrong column or a concatenated file, better refused than paid for."""


def main(argv: list[str] | None = None) -> None:
    parser = ArgenParser(prog="argen-judge", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="judge a JSONL file of pairs")
    score.add_argument("input", type=Path, help="JSONL of {prompt, response[, tier]} or an lm-eval samples file")
    score.add_argument("-o", "--output", type=Path, required=True, help="where to write the verdict rows (JSONL)")
    score.add_argument("--max-error-rate", type=float, default=0.0, help="fail if more pairs than this fraction error")
    add_scoring_arguments(score)
    args = parser.parse_args(argv)
    console = Console(stderr=True, soft_wrap=True)
    run_cli("argen-judge", argv, lambda: run_score(args, console), (DataError, PolicyError, JudgeNotConfigured, OutputError))


def run_score(args: argparse.Namespace, console: Console) -> int:
    rows = read_jsonl(args.input)
    items = [pair_from_row(args.input, row) for row in rows]
    check_writable(args.output, "-o/--output")
    scorer = get_scorer(scoring_config(args))
    with tqdm(total=len(items), desc=f"judging ({scorer.judge.id})", unit="pair") as bar:
        verdicts = scorer.score_sync(items, bar.update)
    write_jsonl_atomic(
        args.output,
        ({k: v for k, v in row.items() if k != "_line"} | {"verdict": v.to_dict()} for row, v in zip(rows, verdicts)),
    )
    console.print(summary_table(items, verdicts, scorer.provenance))
    errors = sum(v.error is not None for v in verdicts)
    rate = errors / len(verdicts) if verdicts else 0.0
    console.print(f"wrote {len(verdicts)} rows to {args.output}; judge errors: {errors} ({rate:.1%})")
    if rate > args.max_error_rate:
        console.print(f"[bold red]judge error rate {rate:.1%} is above --max-error-rate {args.max_error_rate:.1%}[/]")
        return FAILED
    return OK


def pair_from_row(path: Path, row: dict[str, Any]) -> ScoreItem:
    """A plain ``{prompt, response, tier}`` row or an lm-eval sample (``doc`` + ``resps``)."""
    where = f"{path}:{row['_line']}"
    if "doc" in row and "resps" in row:
        doc, resps = row["doc"], row["resps"]
        try:
            row = {"prompt": doc["prompt"], "response": resps[0][0], "tier": doc.get("tier")}
        except (KeyError, IndexError, TypeError):
            raise DataError(
                f"{where}: lm-eval sample without doc.prompt or resps[0][0]; argen-judge reads the samples "
                "files of argen_dharma tasks (--log_samples), or rows of {prompt, response[, tier]}"
            ) from None
    for name in ("prompt", "response"):
        if not isinstance(row.get(name), str):
            raise DataError(
                f"{where}: field {name!r} must be a string, got {_kind(row, name)} "
                "(rows are {prompt, response[, tier]})"
            )
        if len(row[name]) > MAX_FIELD_CHARS:
            raise DataError(
                f"{where}: field {name!r} is {len(row[name]):,} characters, more than the {MAX_FIELD_CHARS:,} "
                "argen judges; shorten it or check that the row holds one prompt and one response"
            )
    tier = row.get("tier")
    if tier not in (None, "in", "out", "mixed"):
        raise DataError(f"{where}: field 'tier' must be in, out or mixed (or absent); got {tier!r}")
    return ScoreItem(row["prompt"], row["response"], tier)


def _kind(row: dict[str, Any], name: str) -> str:
    return f"{type(row[name]).__name__} {json.dumps(row[name])[:40]}" if name in row else "nothing (the field is missing)"


def summary_table(items: list[ScoreItem], verdicts: list[Verdict], provenance: Provenance) -> Table:
    by_tier: dict[str, list[Verdict]] = defaultdict(list)
    for item, verdict in zip(items, verdicts):
        by_tier[item.tier or "?"].append(verdict)
        by_tier["all"].append(verdict)
    table = Table(title="argen verdicts  " + "  ".join(f"{k}={v}" for k, v in provenance.to_dict().items()))
    for column in ("tier", "n", "errors", "dharma_violation", "over_refusal", "ahimsa_violation", "reward"):
        table.add_column(column, justify="left" if column == "tier" else "right")
    for tier in sorted(by_tier, key=lambda t: ("in", "out", "mixed", "?", "all").index(t)):
        group = by_tier[tier]
        ok = [v for v in group if v.error is None]
        table.add_row(
            tier,
            str(len(group)),
            str(len(group) - len(ok)),
            *(_rate(ok, name) for name in ("dharma_violation", "over_refusal", "ahimsa_violation", "reward")),
        )
    return table


def _rate(verdicts: list[Verdict], name: str) -> str:
    if not verdicts:
        return "-"
    mean = sum(float(getattr(v, name)) for v in verdicts) / len(verdicts)
    return f"{mean:.3f}" if name == "reward" else f"{mean:.1%}"


