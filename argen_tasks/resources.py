"""Folders of the source tree that install as packages (``data/``, ``gates/``, ``configs/``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def folder(package: str, source: str) -> Path:
    """Where ``package`` is installed; where its top-level package was imported from a source checkout, the
    checkout's top-level folder ``source``.

    The root is taken from the top-level package itself, not from this module: ``python -m argen_train.demo``
    in a checkout imports ``argen_train`` from the checkout while ``argen_tasks`` may come from site-packages.
    """
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    top = importlib.util.find_spec(package.partition(".")[0])
    if top is None or top.origin is None:
        raise ModuleNotFoundError(f"neither {package} nor its top-level package is importable")
    return Path(top.origin).resolve().parent.parent / source
