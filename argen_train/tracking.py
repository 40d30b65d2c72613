"""Weights & Biases: offline unless the user has configured it; argen's config without secrets.

Trainer's own W&B integration does the logging (rank 0 only): per-step metrics including each
reward column and the judge statistics, the completions table, and dev metrics. This module
decides the mode before it starts, pins the run id so ``--resume`` continues the same W&B run,
and adds argen's configuration (``TrainConfig`` and ``ScoringConfig.public()``, which hold no key).
"""

from __future__ import annotations

import netrc
import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from transformers import TrainerCallback

DEFAULT_PROJECT = "argen"
RUN_ID_FILE = "wandb_run_id"


def configure_wandb(project: str | None, output_dir: Path, resuming: bool) -> str:
    """Set the W&B environment for this run and return its mode (``online``/``offline``/...)."""
    os.environ["WANDB_PROJECT"] = project or os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT
    if not os.environ.get("WANDB_MODE") and not wandb_configured():
        os.environ["WANDB_MODE"] = "offline"
    output_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("WANDB_DIR", str(output_dir))
    if not os.environ.get("WANDB_RUN_ID") and os.environ.get("RANK", "0") == "0":  # only rank 0 logs to W&B
        id_file = output_dir / RUN_ID_FILE
        if resuming and id_file.is_file():
            os.environ["WANDB_RUN_ID"] = id_file.read_text().strip()
            os.environ.setdefault("WANDB_RESUME", "allow")
        else:
            run_id = uuid.uuid4().hex[:12]
            id_file.write_text(run_id + "\n")
            os.environ["WANDB_RUN_ID"] = run_id
    return os.environ.get("WANDB_MODE") or "online"


def wandb_configured() -> bool:
    """Whether the user has given W&B credentials (env key or a netrc entry); their value is never read."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators(host or "") is not None
    except (OSError, netrc.NetrcParseError):
        return False


class ArgenConfigCallback(TrainerCallback):
    """Adds argen's configuration to the W&B run that Trainer's WandbCallback has just started."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero or "wandb" not in (args.report_to or []):
            return
        import wandb

        if wandb.run is not None:
            wandb.run.config.update({"argen": self.config}, allow_val_change=True)


def finish_wandb() -> None:
    """Close the run Trainer started (it leaves it open until exit), so its files are complete now."""
    import wandb

    if wandb.run is not None:
        wandb.finish()
