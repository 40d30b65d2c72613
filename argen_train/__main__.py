"""``python -m argen_train`` / ``argen-train``: GRPO alignment training with argen's judge + policy reward.

Examples:
  argen-train --config configs/smollm2-cpu.yaml                  # offline: embedded model and judge
  argen-train --config configs/llama-3.2-1b.yaml --judge openai:gpt-4o-mini
  argen-train --config configs/llama-3.2-1b.yaml --resume        # continue from the latest checkpoint

Exit status: 0 done, 2 configuration error, 3 stopped because the judge failed too often.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape

from argen_tasks.judges import JudgeNotConfigured
from argen_tasks.models import ModelNotFound
from argen_tasks.policy import PolicyError
from argen_tasks.splits import DataError
from argen_train import backend as backends
from argen_train.config import ConfigError, add_config_arguments, load_config, overrides_from_args
from argen_train.rewards import JudgeErrorRateExceeded
from argen_train.tracking import redact_argv


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="argen-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_config_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    command = redact_argv(sys.argv if argv is None else ["argen-train", *argv])
    if argv is None:
        sys.argv = command  # W&B records sys.argv in its run metadata: never with a key in it
    console = Console(stderr=True)
    try:
        config = load_config(args.config, overrides_from_args(args))
        backend = backends.activate(config.backend)
        from argen_train.train import run  # after activate(): Unsloth must be imported before TRL

        result = run(config, backend, api_key=args.judge_api_key, command=command)
    except (ConfigError, DataError, PolicyError, JudgeNotConfigured, ModelNotFound, backends.BackendError) as exc:
        console.print(f"[bold red]argen-train:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    except JudgeErrorRateExceeded as exc:
        console.print(f"[bold red]argen-train: stopped:[/] {escape(str(exc))}", highlight=False)
        sys.exit(3)
    dev = result.manifest.get("dev", {})
    summary = ", ".join(
        f"{name} dev reward {entry['reward']:.3f} (step {entry['step']})"
        for name, entry in dev.items()
        if entry and entry.get("reward") is not None
    )
    console.print(f"argen-train: done; {summary or 'no dev evaluation'}; outputs in {result.output_dir}")


if __name__ == "__main__":
    main()
