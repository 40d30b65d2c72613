"""lm-eval task configs (YAML) with their thin Python hooks."""

from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent
