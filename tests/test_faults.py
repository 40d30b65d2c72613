"""Every judging path under 20% judge faults of every kind: no crash, no fabricated score, and a
second pass on the cache asks only for the pairs that ended in error (a small ``benchmarks/faults.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fault_paths import Client, PathRun, answered_tags, grpo_rewards, judge_cli, lm_eval_filter, pair_rows
from stub_judge_server import TRANSIENT_FAULTS, Fault, StubBehaviour, StubJudgeServer


def every_fifth_request_faulted(n: int) -> Fault:
    """20% of requests, cycling through every fault kind."""
    return TRANSIENT_FAULTS[n // 5 % len(TRANSIENT_FAULTS)] if n % 5 == 0 else "ok"


Runner = Callable[[StubJudgeServer, Path, Client, set[int]], PathRun]
PATHS: dict[str, Runner] = {
    "argen-judge score": lambda server, work, client, earlier: judge_cli(server, pair_rows(60), work, client, earlier),
    "lm_eval filter": lambda server, work, client, earlier: lm_eval_filter(server, pair_rows(60), work, client, earlier),
    "GRPO rewards": lambda server, work, client, earlier: grpo_rewards(server, 60, client, earlier, step=30, tag=work.name),
}


@pytest.mark.parametrize("path", PATHS)
def test_faults_of_every_kind_end_in_retries_or_errors_never_in_crashes_or_scores(path: str, tmp_path: Path) -> None:
    client = Client(concurrency=8, timeout_s=1.0, cache=str(tmp_path / "cache.sqlite"))
    faulty = StubBehaviour(plan=every_fifth_request_faulted, retry_after_s=0.2, hang_s=3.0, keep_bodies=False)
    with StubJudgeServer(faulty) as server:
        run = PATHS[path](server, tmp_path, client, set())
        paid = answered_tags(server)
    assert not run.crashed, run.detail
    assert set(server.faults) >= set(TRANSIENT_FAULTS), "every fault kind was served"
    assert run.fabricated == 0
    assert run.requests > run.pairs, "faulted requests were retried"
    with StubJudgeServer(StubBehaviour(keep_bodies=False)) as clean:
        second = PATHS[path](clean, tmp_path, client, paid)
    assert not second.crashed and second.fabricated == 0
    assert second.requests == run.errors, "the second pass asks only for the pairs that ended in error"
    assert second.errors == 0
