"""Final outputs: the LoRA adapter and a merged model that ``lm_eval --model hf`` loads directly.

Each directory is written under a temporary name and renamed into place, so a crash never leaves
a half-written ``adapter/`` or ``merged/`` that looks complete.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch


def replace_dir(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``, replacing an older ``target`` only once the new one is complete."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        target.rename(old / target.name)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def staging_dir(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))


def merge_adapter(base_path: str, adapter_dir: Path, target: Path) -> None:
    """Merge the adapter into full-precision base weights and save them in the base's own dtype.

    The base is reloaded with plain transformers (never the 4-bit or Unsloth-patched training copy),
    merged in float32 so small LoRA deltas are added exactly, then cast to the dtype the base
    checkpoint was published in (bf16 for Llama-3.2), so the merged model is the base's size.
    """
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    saved_dtype = _checkpoint_dtype(AutoConfig.from_pretrained(base_path))
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32, device_map="cpu")
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged = merged.to(saved_dtype)
    staging = staging_dir(target)
    try:
        merged.save_pretrained(staging)
        AutoTokenizer.from_pretrained(str(adapter_dir)).save_pretrained(staging)
        replace_dir(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _checkpoint_dtype(config: Any) -> torch.dtype:
    dtype = getattr(config, "dtype", None) or torch.float32
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype
