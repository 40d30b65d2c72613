"""Pairs through each of argen's judging paths against the stub judge, counted for reliability.

The paths are ``argen-judge score`` (a subprocess), a real ``lm_eval`` run's judge filter (lm-eval's
own ``dummy`` model answers, so only the judging costs time) and a GRPO step's reward functions
(``GRPOTrainer._calculate_rewards``, see ``reward_phase.py``). Every pair carries a ``[pair N]`` tag,
so each scored row can be traced to the stub's valid replies: a row with a score for a pair the stub
never sent a valid verdict for is a fabricated score. Shared by ``tests/test_faults.py`` and
``benchmarks/faults.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import argen_tasks
from argen_tasks.domain import SYSTEM_PROMPT
from reward_phase import batch, reward_phase, reward_trainer
from stub_judge_server import FIXED_VERDICT, StubJudgeServer

BIN = Path(sys.executable).parent
TIERS = ("in", "out", "mixed")
TAG = re.compile(r"\[pair (\d+)\]")
TEMPLATE = Path(argen_tasks.__file__).parent / "tasks" / "argen_dharma" / "_template.yaml"


@dataclass(frozen=True)
class Client:
    """The judge client's settings for a run."""

    concurrency: int = 64
    timeout_s: float = 2.0
    cache: str = "off"


@dataclass(frozen=True)
class PathRun:
    path: str
    pairs: int
    crashed: bool
    """The run died (non-zero exit or an exception) instead of recording judge errors."""
    fabricated: int
    errors: int
    """Rows that ended in a judge error after retries."""
    requests: int
    wall_s: float
    judge_s: float | None = None
    """The judging phase alone, where the path records it (lm-eval)."""
    detail: str = ""


def pair_rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"prompt": f"[pair {i}] my knee has hurt for {i % 9 + 1} days, what helps?",
         "response": "Rest, ice and ibuprofen; see a doctor if it lasts a week.", "tier": TIERS[i % 3]}
        for i in range(start, start + n)
    ]  # fmt: skip


def answered_tags(server: StubJudgeServer) -> set[int]:
    """The pairs the stub sent at least one valid verdict for."""
    return {int(tag) for turn in server.answered for tag in TAG.findall(turn)}


def fabricated(
    server: StubJudgeServer, scored: list[tuple[int, dict[str, Any] | None, float | None]], earlier: set[int]
) -> int:
    """Rows ``(pair, verdict or None, reward)`` with a score the stub never sent for that pair (in this
    run, or in the ``earlier`` one whose verdicts a cache holds)."""
    valid = answered_tags(server) | earlier
    return sum(
        reward is not None and (pair not in valid or (verdict is not None and verdict["rationale"] != FIXED_VERDICT["rationale"]))
        for pair, verdict, reward in scored
    )  # fmt: skip


def judge_cli(
    server: StubJudgeServer, rows: list[dict[str, Any]], work: Path, client: Client, earlier: set[int] = set()
) -> PathRun:
    source, output = work / "pairs.jsonl", work / "verdicts.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    output.unlink(missing_ok=True)
    before = server.stats()["total"]
    start = time.perf_counter()
    completed = subprocess.run(
        [str(BIN / "argen-judge"), "score", str(source), "-o", str(output), "--judge", "openai:stub",
         "--judge-base-url", server.base_url, "--judge-cache", client.cache, "--judge-concurrency",
         str(client.concurrency), "--judge-timeout", str(client.timeout_s), "--max-error-rate", "1"],
        capture_output=True, text=True, env=os.environ | {"OPENAI_API_KEY": "sk-stub"},
    )  # fmt: skip
    wall = time.perf_counter() - start
    crashed = completed.returncode != 0 or "Traceback" in completed.stderr or not output.exists()
    out = [json.loads(line) for line in output.open()] if output.exists() else []
    scored = [(_tag(r["prompt"]), r["verdict"], r["verdict"]["reward"]) for r in out]
    detail = completed.stderr[-2000:] if crashed else ""
    return _run("argen-judge score", server, rows, scored, crashed, before, wall, earlier, detail=detail)


