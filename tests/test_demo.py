"""``make demo``'s pipeline end to end with tiny settings: evaluate, train, evaluate, report, gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_demo_pipeline_leaves_report_plots_and_gate_verdict(tmp_path: Path) -> None:
    config = yaml.safe_load((REPO / "configs" / "smollm2-cpu.yaml").read_text()) | {
        "max_steps": 1, "per_device_train_batch_size": 2, "num_generations": 2, "max_completion_length": 8,
        "save_steps": 1, "eval_limit": 3, "eval_batch_size": 3,
    }  # fmt: skip
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "demo"
    completed = subprocess.run(
        [sys.executable, "-m", "argen_train.demo", "--output", str(out), "--config", str(tmp_path / "tiny.yaml"),
         "--limit", "2", "--max-gen-toks", "8"],
        capture_output=True, text=True, timeout=1150,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-4000:]
    for stage in ("1/5 baseline evaluation", "2/5 GRPO training", "3/5 aligned evaluation", "4/5 before/after report", "5/5 CI gate"):
        assert stage in completed.stderr
    assert list((out / "baseline").glob("*/results_*.json")) and list((out / "aligned").glob("*/results_*.json"))
    assert (out / "train" / "merged" / "config.json").is_file()
    report = (out / "report" / "report.md").read_text()
    assert "dharma_violation" in report and list((out / "report").glob("*.png"))
    # a --limit-ed run is a partial run: the gate must refuse it (exit 2), and the demo says so
    assert "UNUSABLE INPUT" in completed.stderr and "unusable input" in (out / "gate.md").read_text()
    assert "report.md" in completed.stderr


def test_the_demo_config_and_the_default_thresholds_ship_in_the_installed_package(tmp_path: Path) -> None:
    """Run outside the checkout, as a user of a wheel would: nothing may be read from the source tree."""
    code = (
        "import json; from argen_train.demo import CONFIG; from argen_train.config import load_config; "
        "from argen_tasks.reporting.gate import DEFAULT_THRESHOLDS, load_thresholds; "
        "config = load_config(CONFIG, {}); rules = load_thresholds(DEFAULT_THRESHOLDS); "
        "print(json.dumps([str(CONFIG), str(DEFAULT_THRESHOLDS), config.model, len(rules.limits)]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert completed.returncode == 0, completed.stderr
    config, thresholds, model, limits = json.loads(completed.stdout.splitlines()[-1])
    for path in (config, thresholds):
        assert Path(path).is_file() and "site-packages" in Path(path).parts, path
    assert model == "smollm2-135m-instruct" and limits > 0


def test_the_demo_finds_its_config_run_from_the_checkout() -> None:
    """``make demo`` runs ``python -m argen_train.demo`` in the checkout: ``argen_train`` then comes from the
    source tree while the start-up hook has already imported ``argen_tasks`` from site-packages."""
    code = "from argen_train.demo import CONFIG; print(CONFIG)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert completed.returncode == 0, completed.stderr
    config = Path(completed.stdout.splitlines()[-1])
    assert config.is_file() and config == REPO / "configs" / "smollm2-cpu.yaml", config
