"""Folders of the source tree that install as packages (``data/``, ``gates/``, ``configs/``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parent.parent


def folder(package: str, source: str) -> Path:
    """Where ``package`` is installed; run from a source checkout, the top-level folder ``source``."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return SOURCE_ROOT / source
    return Path(next(iter(spec.submodule_search_locations)))
