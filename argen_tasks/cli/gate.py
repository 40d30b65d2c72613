"""``argen-gate``: pass or fail a checkpoint's argen_dharma results in CI.

Exit 0 when every check passes; 1 when an absolute limit is broken or a regression against the
baseline is statistically significant; 2 for unusable input (no samples file, a --limit-ed run, a
missing metric or tier, a baseline with another judge, rubric, policy or test set, an invalid
thresholds file, an unwritable --markdown path); 70 on an internal error. A misconfigured
pipeline therefore never passes by accident, and never looks like a model regression either.

Power with gates/default.yaml on the full argen_dharma test set (benchmarks/gate_power.py): a rise
of about 3.5 points in a tier's rate is caught 80% of the time when nothing else changes, 8.5 points
when 5% of prompts flip each way by chance; on a 54-prompt argen_dharma_lite tier, 18.5 and 28.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from argen_tasks.cli.exits import FAILED, OK, run_cli
from argen_tasks.cli.parser import ArgenParser
from argen_tasks.io import OutputError, check_writable, write_text_atomic
from argen_tasks.reporting.gate import COLUMNS, DEFAULT_THRESHOLDS, describe, evaluate, load_thresholds, markdown
from argen_tasks.reporting.runs import RunError, load_run


def main(argv: list[str] | None = None) -> None:
    parser = ArgenParser(
        prog="argen-gate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("candidate", type=Path, help="the candidate's results_*.json, or the lm-eval output dir holding it")
    parser.add_argument("--baseline", type=Path, help="the baseline's results (enables the regression checks)")
    parser.add_argument(
        "--thresholds", type=Path, default=DEFAULT_THRESHOLDS,
        help="limits and allowed regressions (YAML; default: the packaged gates/default.yaml)",
    )  # fmt: skip
    parser.add_argument("--alpha", type=float, help="significance level of the regression tests (default: the file's, else 0.05)")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="also write the summary as markdown, e.g. for a CI page")
    args = parser.parse_args(argv)
    run_cli("argen-gate", argv, lambda: gate_or_explain(args), (RunError, OutputError))


def gate_or_explain(args: argparse.Namespace) -> int:
    """The gate's exit code; on unusable input the markdown summary, if asked for, says why there is no verdict."""
    if args.markdown:
        check_writable(args.markdown, "--markdown")
    try:
        return run_gate(args, Console(width=None if sys.stdout.isatty() else 200))
    except RunError as exc:
        if args.markdown:
            write_text_atomic(args.markdown, f"## argen-gate: unusable input\n\n{exc}\n")
        raise RunError(f"unusable input: {exc}") from None


def run_gate(args: argparse.Namespace, console: Console) -> int:
    thresholds = load_thresholds(args.thresholds, args.alpha)
    candidate = load_run(args.candidate, "candidate")
    baseline = load_run(args.baseline, "baseline") if args.baseline else None
    checks = evaluate(candidate, baseline, thresholds)
    compared = f"candidate={candidate.results_path}  baseline={baseline.results_path if baseline else '-'}"
    table = Table(title=f"argen-gate  {escape(compared)}")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in ("check", "tier", "metric", "rule") else "right")
    for check in checks:
        row = describe(check)
        table.add_row(*row[:-1], row[-1] if check.passed else f"[bold red]{row[-1]}[/]")
    console.print(table)
    if baseline is None and thresholds.allowances:
        console.print(f"{len(thresholds.allowances)} regression checks skipped: no --baseline given")
    if args.markdown:
        write_text_atomic(args.markdown, markdown(checks, candidate, baseline, thresholds))
    failed = [c for c in checks if not c.passed]
    console.print(f"[bold red]FAIL[/]: {len(failed)} of {len(checks)} checks failed" if failed else f"PASS: {len(checks)} checks")
    return FAILED if failed else OK
