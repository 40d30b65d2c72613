"""One training run: prompts, scorer, model, GRPOTrainer, then adapter, merged model and run.json.

Imported only after :func:`argen_train.backend.activate` (it imports TRL).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import set_seed
from transformers.trainer import TRAINER_STATE_NAME as TRAINER_STATE
from trl import GRPOConfig

from argen_tasks.config import ENV_CONCURRENCY, ScoringConfig, world_size
from argen_tasks.io import write_json_atomic
from argen_tasks.scoring import Scorer, get_scorer
from argen_train import __version__, backend as backends, trl_compat
from argen_train.config import ConfigError, TrainConfig
from argen_train.data import prompt_dataset, split_fingerprint
from argen_train.evaluation import DevEvaluator
from argen_train.export import merge_adapter, replace_dir
from argen_train.manifest import dev_results, json_safe, machine, package_versions, timestamp, trainer_settings
from argen_train.rewards import JudgeRewards
from argen_train.tracking import ArgenConfigCallback, configure_wandb, finish_wandb
from argen_train.trainer import ArgenGRPOTrainer

COMPLETIONS_TO_PRINT = 4
"""Completions printed to the console per logging step (W&B and the parquet files get all of them)."""


@dataclass(frozen=True)
class RunResult:
    output_dir: Path
    manifest: dict[str, Any]


def run(
    config: TrainConfig,
    backend: str,
    *,
    api_key: str | None = None,
    scorer: Scorer | None = None,
    command: list[str] | None = None,
) -> RunResult:
    """Train, export and write the manifest. ``scorer`` replaces the configured one (tests)."""
    output_dir = Path(config.output_dir)
    checkpoint = resume_checkpoint(config, output_dir)
    precision = backends.Precision.detect()
    scoring = scoring_config(config, api_key)
    scorer = scorer or get_scorer(scoring)
    train_data = prompt_dataset(config.dataset, tiers=config.train_tiers)
    dev_data = prompt_dataset(config.eval_dataset, config.eval_limit)
    public = {
        "train": config.to_dict(),
        "scoring": scoring.public(),
        "provenance": scorer.provenance.to_dict(),
        "backend": backend,
    }
    if config.uses_wandb:
        configure_wandb(config.wandb_project, output_dir, resuming=checkpoint is not None)

    trl_compat.install()
    set_seed(config.seed)
    loaded = backends.load(config, backend, precision)
    rewards = JudgeRewards(scorer, config.max_judge_error_rate)
    trainer = ArgenGRPOTrainer(
        model=loaded.model,
        reward_funcs=rewards.functions,
        args=grpo_args(config, backend, precision, rewards.weights),
        train_dataset=train_data,
        eval_dataset=dev_data,
        processing_class=loaded.tokenizer,
        peft_config=loaded.peft_config,
        callbacks=[ArgenConfigCallback(public)],
        dev_evaluator=DevEvaluator(
            scorer,
            loaded.tokenizer,
            lambda model: backends.generation_mode(model, backend),
            batch_size=config.eval_batch_size,
            max_new_tokens=config.max_completion_length,
            max_error_rate=config.max_judge_error_rate,
            samples_dir=output_dir / "dev_samples",
        ),
    )
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)

    state = trainer.state
    best_kept = config.load_best_model_at_end and state.best_model_checkpoint is not None
    export_adapter(trainer, output_dir / "adapter")
    manifest: dict[str, Any] = {}
    if trainer.is_world_process_zero():
        merge_adapter(loaded.base_path, output_dir / "adapter", output_dir / "merged")
        manifest = {
            "argen_train": __version__,
            "created": timestamp(),
            "command": command,
            "config": config.to_dict(),
            "scoring": scoring.public(),
            **scorer.provenance.to_dict(),
            "datasets": {
                "train": split_fingerprint(config.dataset),
                "dev": split_fingerprint(config.eval_dataset) | {"evaluated_rows": len(dev_data)},
            },
            "model": {"base": config.model, "base_path": loaded.base_path, "backend": backend},
            "trainer": trainer_settings(trainer.args, trainer.reward_func_names),
            "global_step": state.global_step,
            "resumed_from": str(checkpoint) if checkpoint else None,
            "dev": dev_results(state.log_history, state.best_global_step),
            "best_checkpoint": state.best_model_checkpoint,
            "exported": {
                "step": state.best_global_step if best_kept else state.global_step,
                "adapter": "adapter",
                "merged": "merged",
            },
            "packages": package_versions(),
            "machine": machine(),
        }
        write_json_atomic(output_dir / "run.json", json_safe(manifest))
        if config.uses_wandb:
            finish_wandb()
    trainer.accelerator.wait_for_everyone()
    return RunResult(output_dir, manifest)


def resume_checkpoint(config: TrainConfig, output_dir: Path) -> Path | None:
    """The checkpoint to continue from; refuses to silently mix a new run into an old one's directory.

    A checkpoint interrupted while it was being written (a kill, a full disk) neither blocks a fresh
    run nor is resumed from: it is removed, with a message, and written again when the run reaches
    its step.
    """
    found = checkpoint_dirs(output_dir)
    complete = [path for path in found if checkpoint_is_complete(path)]
    latest = complete[-1] if complete else None
    if config.resume is None and latest:
        raise ConfigError(
            f"{output_dir} already holds checkpoints (latest: {latest.name}); "
            "pass --resume to continue that run, or choose another --output-dir"
        )
    if config.resume == "latest" and not latest:
        raise ConfigError(f"--resume: no complete checkpoint-* directory in {output_dir} to continue from")
    path = Path(config.resume) if config.resume not in (None, "latest") else latest
    if path is not None and not checkpoint_is_complete(path):
        raise ConfigError(f"--resume {path}: not a complete checkpoint directory (no readable {TRAINER_STATE})")
    if path is not None:
        _require_steps_left(config, path)
    for partial in (p for p in found if p not in complete):
        shutil.rmtree(partial, ignore_errors=True)  # every rank may get here; the first one removes it
        if os.environ.get("RANK", "0") == "0":
            print(f"argen-train: removed {partial}: an incomplete checkpoint (interrupted while saving)", file=sys.stderr)
    return path


def checkpoint_dirs(output_dir: Path) -> list[Path]:
    """``checkpoint-N`` directories of ``output_dir``, by step."""
    if not output_dir.is_dir():
        return []
    found = [p for p in output_dir.iterdir() if p.is_dir() and re.fullmatch(r"checkpoint-\d+", p.name)]
    return sorted(found, key=lambda p: int(p.name.removeprefix("checkpoint-")))


def checkpoint_is_complete(path: Path) -> bool:
    """Trainer writes ``trainer_state.json`` last, after the weights, optimizer, scheduler and RNG state:
    a checkpoint whose state file is missing or does not parse was interrupted."""
    try:
        state = json.loads((path / TRAINER_STATE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(state, dict) and isinstance(state.get("global_step"), int)


def _require_steps_left(config: TrainConfig, checkpoint: Path) -> None:
    """The trainer checks ``max_steps`` only after a step, so resuming a finished run would train one more."""
    if config.max_steps < 0:
        return
    done = json.loads((checkpoint / TRAINER_STATE).read_text(encoding="utf-8"))["global_step"]
    if done >= config.max_steps:
        raise ConfigError(
            f"--resume {checkpoint}: that run is at step {done} and --max-steps is {config.max_steps}; "
            "raise --max-steps to train further"
        )


def scoring_config(config: TrainConfig, api_key: str | None) -> ScoringConfig:
    """Config fields, else the environment. Unless set, the judge's concurrency covers a whole
    step's completions (across processes), so the reward phase costs one judge latency, not several."""
    concurrency = config.judge_concurrency
    if concurrency is None and not os.environ.get(ENV_CONCURRENCY):
        concurrency = config.per_device_train_batch_size * config.gradient_accumulation_steps * world_size()
    return ScoringConfig.from_env(
        judge=config.judge,
        base_url=config.judge_base_url,
        api_key=api_key,
        policy=config.policy,
        cache=config.judge_cache,
        concurrency=concurrency,
        timeout_s=config.judge_timeout,
    )


