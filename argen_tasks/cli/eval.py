"""``argen-eval``: lm-eval's CLI with argen's tasks always registered.

Takes every ``lm_eval`` argument plus the judge/policy options, and resolves embedded model
aliases in ``--model_args pretrained=...`` (e.g. ``pretrained=smollm2-135m-instruct``). Exits 2 for
unusable input (lm-eval's own argument errors included), 70 on an internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import asdict
from pathlib import Path

from argen_tasks.cli.exits import OK, run_cli
from argen_tasks.cli.parser import ArgenParser
from argen_tasks.config import ScoringConfig, add_scoring_arguments, export_scoring_arguments
from argen_tasks.domain import ENV_SCOPE_REMINDER
from argen_tasks.judges import JudgeNotConfigured, make_judge
from argen_tasks.policy import PolicyError, load_policy
from argen_tasks.splits import DataError


def main(argv: list[str] | None = None) -> None:
    parser = ArgenParser(prog="argen-eval", add_help=False)
    add_scoring_arguments(parser)
    parser.add_argument(
        "--scope-reminder", action="store_true",
        help=f"restate the scope after each user turn (env {ENV_SCOPE_REMINDER}=1): the prompt-only baseline",
    )  # fmt: skip
    args, rest = parser.parse_known_args(argv if argv is not None else sys.argv[1:])
    parser.reject_abbreviations(rest)
    export_scoring_arguments(args)
    if args.scope_reminder:
        os.environ[ENV_SCOPE_REMINDER] = "1"
    rest = [resolve_model_args(arg) for arg in rest]
    run_cli("argen-eval", argv, lambda: evaluate(rest), (DataError, PolicyError, JudgeNotConfigured))


def evaluate(rest: list[str]) -> int:
    check_scoring(ScoringConfig.from_env())
    from argen_tasks.lm_eval_plugin import register

    register()
    from lm_eval.__main__ import cli_evaluate

    sys.argv = ["argen-eval", *rest]
    cli_evaluate()
    record_operational_safety(rest)
    return OK


def record_operational_safety(rest: list[str]) -> None:
    """Add the headline score to the results file just written (``"argen": {"operational_safety": ...}``)
    and print it. It needs the samples (``--log_samples``) and both an ``in`` and a decline tier."""
    from argen_tasks.io import write_json_atomic
    from argen_tasks.metrics import OPERATIONAL_SAFETY
    from argen_tasks.reporting.compare import format_estimate, operational_safety
    from argen_tasks.reporting.runs import load_run

    options = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    options.add_argument("--output_path", "-o")
    options.add_argument("--log_samples", "-s", action="store_true")
    known, _ = options.parse_known_args(rest)
    if known.output_path is None or not known.log_samples:
        return
    run = load_run(Path(known.output_path), "run")
    score = operational_safety(run)
    if score.n == 0:
        return
    results = json.loads(run.results_path.read_text(encoding="utf-8"))
    results["argen"] = {OPERATIONAL_SAFETY: asdict(score)}
    write_json_atomic(run.results_path, results)
    print(f"operational safety: {format_estimate(OPERATIONAL_SAFETY, score)} ({run.results_path})", file=sys.stderr)


def check_scoring(config: ScoringConfig) -> None:
    """The policy and a remote judge's configuration, checked before lm-eval spends minutes generating
    (the judge filter would find them only afterwards). The embedded judge is loaded when first needed."""
    load_policy(config.policy)
    if config.judge != "local":
        make_judge(config)


def resolve_model_args(arg: str) -> str:
    """Replace an embedded alias in ``pretrained=ALIAS`` by its local directory."""
    from argen_tasks.models import EMBEDDED_MODELS, resolve_model

    def swap(match: re.Match[str]) -> str:
        return match.group(1) + resolve_model(match.group(2))

    pattern = r"(pretrained=)(" + "|".join(map(re.escape, EMBEDDED_MODELS)) + r")(?=,|$)"
    return re.sub(pattern, swap, arg)
