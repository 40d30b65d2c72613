"""Crash safety of ``argen-judge score``: ``kill -9`` mid-run keeps every verdict already received,
and processes sharing one verdict cache lose nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from stub_judge_server import StubBehaviour, StubJudgeServer

ARGEN_JUDGE = str(Path(sys.executable).parent / "argen-judge")


def write_pairs(path: Path, indices: range) -> Path:
    rows = [{"prompt": f"question {i}: my knee hurts", "response": f"answer {i}: rest and ice it", "tier": "in"} for i in indices]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def score_command(source: Path, output: Path, server: StubJudgeServer, cache: Path, concurrency: int) -> list[str]:
    return [ARGEN_JUDGE, "score", str(source), "-o", str(output), "--judge", "openai:stub",
            "--judge-base-url", server.base_url, "--judge-cache", str(cache),
            "--judge-concurrency", str(concurrency), "--max-error-rate", "1"]  # fmt: skip


def environment() -> dict[str, str]:
    return {**os.environ, "OPENAI_API_KEY": "sk-crash-test"}


def cache_rows(cache: Path) -> int:
    with sqlite3.connect(cache) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]


def test_kill_9_mid_run_keeps_the_verdicts_received_and_the_rerun_asks_only_for_the_rest(tmp_path: Path) -> None:
    pairs, concurrency = 300, 4
    source = write_pairs(tmp_path / "pairs.jsonl", range(pairs))
    output, cache = tmp_path / "out.jsonl", tmp_path / "cache.sqlite"
    with StubJudgeServer(StubBehaviour(latency_s=0.05, keep_bodies=False)) as server:
        process = subprocess.Popen(score_command(source, output, server, cache, concurrency), env=environment(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 120
        while server.stats()["answered"] < 60 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        answered = server.stats()["answered"]
        assert process.returncode == -signal.SIGKILL, "the run must still have been judging when killed"
        kept = cache_rows(cache)
        assert not output.exists() and not list(tmp_path.glob(".out.jsonl.*")), "no half-written output"
        assert answered - concurrency <= kept <= answered, f"{answered} verdicts received, {kept} kept"

        server.reset_counts()
        rerun = subprocess.run(score_command(source, output, server, cache, concurrency), env=environment(),
                               capture_output=True, text=True, timeout=300)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert server.stats()["total"] == pairs - kept, "the re-run asks the judge only for what is missing"
    rows = [json.loads(line) for line in output.open()]
    assert len(rows) == pairs and all(r["verdict"]["reward"] is not None for r in rows)
    assert sum(r["verdict"]["cached"] for r in rows) == kept
    assert cache_rows(cache) == pairs


def test_two_processes_sharing_one_cache_lose_nothing(tmp_path: Path) -> None:
    first, second = write_pairs(tmp_path / "a.jsonl", range(0, 300)), write_pairs(tmp_path / "b.jsonl", range(150, 450))
    cache = tmp_path / "cache.sqlite"
    with StubJudgeServer(StubBehaviour(latency_s=0.01, keep_bodies=False)) as server:
        runs = [
            subprocess.Popen(score_command(source, tmp_path / f"{source.stem}.out", server, cache, 8), env=environment(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for source in (first, second)
        ]  # fmt: skip
        for run in runs:
            assert run.wait(timeout=300) == 0, run.stderr.read()[-2000:]
        assert cache_rows(cache) == 450
        server.reset_counts()
        for source in (first, second):
            subprocess.run(score_command(source, tmp_path / f"{source.stem}.out", server, cache, 8), env=environment(),
                           capture_output=True, check=True, timeout=300)  # fmt: skip
    assert server.stats()["total"] == 0, "every verdict of both runs is in the shared cache"
