"""Every case of the bad-input corpus (``tests/data/bad_inputs/cases.yaml``) through the real CLI:
exit 2, a message naming the file, line, field or flag and what to do, no traceback, nothing left behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from stub_judge_server import StubJudgeServer

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "data" / "bad_inputs"
BIN = Path(sys.executable).parent
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text())


def snapshot(root: Path) -> dict[str, tuple[int, float]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime) for p in sorted(root.rglob("*"))}


def test_the_corpus_is_large_and_its_ids_unique() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_bad_input_exits_2_and_says_what_to_do(case: dict[str, Any], tmp_path: Path) -> None:
    data, out, cwd = tmp_path / "data", tmp_path / "out", tmp_path / "cwd"
    shutil.copytree(CORPUS, data)
    out.mkdir()
    cwd.mkdir()
    before = snapshot(tmp_path)
    args = [arg.format(data=data, out=out, repo=REPO) for arg in case["args"]]
    env = dict(os.environ)
    for name, value in (case.get("env") or {}).items():
        env.pop(name, None) if value is None else env.__setitem__(name, value)
    completed = subprocess.run(
        [str(BIN / case["cli"]), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )
    stderr = " ".join(completed.stderr.split())
    shown = json.dumps({"rc": completed.returncode, "stderr": completed.stderr[-3000:]}, indent=1)
    assert completed.returncode == 2, shown
    assert "Traceback" not in completed.stderr, shown
    for expected in case["expect"]:
        assert " ".join(expected.split()) in stderr, shown
    for secret in case.get("forbid", []):
        assert secret not in completed.stdout + completed.stderr, shown
    assert snapshot(tmp_path) == before, "the CLI created, changed or removed files"


def test_a_file_saved_on_windows_is_accepted(tmp_path: Path) -> None:
    """A byte-order mark and CRLF line ends are how many Windows editors save UTF-8: that is not bad input."""
    source = CORPUS / "accepted" / "bom_crlf.jsonl"
    assert source.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in source.read_bytes()
    with StubJudgeServer() as server:
        completed = subprocess.run(
            [str(BIN / "argen-judge"), "score", str(source), "-o", str(tmp_path / "v.jsonl"), "--judge", "openai:stub",
             "--judge-base-url", server.base_url],
            capture_output=True, text=True, env={**os.environ, "OPENAI_API_KEY": "stub"}, timeout=120,
        )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    verdicts = [json.loads(line) for line in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert [v["prompt"] for v in verdicts] == ["Is 2 g of ibuprofen at once ok?", "Best ETF for 2027?"]
    assert all(v["verdict"]["error"] is None for v in verdicts)