def grpo_args(
    config: TrainConfig, backend: str, precision: backends.Precision, reward_weights: list[float]
) -> GRPOConfig:
    """Every TrainConfig field that GRPOConfig has under the same name passes through as it is, unless
    it is derived below; the rest are argen's choices."""
    derived = {
        "reward_weights": reward_weights,
        "use_vllm": config.vllm_server_url is not None,
        "vllm_mode": "server",
        "vllm_server_base_url": config.vllm_server_url,
        "logging_steps": 1,
        "save_strategy": "steps",
        "eval_strategy": "steps",
        "eval_steps": config.effective_eval_steps,
        "per_device_eval_batch_size": config.eval_batch_size,
        "num_generations_eval": 1,  # dev evaluation is greedy: one answer per prompt
        "metric_for_best_model": f"eval_{config.best_metric}",
        "greater_is_better": True,
        "num_completions_to_print": COMPLETIONS_TO_PRINT,
        "bf16": precision.bf16,
        "fp16": precision.fp16,
        "use_cpu": precision.use_cpu,
        # Unsloth applies its own checkpointing when it attaches the adapter.
        "gradient_checkpointing": config.gradient_checkpointing and backend != "unsloth",
    }
    shared = {f.name for f in dataclasses.fields(GRPOConfig)} & {f.name for f in dataclasses.fields(TrainConfig)}
    return GRPOConfig(**{name: getattr(config, name) for name in sorted(shared - derived.keys())}, **derived)


def export_adapter(trainer: ArgenGRPOTrainer, target: Path) -> None:
    """Save the trained (or, with load_best_model_at_end, the best) adapter and tokenizer, atomically."""
    staging = target.parent / f".{target.name}.partial"
    if trainer.is_world_process_zero():
        shutil.rmtree(staging, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    trainer.save_model(str(staging))
    if trainer.is_world_process_zero():
        replace_dir(staging, target)
