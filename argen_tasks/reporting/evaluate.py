"""Evaluating a model for the report: ``argen_dharma`` through lm-eval's own CLI (``argen-eval``),
with identical arguments for baseline and candidate, so the two runs differ only in the model.

Each evaluation is a subprocess: two models never share one process's memory, and the run is
exactly what a user gets from the command line. The judge is configured through the environment
(``ARGEN_JUDGE`` and friends), which the subprocess inherits. On Linux the subprocess dies with the
report: a killed report (``kill -9``, a CI timeout) must not leave an evaluation running that goes
on paying the judge and writes into the report directory behind the re-run.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from argen_tasks.reporting.runs import RESULTS_GLOB, RunError

HUB_PREFIX = "hf:"


class EvaluationError(RuntimeError):
    """lm-eval exited non-zero; its output was already streamed to the terminal."""

    def __init__(self, message: str, returncode: int) -> None:
        super().__init__(message)
        self.returncode = returncode


@dataclass(frozen=True)
class EvalOptions:
    """lm-eval arguments shared by both runs; ``None`` leaves lm-eval's default."""

    tasks: str = "argen_dharma"
    model_args: str | None = None
    """Extra ``--model_args`` after ``pretrained=``, e.g. ``dtype=bfloat16``."""
    device: str | None = None
    batch_size: str | None = None
    gen_kwargs: str | None = None
    limit: int | None = None


def is_model(spec: str) -> bool:
    """A local transformers directory, an embedded alias, or ``hf:OWNER/NAME`` on the hub."""
    from argen_tasks.models import EMBEDDED_MODELS

    return spec.startswith(HUB_PREFIX) or spec in EMBEDDED_MODELS or (Path(spec) / "config.json").is_file()


def evaluate_model(model: str, output_dir: Path, options: EvalOptions) -> Path:
    """Run the tasks on ``model`` with ``--apply_chat_template --log_samples``; returns the new results file."""
    before = set(output_dir.rglob(RESULTS_GLOB)) if output_dir.is_dir() else set()
    command = [
        sys.executable, "-c", "from argen_tasks.cli.eval import main; main()",
        "--model", "hf", "--model_args", ",".join(filter(None, (f"pretrained={model.removeprefix(HUB_PREFIX)}", options.model_args))),
        "--tasks", options.tasks, "--apply_chat_template", "--log_samples", "--output_path", str(output_dir),
    ]  # fmt: skip
    for flag, value in (
        ("--device", options.device),
        ("--batch_size", options.batch_size),
        ("--gen_kwargs", options.gen_kwargs),
        ("--limit", options.limit),
    ):
        if value is not None:
            command += [flag, str(value)]
    returncode = subprocess.run(command, check=False, preexec_fn=_die_with(os.getpid())).returncode
    if returncode != 0:
        raise EvaluationError(f"lm-eval failed on {model} (exit {returncode}; command: {' '.join(command[3:])})", returncode)
    new = sorted(set(output_dir.rglob(RESULTS_GLOB)) - before, key=lambda p: p.stat().st_mtime)
    if not new:
        raise RunError(f"{output_dir}: lm-eval finished but wrote no results file")
    return new[-1]


PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> Callable[[], None] | None:
    """Run in the forked child: SIGKILL it when ``parent`` dies (Linux's parent-death signal); a parent
    already gone before the signal was armed is caught by the ``getppid`` check."""
    if not sys.platform.startswith("linux"):
        return None

    def arm() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return arm
