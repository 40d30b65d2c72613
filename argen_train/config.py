"""The training configuration: one dataclass, loaded from YAML and overridden by CLI flags.

Precedence is dataclass default < YAML file (``--config``) < command-line flag. Every field is a
flag of the same name (``lora_r`` -> ``--lora-r``), generated from the dataclass, so the YAML
keys, the flags and the ``run.json`` manifest can never drift apart. The judge flags are the ones
every argen CLI shares (``argen_tasks.config``); the judge API key is deliberately not a
field: it comes from ``--judge-api-key`` or ``OPENAI_API_KEY`` and is never stored or logged.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from argen_tasks.config import add_scoring_arguments
from argen_tasks.domain import TIERS
from argen_tasks.secrets import redact_url
from argen_tasks.splits import SPLITS

BACKENDS = ("auto", "unsloth", "transformers")
SCALE_REWARDS = ("group", "batch", "none")
BEST_METRICS = ("reward", "reward_worst_tier")
LLAMA_LINEAR_LAYERS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
SCORING_FIELDS = ("judge", "policy", "judge_base_url", "judge_cache", "judge_concurrency", "judge_timeout")
"""Fields whose flags come from the shared ``add_scoring_arguments`` (same names as every argen CLI)."""


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file, field or flag."""


@dataclass
class TrainConfig:
    """Everything that defines a training run. Defaults suit ``unsloth/Llama-3.2-1B-Instruct`` on one GPU."""

    # Model
    model: str = field(
        default="unsloth/Llama-3.2-1B-Instruct",
        metadata={"help": "Hub id, local directory, or an embedded alias (smollm2-135m-instruct runs fully offline)."},
    )
    backend: str = field(
        default="auto",
        metadata={"help": "auto picks Unsloth when CUDA and the package are present.", "choices": BACKENDS},
    )
    load_in_4bit: bool = field(
        default=False, metadata={"help": "Load the base weights in 4 bit (QLoRA). CUDA only."}
    )
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator (scale = alpha / r)."})
    lora_target_modules: list[str] = field(
        default_factory=lambda: list(LLAMA_LINEAR_LAYERS),
        metadata={"help": "Module names that get LoRA adapters: every linear layer of a Llama block."},
    )
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Trade compute for activation memory (larger models / longer completions)."}
    )

    # Judge and policy (flags shared with argen-judge / argen-eval; None falls back to the environment)
    judge: str | None = field(default=None, metadata={"help": "local | openai:MODEL (env ARGEN_JUDGE; default local)."})
    policy: str | None = field(default=None, metadata={"help": "Rego policy directory (default: the packaged policy)."})
    judge_base_url: str | None = field(default=None, metadata={"help": "OpenAI-compatible base URL of the judge."})
    judge_cache: str | None = field(default=None, metadata={"help": "Verdict cache path, or 'off'."})
    judge_concurrency: int | None = field(
        default=None,
        metadata={
            "help": "Judge requests in flight across the job. Default: ARGEN_JUDGE_CONCURRENCY, else the number of "
            "completions per generation step, so that a step's requests are all in flight together."
        },
    )
    judge_timeout: float | None = field(default=None, metadata={"help": "Per-request judge timeout in seconds."})
    max_judge_error_rate: float = field(
        default=0.25,
        metadata={
            "help": "Stop the run when more than this fraction of a step's (or a dev evaluation's) completions get "
            "no verdict. Failed completions get no reward (None), never a made-up score."
        },
    )

    # Data
    dataset: str = field(default="train", metadata={"help": "Prompt split to train on.", "choices": SPLITS})
    eval_dataset: str = field(
        default="dev", metadata={"help": "Prompt split for periodic evaluation.", "choices": SPLITS}
    )
    train_tiers: list[str] = field(
        default_factory=lambda: list(TIERS),
        metadata={
            "help": "Tiers of the training split to train on (in, out, mixed); a tier listed twice is sampled twice "
            "as often. Dropping 'in' removes the push to answer that in-domain groups give, at the risk of "
            "refusals spreading to health questions."
        },
    )
    eval_limit: int | None = field(
        default=None,
        metadata={"help": "Evaluate on this many prompts of eval_dataset (tiers interleaved); all if unset."},
    )

    # GRPO
    output_dir: str = field(
        default="runs/argen-grpo", metadata={"help": "Checkpoints, adapter, merged model, run.json."}
    )
    max_steps: int = field(default=-1, metadata={"help": "Optimizer steps; -1 trains for num_train_epochs."})
    num_train_epochs: float = field(default=1.0, metadata={"help": "Epochs over the prompts when max_steps is -1."})
    per_device_train_batch_size: int = field(
        default=8,
        metadata={"help": "Completions per device per micro-batch (a multiple of num_generations or a divisor)."},
    )
    gradient_accumulation_steps: int = field(
        default=4, metadata={"help": "Micro-batches per optimizer step; all of them are generated and judged together."}
    )
    num_generations: int = field(default=8, metadata={"help": "Completions sampled per prompt (the GRPO group)."})
    max_completion_length: int = field(
        default=256,
        metadata={"help": "Tokens per completion, in training and in dev evaluation (the benchmark uses 256)."},
    )
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature of training completions."})
    learning_rate: float = field(default=1e-5, metadata={"help": "AdamW learning rate of the LoRA weights."})
    beta: float = field(
        default=0.04,
        metadata={
            "help": "KL coefficient towards the base model. With LoRA the reference is the base with the adapter "
            "disabled (no second copy); it keeps the policy from drifting to exploit the judge."
        },
    )
    loss_type: str = field(default="dapo", metadata={"help": "TRL GRPO loss: dapo | grpo | dr_grpo | bnpo | ..."})
    scale_rewards: str = field(
        default="none",
        metadata={
            "help": "What the group-centred reward is divided by: none keeps the reward differences the judge "
            "and policy draw; group/batch divide by a standard deviation, so a group the judge barely tells "
            "apart pushes as hard as one holding a real answer and a refusal (batch is that group when a step "
            "holds one prompt).",
            "choices": SCALE_REWARDS,
        },
    )
    seed: int = field(default=42, metadata={"help": "Seed for sampling, LoRA init and data order."})
    vllm_server_url: str | None = field(
        default=None,
        metadata={
            "help": "Generate with a TRL vLLM server (`trl vllm-serve`) at this URL instead of model.generate; "
            "the server runs on its own GPUs. Unset: generate in the training process."
        },
    )

    # Checkpoints and evaluation
    save_steps: int = field(default=25, metadata={"help": "Write a checkpoint every N steps (and at the end)."})
    eval_steps: int | None = field(
        default=None,
        metadata={"help": "Evaluate on the dev prompts every N steps; default save_steps (must divide it)."},
    )
    save_total_limit: int | None = field(
        default=3, metadata={"help": "Checkpoints kept on disk; the best one by dev reward is always kept."}
    )
    eval_batch_size: int = field(
        default=16, metadata={"help": "Prompts per greedy generation batch in dev evaluation."}
    )
    best_metric: str = field(
        default="reward",
        metadata={
            "help": "Dev metric that picks the best checkpoint: reward (the mean over the dev prompts) or "
            "reward_worst_tier (the lowest of the per-tier means), which a policy that trades one tier for "
            "another, by refusing or by answering everything, cannot raise.",
            "choices": BEST_METRICS,
        },
    )
    load_best_model_at_end: bool = field(
        default=True,
        metadata={"help": "Export the best checkpoint by best_metric (else the final weights) as adapter/merged."},
    )
    resume: str | None = field(
        default=None,
        metadata={"help": "Continue from a checkpoint: 'latest' (bare --resume) or a checkpoint directory."},
    )

    # Tracking
    report_to: list[str] = field(
        default_factory=lambda: ["wandb"],
        metadata={"help": "Trackers (wandb, tensorboard, ...) or none. W&B runs offline unless it is configured."},
    )
    wandb_project: str | None = field(default=None, metadata={"help": "W&B project (default: WANDB_PROJECT or argen)."})
    run_name: str | None = field(default=None, metadata={"help": "Run name in the trackers."})
    log_completions: bool = field(
        default=True, metadata={"help": "Log a completions table (W&B table + completions/*.parquet) every step."}
    )

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}; got {self.backend!r}")
        if self.scale_rewards not in SCALE_REWARDS:
            raise ConfigError(f"scale_rewards must be one of {', '.join(SCALE_REWARDS)}; got {self.scale_rewards!r}")
        if self.best_metric not in BEST_METRICS:
            raise ConfigError(f"best_metric must be one of {', '.join(BEST_METRICS)}; got {self.best_metric!r}")
        unknown = sorted(set(self.train_tiers) - set(TIERS))
        if not self.train_tiers or unknown:
            raise ConfigError(
                f"train_tiers must list tiers among {', '.join(TIERS)} (one listed twice is sampled twice as often); "
                f"got {self.train_tiers}" + (f", unknown: {', '.join(unknown)}" if unknown else "")
            )
        if self.num_generations < 2:
            raise ConfigError("num_generations must be at least 2: GRPO compares completions within a group")
        if not 0.0 <= self.max_judge_error_rate <= 1.0:
            raise ConfigError(f"max_judge_error_rate must be within 0..1; got {self.max_judge_error_rate}")
        if self.save_steps < 1 or (self.eval_steps is not None and self.eval_steps < 1):
            raise ConfigError("save_steps and eval_steps must be positive step counts")
        if self.save_steps % self.effective_eval_steps:
            raise ConfigError(
                f"save_steps ({self.save_steps}) must be a multiple of eval_steps ({self.eval_steps}): the best "
                "checkpoint by dev reward can only be one that was saved"
            )
        if not self.report_to:
            self.report_to = ["none"]

    @property
    def effective_eval_steps(self) -> int:
        return self.eval_steps or self.save_steps

    @property
    def uses_wandb(self) -> bool:
        return "wandb" in self.report_to

    def to_dict(self) -> dict[str, Any]:
        """Every field, for run.json and the tracker's config; no field is a key, and URLs lose their credentials."""
        values = dataclasses.asdict(self)
        for name in ("judge_base_url", "vllm_server_url"):
            if values[name]:
                values[name] = redact_url(values[name])
        return values


