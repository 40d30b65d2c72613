"""Make lm-eval's TaskManager see argen's tasks (lm-eval 0.4.13 has no plugin entry point)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from argen_tasks.tasks import TASKS_DIR


def register() -> None:
    """Add argen's task directory to every TaskManager's include path. Idempotent."""
    from lm_eval.tasks.manager import TaskManager

    patch_task_manager(TaskManager)


def patch_task_manager(manager_cls: type) -> None:
    original = manager_cls.__init__
    if getattr(original, "__argen__", False):
        return

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, include_path: Any = None, **kwargs: Any) -> None:
        original(self, *args, include_path=_with_argen(include_path), **kwargs)

    __init__.__argen__ = True  # type: ignore[attr-defined]
    manager_cls.__init__ = __init__


def _with_argen(include_path: Any) -> list[str | Path]:
    paths = list(include_path) if isinstance(include_path, (list, tuple)) else [include_path] if include_path else []
    return paths if TASKS_DIR in map(Path, paths) else [*paths, TASKS_DIR]
