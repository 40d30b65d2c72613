"""``python -m argen_train`` / ``argen-train``: GRPO alignment training with argen's judge + policy reward.

Examples:
  argen-train --config configs/smollm2-cpu.yaml                  # offline: embedded model and judge
  argen-train --config configs/llama-3.2-1b.yaml --judge openai:gpt-4o-mini
  argen-train --config configs/llama-3.2-1b.yaml --resume        # continue from the latest checkpoint

Exit status: 0 done, 2 configuration error, 3 stopped because the judge failed too often,
70 internal error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from argen_tasks.cli.exits import JUDGE_STOPPED, OK, run_cli
from argen_tasks.cli.parser import ArgenParser
from argen_tasks.io import OutputError, check_writable
from argen_tasks.judges import JudgeNotConfigured
from argen_tasks.models import ModelNotFound
from argen_tasks.policy import PolicyError
from argen_tasks.secrets import redact_argv
from argen_tasks.splits import DataError
from argen_train.config import ConfigError, add_config_arguments, load_config, overrides_from_args


class BackendUnusable(ValueError):
    """The requested backend or precision cannot run on this machine (a configuration error)."""


def build_parser() -> argparse.ArgumentParser:
    parser = ArgenParser(
        prog="argen-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_config_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    command = redact_argv(sys.argv if argv is None else ["argen-train", *argv])
    if argv is None:
        sys.argv = command  # W&B records sys.argv in its run metadata: never with a key in it
    unusable = (ConfigError, DataError, PolicyError, JudgeNotConfigured, ModelNotFound, OutputError, BackendUnusable)
    run_cli("argen-train", argv, lambda: train(args, command), unusable)


def train(args: argparse.Namespace, command: list[str]) -> int:
    """Configuration first and cheaply (a bad file fails in a second), then the heavy imports and the run."""
    config = load_config(args.config, overrides_from_args(args))
    check_writable(Path(config.output_dir), "--output-dir", directory=True)
    from argen_train import backend as backends
    from argen_train.rewards import JudgeErrorRateExceeded

    console = Console(stderr=True)
    try:
        backend = backends.activate(config.backend)
        from argen_train.train import run  # after activate(): Unsloth must be imported before TRL

        result = run(config, backend, api_key=args.judge_api_key, command=command)
    except backends.BackendError as exc:
        raise BackendUnusable(str(exc)) from None
    except JudgeErrorRateExceeded as exc:
        console.print(f"[bold red]argen-train: stopped:[/] {escape(str(exc))}", highlight=False)
        return JUDGE_STOPPED
    dev = result.manifest.get("dev", {})
    summary = ", ".join(
        f"{name} dev reward {entry['reward']:.3f} (step {entry['step']})"
        for name, entry in dev.items()
        if entry and entry.get("reward") is not None
    )
    console.print(f"argen-train: done; {summary or 'no dev evaluation'}; outputs in {result.output_dir}")
    return OK


if __name__ == "__main__":
    main()
