"""``run.json``: what a training run was, so its numbers can be compared (or not) with others.

It records the configuration (no secrets: ``TrainConfig`` has no key field and the scoring part is
``ScoringConfig.public()``), the scorer's provenance (judge, rubric version, policy hash), hashes of
the prompt splits, package versions, the GRPO settings actually in effect (Unsloth may change
some), and the final and best dev metrics.
"""

from __future__ import annotations

import math
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import torch

PACKAGES = (
    "argen", "torch", "transformers", "trl", "peft", "accelerate", "datasets", "wandb", "unsloth", "bitsandbytes",
)  # fmt: skip
EFFECTIVE_ARGS = (
    "loss_type",
    "beta",
    "scale_rewards",
    "multi_objective_aggregation",
    "reward_weights",
    "num_generations",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "generation_batch_size",
    "max_completion_length",
    "temperature",
    "learning_rate",
    "max_steps",
    "seed",
    "bf16",
    "fp16",
)


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"python": sys.version.split()[0], "platform": platform.platform()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpus"] = torch.cuda.device_count()
    else:
        info["gpu"] = None
    return info


def dev_results(log_history: list[dict[str, Any]], best_step: int | None) -> dict[str, Any]:
    """The last dev evaluation and the best one (by the config's ``best_metric``) from the trainer's log history."""
    evaluations = [entry for entry in log_history if "eval_reward" in entry]
    final = evaluations[-1] if evaluations else None
    best = next((entry for entry in evaluations if entry["step"] == best_step), None)
    return {"final": _dev_entry(final), "best": _dev_entry(best)}


def trainer_settings(args: Any, reward_names: list[str]) -> dict[str, Any]:
    settings = {name: getattr(args, name, None) for name in EFFECTIVE_ARGS}
    settings["reward_functions"] = reward_names
    return settings


def timestamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def json_safe(value: Any) -> Any:
    """NaN (a metric with no values) becomes null: run.json stays strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _dev_entry(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    metrics = {k.removeprefix("eval_"): v for k, v in entry.items() if k.startswith("eval_")}
    return {"step": entry["step"], **metrics}
