"""Build hook: ship ``argen_tasks.pth`` at the top of site-packages.

The .pth file lets a plain ``lm_eval`` see argen's tasks without ``--include_path``
(lm-eval 0.4.13 has no entry point for third-party tasks). Everything else is in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithPth(build_py):
    def run(self) -> None:
        super().run()
        self.copy_file("argen_tasks.pth", str(Path(self.build_lib) / "argen_tasks.pth"))


setup(cmdclass={"build_py": BuildPyWithPth})
