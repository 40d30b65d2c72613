"""``make demo``: the whole argen loop on embedded defaults, offline, on a CPU.

    python -m argen_train.demo [--output outputs/demo] [--limit N] [--max-steps N]

baseline evaluation (lm-eval, the 218-prompt ``argen_dharma_lite`` subset) -> a short GRPO run -> aligned
evaluation -> before/after report -> CI gate. Each stage is the product's own CLI, run as a user would run it; the model is
SmolLM2-135M-Instruct, the judge the embedded offline judge, W&B offline. A failing gate is a result,
not a crash: the demo prints its verdict and the report path.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from argen_tasks.cli.parser import ArgenParser
from argen_tasks.reporting.gate import DEFAULT_THRESHOLDS
from argen_tasks.resources import folder

BIN = Path(sys.executable).parent
CONFIG = folder("argen_train.configs", "configs") / "smollm2-cpu.yaml"
"""``configs/smollm2-cpu.yaml``, installed with the package."""
console = Console(stderr=True)


def main(argv: list[str] | None = None) -> None:
    parser = ArgenParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("outputs/demo"))
    parser.add_argument("--config", type=Path, default=CONFIG, help="training config (YAML)")
    parser.add_argument("--thresholds", type=Path, default=DEFAULT_THRESHOLDS)
    parser.add_argument("--max-steps", type=int, help="override the config's GRPO steps")
    parser.add_argument("--limit", type=int, help="prompts per task (a quick, partial run: the gate refuses it)")
    parser.add_argument("--max-gen-toks", type=int, default=64, help="tokens per benchmark answer (both runs)")
    args = parser.parse_args(argv)
    out = args.output.resolve()
    env = os.environ | {"ARGEN_JUDGE": os.environ.get("ARGEN_JUDGE", "local"), "WANDB_MODE": os.environ.get("WANDB_MODE", "offline")}

    started = time.perf_counter()
    evaluate("smollm2-135m-instruct", out / "baseline", args, env, "1/5 baseline evaluation")
    train = [str(BIN / "argen-train"), "--config", str(args.config), "--output-dir", str(out / "train")]
    if args.max_steps:
        train += ["--max-steps", str(args.max_steps)]
    stage("2/5 GRPO training", train, env)
    evaluate(str(out / "train" / "merged"), out / "aligned", args, env, "3/5 aligned evaluation")
    stage("4/5 before/after report", [str(BIN / "argen-report"), "--baseline", str(out / "baseline"),
          "--candidate", str(out / "aligned"), "-o", str(out / "report")], env)  # fmt: skip
    gate = stage("5/5 CI gate", [str(BIN / "argen-gate"), str(out / "aligned"), "--baseline", str(out / "baseline"),
                 "--thresholds", str(args.thresholds), "--markdown", str(out / "gate.md")], env, check=False)  # fmt: skip
    verdict = {0: "PASS", 1: "FAIL (a limit or a significant regression)", 2: "UNUSABLE INPUT"}.get(gate, f"exit {gate}")
    console.rule(f"argen demo done in {(time.perf_counter() - started) / 60:.1f} min")
    console.print(f"report: {out / 'report' / 'report.md'}")
    console.print(f"gate:   {verdict}  ({out / 'gate.md'})")


def evaluate(model: str, output: Path, args: argparse.Namespace, env: dict[str, str], title: str) -> None:
    command = [str(BIN / "argen-eval"), "--model", "hf", "--model_args", f"pretrained={model}",
               "--tasks", "argen_dharma_lite", "--apply_chat_template", "--device", "cpu", "--batch_size", "32",
               "--gen_kwargs", f"max_gen_toks={args.max_gen_toks}", "--output_path", str(output), "--log_samples"]  # fmt: skip
    if args.limit:
        command += ["--limit", str(args.limit)]
    stage(title, command, env)


def stage(title: str, command: list[str], env: dict[str, str], check: bool = True) -> int:
    console.rule(title)
    start = time.perf_counter()
    code = subprocess.run(command, env=env).returncode
    console.print(f"[dim]{title}: {time.perf_counter() - start:.0f} s, exit {code}[/]")
    if check and code != 0:
        console.print(f"[bold red]demo stopped: {title} failed[/] ({' '.join(command)})")
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
