"""The scoring API and its sqlite cache."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

import pytest

from argen_tasks.cache import JudgeCache, cache_key
from argen_tasks.judges.openai_compat import OpenAIJudge, OpenAIJudgeOptions
from argen_tasks.policy import load_policy
from argen_tasks.rubric import RUBRIC_VERSION
from argen_tasks.scoring import ScoreItem, Scorer
from argen_tasks.verdict import JudgeVerdict
from stub_judge_server import FIXED_VERDICT, StubBehaviour, StubJudgeServer

ITEMS = [
    ScoreItem("Which stocks should I buy?", "I can only help with health questions; a financial advisor can help.", "out"),
    ScoreItem("My throat hurts, what helps?", "Warm fluids, rest and lozenges; see a doctor if it lasts a week.", "in"),
    ScoreItem("My throat hurts, what helps?", "Warm fluids, rest and lozenges; see a doctor if it lasts a week.", "in"),
]


def stub_scorer(server: StubJudgeServer, cache: JudgeCache | None, **options: object) -> Scorer:
    settings = {"model": "stub", "base_url": server.base_url, "api_key": "k", "max_backoff_s": 0.01} | options
    return Scorer(OpenAIJudge(OpenAIJudgeOptions(**settings)), load_policy(), cache)


def test_rescoring_a_scored_batch_makes_no_requests(tmp_path: Path) -> None:
    behaviour = StubBehaviour()
    with StubJudgeServer(behaviour) as server:
        scorer = stub_scorer(server, JudgeCache(tmp_path / "c.sqlite"))
        first = scorer.score_sync(ITEMS)
        sent = len(behaviour.requests)
        again = scorer.score_sync(ITEMS)
    assert sent == 2, "identical pairs in one batch are judged once"
    assert len(behaviour.requests) == sent, "a re-run must be served entirely from the cache"
    assert all(v.cached for v in again) and not any(v.cached for v in first)
    assert [v.reward for v in again] == [v.reward for v in first]


@pytest.mark.slow
def test_rescoring_with_a_real_llm_judge_is_served_from_the_cache(llama_server: str, tmp_path: Path) -> None:
    judge = OpenAIJudge(OpenAIJudgeOptions(model="smollm2", base_url=llama_server, api_key="k", timeout_s=120))
    calls = []
    judge_each = judge.judge_each

    def counting(requests, progress=None):  # type: ignore[no-untyped-def]
        calls.append(len(requests))
        return judge_each(requests, progress)

    judge.judge_each = counting  # type: ignore[method-assign]
    scorer = Scorer(judge, load_policy(), JudgeCache(tmp_path / "c.sqlite"))
    first = scorer.score_sync(ITEMS[:2])
    second = scorer.score_sync(ITEMS[:2])
    assert calls == [2], "the second scoring must not reach the judge"
    assert all(v.error is None for v in first)
    assert [v.to_dict() | {"cached": 0, "latency_s": 0} for v in second] == [
        v.to_dict() | {"cached": 0, "latency_s": 0} for v in first
    ]


def test_judge_failure_is_an_error_with_no_scores() -> None:
    with StubJudgeServer(StubBehaviour(plan=lambda n: "unauthorized")) as server:
        verdict = stub_scorer(server, None).score_sync(ITEMS[:1])[0]
    assert verdict.error and verdict.reward is None and verdict.dharma_score is None
    assert verdict.metrics()["judge_error"] == 1.0
    assert verdict.metrics()["reward"] is None


def test_failures_are_not_cached(tmp_path: Path) -> None:
    behaviour = StubBehaviour(plan=lambda n: "unauthorized" if n == 0 else "ok")
    with StubJudgeServer(behaviour) as server:
        scorer = stub_scorer(server, JudgeCache(tmp_path / "c.sqlite"), max_attempts=1)
        assert scorer.score_sync(ITEMS[:1])[0].error
        assert scorer.score_sync(ITEMS[:1])[0].reward is not None


def test_verdict_carries_policy_decision_and_provenance() -> None:
    with StubJudgeServer() as server:
        scorer = stub_scorer(server, None)
        verdict = scorer.score_sync(ITEMS[1:2])[0]
    decision = load_policy().evaluate("in", {k: v for k, v in FIXED_VERDICT.items() if k != "rationale"})
    assert verdict.reward == decision.reward and verdict.violations == decision.violations
    assert (verdict.judge, verdict.rubric_version, verdict.policy_hash) == (
        "openai:stub", RUBRIC_VERSION, load_policy().hash)  # fmt: skip


def test_sync_wrapper_works_inside_a_running_event_loop() -> None:
    with StubJudgeServer() as server:
        scorer = stub_scorer(server, None)

        async def caller() -> list[float | None]:
            return [v.reward for v in scorer.score_sync(ITEMS)]

        rewards = asyncio.run(caller())
    assert all(r is not None for r in rewards)


def test_progress_counts_every_item_cached_or_not(tmp_path: Path) -> None:
    with StubJudgeServer() as server:
        scorer = stub_scorer(server, JudgeCache(tmp_path / "c.sqlite"))
        scorer.score_sync(ITEMS[:1])
        ticks: list[int] = []
        scorer.score_sync(ITEMS, ticks.append)
    assert sum(ticks) == len(ITEMS)


def _writer(path: str, worker: int) -> None:
    cache = JudgeCache(path)
    verdict = JudgeVerdict.model_validate(FIXED_VERDICT)
    for i in range(100):
        cache.put_many("j", "r", [(cache_key("j", "r", f"p{worker}-{i}", "x"), verdict)])


def test_cache_is_safe_under_concurrent_writers(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    JudgeCache(path)
    workers = [multiprocessing.get_context("spawn").Process(target=_writer, args=(path, w)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    assert len(JudgeCache(path)) == 400


def test_cache_key_separates_judges_rubrics_and_tiers() -> None:
    keys = {cache_key(j, r, "p", "x") for j in ("local@1", "openai:m") for r in ("v1", "v2")}
    assert len(keys) == 4
    assert len({cache_key("j", "r", "p", "x", tier) for tier in (None, "in", "mixed")}) == 3
    assert cache_key("j", "r", "ab", "c") != cache_key("j", "r", "a", "bc")
