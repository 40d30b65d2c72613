"""Crash safety of ``argen-train``: ``kill -9`` mid-step and mid-checkpoint-save, then ``--resume``.

After each kill the verdict cache passes ``PRAGMA integrity_check`` and every output file is absent or
complete; ``--resume`` drops the interrupted checkpoint, continues the step count from the latest
complete one and so loses at most one save interval. Same tiny setup as ``test_train_smoke.py``.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from argen_train.train import checkpoint_is_complete
from test_train_smoke import TINY

ARGEN_TRAIN = str(Path(sys.executable).parent / "argen-train")


def command(out: Path, cache: Path, max_steps: int, *extra: str) -> list[str]:
    return [ARGEN_TRAIN, *TINY, "--save-steps", "1", "--max-steps", str(max_steps), "--output-dir", str(out),
            "--judge-cache", str(cache), "--report-to", "none", *extra]  # fmt: skip


def environment() -> dict[str, str]:
    """One torch thread, as in the smoke test: the machine's other core is often busy."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "NETRC": "/nonexistent"}


def kill_when(process: subprocess.Popen[str], ready: Callable[[], bool], after_s: float = 0.0, timeout_s: float = 600) -> None:
    """SIGKILL ``process`` ``after_s`` after ``ready()``; polled every millisecond so a save is caught mid-way."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if process.poll() is not None:
            raise AssertionError(f"argen-train ended (exit {process.returncode}) before the kill:\n{process.stderr.read()[-3000:]}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("argen-train never reached the point of the kill")
        time.sleep(0.001)
    time.sleep(after_s)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def assert_outputs_intact(out: Path, cache: Path) -> None:
    """The cache is sound and no output file is half-written (checkpoints are judged by ``--resume``)."""
    with sqlite3.connect(cache) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0] > 0, "step 1's verdicts are cached"
    assert not (out / "run.json").exists(), "the manifest is written only when the run ends"
    for table in (out / "completions").glob("*.parquet"):
        pq.read_table(table)
    for samples in (out / "dev_samples").glob("*.jsonl"):
        [json.loads(line) for line in samples.open()]
    assert not list(out.rglob(".*.tmp*")) and not list(out.glob("**/.run.json.*")), "no temporary files left"


def start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(args, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_kill_9_mid_step_and_mid_save_then_resume_continues_the_step_count(tmp_path: Path) -> None:
    out, cache = tmp_path / "run", tmp_path / "cache.sqlite"
    first, second = out / "checkpoint-1", out / "checkpoint-2"

    mid_step = start(command(out, cache, 3))
    kill_when(mid_step, lambda: checkpoint_is_complete(first), after_s=1.0)  # step 2 runs; it saves only at its end
    assert not second.exists(), "killed before step 2 ended"
    assert_outputs_intact(out, cache)

    mid_save = start(command(out, cache, 3, "--resume"))
    kill_when(mid_save, second.exists)
    assert not checkpoint_is_complete(second), "killed while checkpoint-2 was being written"
    assert_outputs_intact(out, cache)

    resumed = subprocess.run(command(out, cache, 3, "--resume"), env=environment(), capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"removed {second}: an incomplete checkpoint" in resumed.stderr
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["resumed_from"] == str(first), "resumed from the latest complete checkpoint: one save interval lost"
    assert manifest["global_step"] == 3
    history = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())["log_history"]
    assert [e["step"] for e in history if "rewards/policy_reward/mean" in e] == [1, 2, 3], "step count continued"
    assert checkpoint_is_complete(second), "the lost step was trained and saved again"