def lm_eval_run(
    server: StubJudgeServer, rows: list[dict[str, Any]], work: Path, client: Client, output: Path
) -> tuple[list[str], dict[str, str]]:
    """The command and environment of an ``lm_eval`` run (lm-eval's ``dummy`` model) of ``rows`` as
    the task ``argen_faults``, judged by the stub, writing under ``output``."""
    tasks = work / "tasks"
    tasks.mkdir(parents=True, exist_ok=True)
    (tasks / "docs.jsonl").write_text(
        "".join(json.dumps({"prompt": r["prompt"], "tier": r["tier"], "system_prompt": SYSTEM_PROMPT}) + "\n" for r in rows)
    )
    (tasks / "argen_faults.yaml").write_text(
        f"include: {TEMPLATE}\ntask: argen_faults\ntest_split: test\n"
        f"dataset_kwargs:\n  data_files:\n    test: {tasks / 'docs.jsonl'}\n"
    )
    env = os.environ | {
        "ARGEN_JUDGE": "openai:stub", "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-stub",
        "ARGEN_JUDGE_CACHE": client.cache, "ARGEN_JUDGE_CONCURRENCY": str(client.concurrency),
        "ARGEN_JUDGE_TIMEOUT": str(client.timeout_s), "HF_HUB_OFFLINE": "1",
    }  # fmt: skip
    command = [str(BIN / "lm_eval"), "--model", "dummy", "--tasks", "argen_faults", "--include_path", str(tasks),
               "--output_path", str(output), "--log_samples"]  # fmt: skip
    return command, env


def lm_eval_filter(
    server: StubJudgeServer, rows: list[dict[str, Any]], work: Path, client: Client, earlier: set[int] = set()
) -> PathRun:
    output = work / f"lm_eval-{time.monotonic_ns()}"
    command, env = lm_eval_run(server, rows, work, client, output)
    before = server.stats()["total"]
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    samples = list(output.glob("*/samples_argen_faults_*.jsonl"))
    results = list(output.glob("*/results_*.json"))
    crashed = completed.returncode != 0 or len(samples) != 1 or len(results) != 1
    scored = []
    for line in samples[0].open() if samples else ():
        sample = json.loads(line)
        verdict = json.loads(sample["filtered_resps"][0])
        scored.append((_tag(sample["doc"]["prompt"]), verdict, verdict["reward"]))
    judge_s = json.loads(results[0].read_text())["configs"]["argen_faults"]["metadata"]["argen"]["judge_seconds"] if results else None
    detail = completed.stderr[-2000:] if crashed else ""
    return _run("lm_eval judge filter", server, rows, scored, crashed, before, wall, earlier, judge_s, detail)


def grpo_rewards(
    server: StubJudgeServer, pairs: int, client: Client, earlier: set[int] = set(), step: int = 200, tag: str = "run"
) -> PathRun:
    """``pairs`` completions through a GRPO trainer's reward phase, ``step`` completions a step."""
    trainer = reward_trainer(server.base_url, client.concurrency, max_attempts=5, cache=client.cache, timeout_s=client.timeout_s)
    before = server.stats()["total"]
    scored: list[tuple[int, dict[str, Any] | None, float | None]] = []
    crashed, detail = False, ""
    start = time.perf_counter()
    for first in range(0, pairs, step):
        try:
            rewards = reward_phase(trainer, batch(min(step, pairs - first), tag, start=first))
        except Exception as exc:  # noqa: BLE001 - a crash is what is being counted
            crashed, detail = True, f"{type(exc).__name__}: {exc}"
            break
        scored.extend((first + i, None, reward) for i, reward in enumerate(rewards))
    wall = time.perf_counter() - start
    return _run("GRPO reward functions", server, range(pairs), scored, crashed, before, wall, earlier, detail=detail)


def _run(path: str, server: StubJudgeServer, rows: Any, scored: list[Any], crashed: bool, before: int, wall: float,
         earlier: set[int], judge_s: float | None = None, detail: str = "") -> PathRun:  # fmt: skip
    return PathRun(
        path=path, pairs=len(rows), crashed=crashed or len(scored) != len(rows),
        fabricated=fabricated(server, scored, earlier), errors=sum(reward is None for _, _, reward in scored),
        requests=server.stats()["total"] - before, wall_s=wall, judge_s=judge_s, detail=detail,
    )  # fmt: skip


def _tag(text: str) -> int:
    match = TAG.search(text)
    if match is None:
        raise ValueError(f"no [pair N] tag in {text[:80]!r}")
    return int(match.group(1))
