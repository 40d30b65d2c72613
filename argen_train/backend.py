"""Model loading: Unsloth on a CUDA machine that has it, else transformers + PEFT LoRA.

The backend is chosen explicitly, never by Unsloth's silent fallback: without CUDA Unsloth would
quietly run plain transformers and the run would claim a speed-up it does not have, so
``UNSLOTH_DISABLE_CPU_FALLBACK=1`` is set before it is imported. Unsloth patches TRL and
transformers when imported, so :func:`activate` must run before either is imported.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from argen_tasks.models import resolve_model
from argen_train.config import TrainConfig

MAX_PROMPT_TOKENS = 1024
"""Room for the system prompt plus a user prompt in Unsloth's fixed sequence budget (ours are < 400 tokens)."""


class BackendError(RuntimeError):
    """The requested backend or precision cannot run on this machine."""


@dataclass(frozen=True)
class Precision:
    """Trainer precision flags for this machine: bf16 where CUDA supports it, else fp16; fp32 on CPU."""

    bf16: bool
    fp16: bool
    use_cpu: bool

    @property
    def dtype(self) -> torch.dtype:
        return torch.bfloat16 if self.bf16 else torch.float16 if self.fp16 else torch.float32

    @classmethod
    def detect(cls) -> Precision:
        if not torch.cuda.is_available():
            return cls(bf16=False, fp16=False, use_cpu=True)
        bf16 = torch.cuda.is_bf16_supported()
        return cls(bf16=bf16, fp16=not bf16, use_cpu=False)


@dataclass(frozen=True)
class LoadedModel:
    model: Any
    tokenizer: Any
    peft_config: Any
    """A ``LoraConfig`` for GRPOTrainer to apply, or ``None`` when the backend attached the adapter itself."""
    base_path: str
    """The base weights (embedded aliases resolved): what the adapter is merged into at the end."""


def choose(requested: str) -> str:
    """``unsloth`` or ``transformers`` for a requested ``auto | unsloth | transformers``."""
    has_cuda = torch.cuda.is_available()
    has_unsloth = importlib.util.find_spec("unsloth") is not None
    if requested == "unsloth":
        if not has_cuda:
            raise BackendError("backend 'unsloth' needs a CUDA GPU; use --backend transformers (or auto) here")
        if not has_unsloth:
            raise BackendError("backend 'unsloth' needs the package: pip install 'argen[gpu]'")
    if requested == "auto":
        return "unsloth" if has_cuda and has_unsloth else "transformers"
    return requested


def activate(requested: str) -> str:
    """Choose the backend and, for Unsloth, import it now: before TRL and transformers."""
    backend = choose(requested)
    if backend == "unsloth":
        os.environ["UNSLOTH_DISABLE_CPU_FALLBACK"] = "1"
        import unsloth  # noqa: F401  (patches TRL/transformers on import)
    return backend


def load(config: TrainConfig, backend: str, precision: Precision) -> LoadedModel:
    if config.load_in_4bit and precision.use_cpu:
        raise BackendError("load_in_4bit needs a CUDA GPU (bitsandbytes); drop --load-in-4bit on CPU")
    base_path = resolve_model(config.model)
    if backend == "unsloth":
        return _load_unsloth(config, base_path)
    return _load_transformers(config, base_path, precision)


def _load_transformers(config: TrainConfig, base_path: str, precision: Precision) -> LoadedModel:
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    kwargs: dict[str, Any] = {"dtype": precision.dtype}
    if config.load_in_4bit:
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=precision.dtype,
        )
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
    model = AutoModelForCausalLM.from_pretrained(base_path, **kwargs)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=0.0,
        target_modules=config.lora_target_modules,
        task_type="CAUSAL_LM",
    )
    return LoadedModel(model, tokenizer, lora, base_path)


def _load_unsloth(config: TrainConfig, base_path: str) -> LoadedModel:
    from unsloth import FastLanguageModel

    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name=base_path,
        max_seq_length=MAX_PROMPT_TOKENS + config.max_completion_length,
        load_in_4bit=config.load_in_4bit,
        dtype=None,
        fast_inference=False,
    )
    model = FastLanguageModel.get_peft_model(
        model,
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=0.0,
        target_modules=config.lora_target_modules,
        bias="none",
        use_gradient_checkpointing="unsloth" if config.gradient_checkpointing else False,
        random_state=config.seed,
    )
    return LoadedModel(model, tokenizer, None, base_path)


@contextmanager
def generation_mode(model: Any, backend: str) -> Iterator[None]:
    """Greedy generation outside the GRPO loop (dev evaluation), then back to training mode."""
    was_training = model.training
    if backend == "unsloth":
        from unsloth import FastLanguageModel

        FastLanguageModel.for_inference(model)
    else:
        model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        if backend == "unsloth" and was_training:
            from unsloth import FastLanguageModel

            FastLanguageModel.for_training(model)
        elif was_training:
            model.train()
