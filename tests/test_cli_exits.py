"""Exit codes that tell a crash from a failed check, input checked before the judge is paid, and
output files with the permissions any other program's would have."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from stub_judge_server import StubJudgeServer

from argen_tasks.cli import judge as judge_cli
from argen_tasks.io import build_dir_atomic, write_jsonl_atomic

ARGEN_JUDGE = str(Path(sys.executable).parent / "argen-judge")
PAIR = {"prompt": "Is 2 g of ibuprofen at once ok?", "response": "No: above the usual maximum single dose.", "tier": "in"}


@pytest.fixture
def pairs(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(PAIR) + "\n")
    return path


@pytest.fixture
def umask() -> Iterator[None]:
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def test_a_crash_exits_70_not_the_failed_check_code(
    pairs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(config: object) -> None:
        raise RuntimeError("the scorer broke")

    monkeypatch.setattr(judge_cli, "get_scorer", broken)
    with pytest.raises(SystemExit) as crashed:
        judge_cli.main(["score", str(pairs), "-o", str(tmp_path / "out.jsonl"), "--judge", "local"])
    assert crashed.value.code == 70
    err = capsys.readouterr().err
    assert "RuntimeError: the scorer broke" in err and "internal error (exit 70)" in err


def test_an_unwritable_output_fails_before_any_judge_request(pairs: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with StubJudgeServer() as server:
        completed = subprocess.run(
            [ARGEN_JUDGE, "score", str(pairs), "-o", str(tmp_path / "a-file" / "out.jsonl"), "--judge", "openai:stub",
             "--judge-base-url", server.base_url],
            capture_output=True, text=True, env={**os.environ, "OPENAI_API_KEY": "stub"}, timeout=120,
        )  # fmt: skip
        requests = server.stats()["total"]
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert f"-o/--output {tmp_path / 'a-file' / 'out.jsonl'}: {tmp_path / 'a-file'} is a file" in completed.stderr
    assert requests == 0, "the judge was asked before the output path was checked"


def test_a_missing_key_is_a_configuration_error(pairs: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    completed = subprocess.run(
        [ARGEN_JUDGE, "score", str(pairs), "-o", str(tmp_path / "out.jsonl"), "--judge", "openai:gpt-4o-mini",
         "--judge-base-url", "http://127.0.0.1:9/v1"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert "needs an API key: set OPENAI_API_KEY" in completed.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_outputs_follow_the_umask(tmp_path: Path, umask: None) -> None:
    write_jsonl_atomic(tmp_path / "out.jsonl", [PAIR])
    assert stat.S_IMODE((tmp_path / "out.jsonl").stat().st_mode) == 0o640
    built = build_dir_atomic(tmp_path / "built", lambda staging: (staging / "f").write_text("x"))
    assert stat.S_IMODE(built.stat().st_mode) == 0o750


def test_argen_judge_output_is_not_private(pairs: Path, tmp_path: Path) -> None:
    with StubJudgeServer() as server:
        completed = subprocess.run(
            [ARGEN_JUDGE, "score", str(pairs), "-o", str(tmp_path / "out.jsonl"), "--judge", "openai:stub",
             "--judge-base-url", server.base_url],
            capture_output=True, text=True, env={**os.environ, "OPENAI_API_KEY": "stub"}, timeout=120,
            preexec_fn=lambda: os.umask(0o022),
        )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert stat.S_IMODE((tmp_path / "out.jsonl").stat().st_mode) == 0o644
