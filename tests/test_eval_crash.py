"""Crash safety of evaluation: ``kill -9`` while an ``lm_eval`` run (argen's judge filter) or
``argen-report`` is judging keeps every verdict already received, leaves no half-written output, and
the re-run asks the judge only for what is missing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fault_paths import Client, lm_eval_run, pair_rows
from stub_judge_server import StubBehaviour, StubJudgeServer

BIN = Path(sys.executable).parent


def cache_rows(cache: Path) -> int:
    with sqlite3.connect(cache) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]


def kill_after_answers(process: subprocess.Popen[bytes], server: StubJudgeServer, answers: int, timeout_s: float) -> int:
    """SIGKILL ``process`` once the stub has answered ``answers`` requests; the answers at the kill."""
    deadline = time.monotonic() + timeout_s
    while server.stats()["answered"] < answers and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the run must still have been judging when killed"
    return server.stats()["answered"]


def test_kill_9_during_an_lm_eval_runs_judging_keeps_the_verdicts_received(tmp_path: Path) -> None:
    pairs, concurrency = 200, 4
    rows, cache = pair_rows(pairs), tmp_path / "cache.sqlite"
    client = Client(concurrency=concurrency, timeout_s=5.0, cache=str(cache))
    with StubJudgeServer(StubBehaviour(latency_s=0.05, keep_bodies=False)) as server:
        command, env = lm_eval_run(server, rows, tmp_path, client, tmp_path / "killed")
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        answered = kill_after_answers(process, server, 40, timeout_s=180)
        kept = cache_rows(cache)
        assert answered - concurrency <= kept <= answered, f"{answered} verdicts received, {kept} kept"
        written = [p for p in (tmp_path / "killed").rglob("*") if p.is_file()]
        assert not written, f"killed while judging, yet lm_eval left {written}"

        server.reset_counts()
        command, env = lm_eval_run(server, rows, tmp_path, client, tmp_path / "rerun")
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert server.stats()["total"] == pairs - kept, "the re-run asks the judge only for what is missing"
    [samples] = (tmp_path / "rerun").glob("*/samples_argen_faults_*.jsonl")
    verdicts = [json.loads(json.loads(line)["filtered_resps"][0]) for line in samples.open()]
    assert len(verdicts) == pairs and all(v["reward"] is not None for v in verdicts)
    assert sum(v["cached"] for v in verdicts) == kept
    assert cache_rows(cache) == pairs


@pytest.mark.slow
def test_kill_9_during_argen_reports_judging_stops_its_evaluation_and_keeps_the_verdicts(tmp_path: Path) -> None:
    """The report evaluates the model in a child process: killing ``argen-report`` must end it too, or
    it goes on generating and paying the judge, and writes into the report directory behind the re-run."""
    prompts, cache, output = 6, tmp_path / "cache.sqlite", tmp_path / "report"
    with StubJudgeServer(StubBehaviour(latency_s=0.5, keep_bodies=False)) as server:
        command = [str(BIN / "argen-report"), "--baseline", "smollm2-135m-instruct", "--candidate", "smollm2-135m-instruct",
                   "--tasks", "argen_dharma_in", "--limit", str(prompts), "--gen-kwargs", "max_gen_toks=8",
                   "--device", "cpu", "--batch-size", "2", "-o", str(output), "--judge", "openai:stub",
                   "--judge-base-url", server.base_url, "--judge-cache", str(cache), "--judge-concurrency", "1"]  # fmt: skip
        env = os.environ | {"OPENAI_API_KEY": "sk-stub", "HF_HUB_OFFLINE": "1"}
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        answered = kill_after_answers(process, server, 2, timeout_s=300)
        time.sleep(2.0)
        assert server.stats()["total"] - answered <= 1, "the evaluation went on asking the judge after the kill"
        kept = cache_rows(cache)
        assert answered - 1 <= kept <= answered, f"{answered} verdicts received, {kept} kept"
        written = [p for p in output.rglob("*") if p.is_file()]
        assert not written, f"killed while judging, yet argen-report left {written}"

        server.reset_counts()
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert server.stats()["total"] == prompts - kept, "the re-run asks the judge only for what is missing"
    assert "judge errors | 0 | 0 |" in (output / "report.md").read_text()
    assert cache_rows(cache) == prompts
