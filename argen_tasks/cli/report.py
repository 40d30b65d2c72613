"""``argen-report``: a before/after report of a baseline and a candidate on argen_dharma.

Each side is either an existing run (a results_*.json, or the lm-eval output dir holding it, with
its --log_samples files) or a model (a transformers directory, an embedded alias such as
smollm2-135m-instruct, or hf:OWNER/NAME), which is evaluated first through lm-eval with the same
arguments for both. Writes report.md and PNG plots; exits 2 when the runs are not comparable
(different judge, rubric, policy or test set) and names what differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from argen_tasks.cli.exits import OK, UNUSABLE, run_cli
from argen_tasks.cli.parser import ArgenParser
from argen_tasks.config import add_scoring_arguments, export_scoring_arguments
from argen_tasks.io import OutputError, check_writable
from argen_tasks.reporting.compare import compare, format_delta, format_estimate, summarize, tiers_of
from argen_tasks.reporting.evaluate import EvalOptions, EvaluationError, evaluate_model, is_model
from argen_tasks.reporting.report import write_report
from argen_tasks.reporting.runs import Run, RunError, load_run

HEADLINE = ("dharma_violation", "over_refusal", "ahimsa_violation", "helpfulness_score", "reward")


def main(argv: list[str] | None = None) -> None:
    parser = ArgenParser(
        prog="argen-report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", required=True, metavar="RUN_OR_MODEL", help="results file/dir, model dir, alias or hf:OWNER/NAME")
    parser.add_argument("--candidate", required=True, metavar="RUN_OR_MODEL", help="same forms as --baseline")
    parser.add_argument("-o", "--output", type=Path, default=Path("argen-report"), help="report directory (default: ./argen-report)")
    parser.add_argument("--baseline-label", default="baseline")
    parser.add_argument("--candidate-label", default="candidate")
    parser.add_argument("--max-flips", type=int, default=10, help="flipped prompts listed per metric and direction")
    lm_eval = parser.add_argument_group("evaluating models (same for both sides)")
    lm_eval.add_argument("--tasks", default="argen_dharma")
    lm_eval.add_argument("--model-args", help="extra lm-eval --model_args after pretrained=, e.g. dtype=bfloat16")
    lm_eval.add_argument("--device", help="e.g. cpu, cuda:0 (default: lm-eval's)")
    lm_eval.add_argument("--batch-size", help="lm-eval --batch_size, e.g. 8 or auto")
    lm_eval.add_argument("--gen-kwargs", help="lm-eval --gen_kwargs, e.g. max_gen_toks=256")
    lm_eval.add_argument("--limit", type=int, help="first N prompts per task (the report marks the runs partial)")
    add_scoring_arguments(parser)
    args = parser.parse_args(argv)
    export_scoring_arguments(args)
    console = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)
    run_cli("argen-report", argv, lambda: run_report(args, console), (RunError, OutputError, UnusableModel))


class UnusableModel(ValueError):
    """lm-eval refused a model or its arguments (it exited 2): the user's input, not a crash."""


def run_report(args: argparse.Namespace, console: Console) -> int:
    check_writable(args.output, "-o/--output", directory=True)
    try:
        return build_report(args, console)
    except EvaluationError as exc:
        if exc.returncode == UNUSABLE:
            raise UnusableModel(f"{exc}; see lm-eval's message above") from None
        raise


def build_report(args: argparse.Namespace, console: Console) -> int:
    for spec in (args.baseline, args.candidate):  # before evaluating the other side for minutes
        if not is_model(spec) and not Path(spec).exists():
            raise RunError(f"{spec}: no such results file, output dir or model (hub models are hf:OWNER/NAME)")
    options = EvalOptions(args.tasks, args.model_args, args.device, args.batch_size, args.gen_kwargs, args.limit)
    baseline = obtain_run(args.baseline, args.baseline_label, args.output / "runs" / "baseline", options)
    candidate = obtain_run(args.candidate, args.candidate_label, args.output / "runs" / "candidate", options)
    report = write_report(baseline, candidate, args.output, max_flips=args.max_flips)
    console.print(headline_table(baseline, candidate))
    console.print(f"wrote {report.markdown} and {len(report.plots)} plots")
    return OK


def obtain_run(spec: str, label: str, eval_dir: Path, options: EvalOptions) -> Run:
    """Evaluate ``spec`` if it names a model, else read it as an existing run."""
    if is_model(spec):
        return load_run(evaluate_model(spec, eval_dir, options), label)
    return load_run(Path(spec), label)


def headline_table(baseline: Run, candidate: Run) -> Table:
    table = Table(title=f"argen-report: {candidate.label} vs {baseline.label}")
    for column in ("tier", "metric", baseline.label, candidate.label, "change", "p (two-sided)"):
        table.add_column(column, justify="left" if column in ("tier", "metric") else "right")
    for tier in tiers_of(baseline):
        for metric in HEADLINE:
            test = compare(baseline, candidate, tier, metric)
            table.add_row(
                tier, metric,
                format_estimate(metric, summarize(baseline, tier, metric)),
                format_estimate(metric, summarize(candidate, tier, metric)),
                format_delta(metric, test.delta), f"{test.p_two_sided:.3g}",
            )  # fmt: skip
        table.add_section()
    return table
