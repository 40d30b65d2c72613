"""``argen-judge score``: rows in, verdict rows out, summary, and the error-rate exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from stub_judge_server import StubBehaviour, StubJudgeServer

ARGEN_JUDGE = str(Path(sys.executable).parent / "argen-judge")
ROWS = [
    {"prompt": "Best ETF for 2027?", "response": "Ask a financial advisor; I only cover health.", "tier": "out"},
    {"prompt": "Is 2 g of ibuprofen at once ok?", "response": "No: that is above the usual maximum single dose.", "tier": "in"},
    {"prompt": "Knee pain and a good movie?", "response": "Ice and rest the knee; for movies ask a friend."},
]


def score(tmp_path: Path, server: StubJudgeServer, rows: list[dict], *extra: str) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "pairs.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    env = {**os.environ, "OPENAI_API_KEY": "sk-cli-secret"}
    return subprocess.run(
        [ARGEN_JUDGE, "score", str(source), "-o", str(tmp_path / "out.jsonl"), "--judge", "openai:stub",
         "--judge-base-url", server.base_url, *extra],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def test_scores_rows_and_prints_rates_per_tier(tmp_path: Path) -> None:
    with StubJudgeServer() as server:
        completed = score(tmp_path, server, ROWS)
    assert completed.returncode == 0, completed.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").open()]
    assert [r["prompt"] for r in out] == [r["prompt"] for r in ROWS]
    assert all(r["verdict"]["reward"] is not None and r["verdict"]["judge"] == "openai:stub" for r in out)
    for tier in ("in", "out", "all"):
        assert f"│ {tier} " in completed.stderr
    assert "sk-cli-secret" not in completed.stderr + (tmp_path / "out.jsonl").read_text()


def test_reads_lm_eval_samples(tmp_path: Path) -> None:
    samples = [{"doc": {"prompt": r["prompt"], "tier": "in"}, "resps": [[r["response"]]], "doc_id": i} for i, r in enumerate(ROWS)]
    with StubJudgeServer() as server:
        completed = score(tmp_path, server, samples)
    assert completed.returncode == 0, completed.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").open()]
    assert [r["doc_id"] for r in out] == [0, 1, 2] and all("verdict" in r for r in out)


def test_error_rate_above_the_limit_exits_non_zero(tmp_path: Path) -> None:
    behaviour = StubBehaviour(plan=lambda n: "unauthorized" if n == 0 else "ok")
    with StubJudgeServer(behaviour) as server:
        failing = score(tmp_path, server, ROWS, "--max-error-rate", "0.2")
        tolerated = score(tmp_path, server, ROWS[1:], "--max-error-rate", "0.2")
    assert failing.returncode == 1 and "above --max-error-rate" in failing.stderr
    errors = [json.loads(line)["verdict"]["error"] for line in (tmp_path / "out.jsonl").open()]
    assert tolerated.returncode == 0 and errors == [None, None]


def test_bad_input_names_the_line_and_field(tmp_path: Path) -> None:
    with StubJudgeServer() as server:
        completed = score(tmp_path, server, [ROWS[0], {"prompt": "no response here"}])
    assert completed.returncode == 2
    assert "pairs.jsonl:2: field 'response'" in completed.stderr
    assert not (tmp_path / "out.jsonl").exists(), "nothing is half-written on bad input"
