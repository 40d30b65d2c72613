"""``accelerate launch`` runs ``python -m argen_train`` unchanged: two CPU processes (gloo), two steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stub_judge_server import StubBehaviour, StubJudgeServer

ACCELERATE = str(Path(sys.executable).parent / "accelerate")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_process_launch_trains_logs_once_and_splits_the_judge_budget(tmp_path: Path) -> None:
    out = tmp_path / "run"
    behaviour = StubBehaviour(latency_s=0.2)
    with StubJudgeServer(behaviour) as judge:
        completed = subprocess.run(
            [ACCELERATE, "launch", "--num_processes", "2", "--cpu", "--num_machines", "1", "--mixed_precision", "no",
             "--dynamo_backend", "no", "-m", "argen_train",
             "--model", "smollm2-135m-instruct", "--backend", "transformers",
             "--judge", "openai:stub", "--judge-base-url", judge.base_url, "--judge-cache", "off",
             "--judge-concurrency", "2", "--per-device-train-batch-size", "2", "--gradient-accumulation-steps", "1",
             "--num-generations", "2", "--max-completion-length", "8", "--beta", "0", "--max-steps", "2",
             "--save-steps", "2", "--eval-limit", "2", "--report-to", "wandb", "--output-dir", str(out)],
            capture_output=True, text=True, timeout=850,
            env={**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "OPENAI_API_KEY": "stub"},
        )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-4000:]
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["global_step"] == 2
    assert (out / "checkpoint-2" / "adapter_model.safetensors").is_file()
    assert len(list((out / "wandb").glob("offline-run-*"))) == 1, "W&B shows one run, not one per process"
    history = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())["log_history"]
    assert [e["step"] for e in history if "rewards/policy_reward/mean" in e] == [1, 2]
    arrivals = sorted(r["_t"] for r in behaviour.requests)
    in_flight = max(sum(1 for t in arrivals if start <= t < start + 0.2) for start in arrivals)
    assert in_flight <= 2, "the job-wide judge budget (2) is divided between the two processes"
