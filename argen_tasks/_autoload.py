"""Imported by ``argen_tasks.pth`` at interpreter start-up; must stay cheap.

Installs a meta-path finder that waits for ``lm_eval.tasks.manager`` to be imported and then
registers argen's tasks, so a plain ``lm_eval --tasks argen_dharma`` works with no flag and
unrelated programs pay only for this module. Set ``ARGEN_DISABLE_LM_EVAL_HOOK=1`` to switch it off.
"""

import os
import sys

_TARGET = "lm_eval.tasks.manager"


class _LmEvalHook:
    """Wraps the real loader of ``lm_eval.tasks.manager``; removes itself after one use."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != _TARGET:
            return None
        sys.meta_path.remove(cls)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


class _RegisteringLoader:
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        from argen_tasks.lm_eval_plugin import patch_task_manager

        patch_task_manager(module.TaskManager)

    def __getattr__(self, name):
        return getattr(self._loader, name)


if not os.environ.get("ARGEN_DISABLE_LM_EVAL_HOOK") and _LmEvalHook not in sys.meta_path:
    sys.meta_path.insert(0, _LmEvalHook)