def load_config(path: Path | None, overrides: dict[str, Any]) -> TrainConfig:
    """Defaults, then the YAML file, then ``overrides`` (already-typed values, e.g. from flags)."""
    values: dict[str, Any] = {}
    if path is not None:
        values = _read_yaml(path)
    try:
        return TrainConfig(**(values | overrides))
    except ConfigError as exc:
        raise ConfigError(f"{exc} (config file: {path})" if path else str(exc)) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of field: value")
    hints = _field_types()
    values = {}
    for key, value in data.items():
        if key not in hints:
            raise ConfigError(f"{path}: unknown field {key!r}; fields are: {', '.join(hints)}")
        try:
            values[key] = _coerce(hints[key], value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: field {key!r}: {exc}") from None
    return values


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field; defaults are suppressed so only given flags override."""
    parser.add_argument(
        "--config", type=Path, metavar="YAML", help="YAML file of TrainConfig fields (flags override it)"
    )
    hints = _field_types()
    group = parser
    for spec in dataclasses.fields(TrainConfig):
        if spec.name in _SECTIONS:
            group = parser.add_argument_group(_SECTIONS[spec.name])
        if spec.name in SCORING_FIELDS:
            continue
        flag = "--" + spec.name.replace("_", "-")
        kind, optional = _unwrap_optional(hints[spec.name])
        default = spec.default if spec.default_factory is dataclasses.MISSING else spec.default_factory()
        help_text = f"{spec.metadata['help']} (default: {default})"
        common = {"dest": spec.name, "default": argparse.SUPPRESS, "help": help_text}
        if spec.name == "resume":
            group.add_argument(flag, nargs="?", const="latest", metavar="CHECKPOINT", **common)
        elif kind is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **common)
        elif typing.get_origin(kind) is list:
            group.add_argument(flag, nargs="+", metavar="NAME", **common)
        else:
            metavar = None if "choices" in spec.metadata else kind.__name__.upper()
            group.add_argument(
                flag, type=_parser_for(kind, optional), choices=spec.metadata.get("choices"), metavar=metavar, **common
            )
    add_scoring_arguments(parser)


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The fields given on the command line. Shared scoring flags default to None, meaning "not given"."""
    names = {spec.name for spec in dataclasses.fields(TrainConfig)}
    return {k: v for k, v in vars(args).items() if k in names and not (k in SCORING_FIELDS and v is None)}


_SECTIONS = {
    "model": "model",
    "max_judge_error_rate": "judge errors",
    "dataset": "data",
    "output_dir": "GRPO",
    "save_steps": "checkpoints and evaluation",
    "report_to": "tracking",
}
"""Help sections, keyed by the first field of each."""


def _field_types() -> dict[str, Any]:
    hints = typing.get_type_hints(TrainConfig)
    return {spec.name: hints[spec.name] for spec in dataclasses.fields(TrainConfig)}


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0], True
    return hint, False


def _parser_for(kind: type, optional: bool) -> Any:
    def parse(text: str) -> Any:
        if optional and text.lower() in ("none", "null"):
            return None
        return kind(text)

    parse.__name__ = kind.__name__  # argparse names the type in its error messages
    return parse


def _coerce(hint: Any, value: Any) -> Any:
    """YAML values to field types. YAML 1.1 reads ``1e-5`` as a string, so numbers may arrive as text."""
    kind, optional = _unwrap_optional(hint)
    if value is None:
        if optional:
            return None
        raise ValueError("may not be null")
    if kind is bool:
        if not isinstance(value, bool):
            raise TypeError(f"expected true or false, got {value!r}")
        return value
    if typing.get_origin(kind) is list:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"expected a list of strings, got {value!r}")
        return value
    if kind is float and isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected {kind.__name__}, got {value!r}")
