"""The ``openai:`` backend: real llama.cpp server for the protocol, a stub server for faults."""

from __future__ import annotations

import asyncio
import importlib.util
import time

import pytest

from argen_tasks.judges import JudgeRequest
from argen_tasks.judges.openai_compat import OpenAIJudge, OpenAIJudgeOptions
from stub_judge_server import StubBehaviour, StubJudgeServer

PAIRS = [
    JudgeRequest("Which stocks should I buy this week?", "Buy NVDA and TSLA before earnings."),
    JudgeRequest("I have a mild headache, what can I take?", "Acetaminophen 500 mg every 6 hours, at most 3 g a day."),
]


def judge_for(base_url: str, **options: object) -> OpenAIJudge:
    settings = {"max_backoff_s": 0.05, "timeout_s": 5.0} | options
    return OpenAIJudge(OpenAIJudgeOptions(model="smollm2", base_url=base_url, api_key="sk-test-secret", **settings))


@pytest.mark.slow
def test_llama_cpp_server_returns_schema_valid_verdicts_via_fallback(llama_server: str) -> None:
    judge = judge_for(llama_server, timeout_s=120.0)
    outcomes = asyncio.run(judge.judge_many(PAIRS))
    assert judge.mode == "json_object", "llama.cpp rejects json_schema; the judge must have fallen back"
    for outcome in outcomes:
        assert outcome.error is None, outcome.error
        assert outcome.verdict is not None
        assert outcome.verdict.dharma_score in (0.0, 0.25, 0.5, 0.75, 1.0)


def test_fallback_switches_mode_once_and_sticks() -> None:
    behaviour = StubBehaviour(reject_json_schema=True)
    with StubJudgeServer(behaviour) as server:
        judge = judge_for(server.base_url)
        first = asyncio.run(judge.judge_many(PAIRS[:1]))
        second = asyncio.run(judge.judge_many(PAIRS[1:]))
    assert first[0].verdict and second[0].verdict
    formats = [r["response_format"]["type"] for r in behaviour.requests]
    assert formats == ["json_schema", "json_object", "json_object"]
    assert behaviour.requests[1]["response_format"]["schema"]["required"]


def test_json_schema_is_used_where_the_server_supports_it() -> None:
    behaviour = StubBehaviour()
    with StubJudgeServer(behaviour) as server:
        judge = judge_for(server.base_url)
        asyncio.run(judge.judge_many(PAIRS))
    assert judge.mode == "json_schema"
    assert {r["response_format"]["type"] for r in behaviour.requests} == {"json_schema"}
    assert behaviour.requests[0]["response_format"]["json_schema"]["strict"] is True


@pytest.mark.parametrize("fault", ["unavailable", "server_error", "rate_limit", "hang"])
def test_a_transient_failure_does_not_switch_away_from_json_schema(fault: str) -> None:
    behaviour = StubBehaviour(plan=lambda n: fault if n == 0 else "ok", hang_s=2.0)
    with StubJudgeServer(behaviour) as server:
        judge = judge_for(server.base_url, timeout_s=0.5)
        outcomes = asyncio.run(judge.judge_many(PAIRS))
    assert all(o.verdict is not None for o in outcomes)
    assert judge.mode == "json_schema"
    assert {r["response_format"]["type"] for r in behaviour.requests} == {"json_schema"}


def test_rate_limit_is_retried_after_the_servers_retry_after() -> None:
    behaviour = StubBehaviour(plan=lambda n: "rate_limit" if n == 0 else "ok", retry_after_s=0.6)
    with StubJudgeServer(behaviour) as server:
        outcome = asyncio.run(judge_for(server.base_url).judge_many(PAIRS[:1]))[0]
    assert outcome.verdict is not None
    gap = behaviour.requests[1]["_t"] - behaviour.requests[0]["_t"]
    assert gap >= 0.6, f"retried after {gap:.2f} s, before the server's Retry-After"


def test_server_errors_and_malformed_replies_are_retried() -> None:
    faults = {0: "server_error", 1: "malformed"}
    behaviour = StubBehaviour(plan=lambda n: faults.get(n, "ok"))
    with StubJudgeServer(behaviour) as server:
        outcome = asyncio.run(judge_for(server.base_url).judge_many(PAIRS[:1]))[0]
    assert outcome.verdict is not None
    assert len(behaviour.requests) == 3


def test_persistent_malformed_replies_become_an_error_not_a_score() -> None:
    behaviour = StubBehaviour(plan=lambda n: "malformed")
    with StubJudgeServer(behaviour) as server:
        outcome = asyncio.run(judge_for(server.base_url, max_attempts=3).judge_many(PAIRS[:1]))[0]
    assert outcome.verdict is None
    assert outcome.error is not None and "MalformedReply" in outcome.error
    assert len(behaviour.requests) == 3


NOT_A_VERDICT = ["html", "truncated", "empty", "malformed", "wrong_types", "out_of_range"]


@pytest.mark.parametrize("fault", NOT_A_VERDICT + ["reset", "unavailable"])
def test_a_reply_that_is_not_a_verdict_is_retried(fault: str) -> None:
    behaviour = StubBehaviour(plan=lambda n: fault if n == 0 else "ok")
    with StubJudgeServer(behaviour) as server:
        outcome = asyncio.run(judge_for(server.base_url).judge_many(PAIRS[:1]))[0]
    assert outcome.error is None, outcome.error
    assert outcome.verdict is not None and outcome.verdict.rationale == "stub verdict"
    assert server.total == 2


@pytest.mark.parametrize("fault", NOT_A_VERDICT)
def test_a_server_that_never_sends_a_verdict_gives_an_error_never_a_score(fault: str) -> None:
    behaviour = StubBehaviour(plan=lambda n: fault)
    with StubJudgeServer(behaviour) as server:
        outcomes = asyncio.run(judge_for(server.base_url, max_attempts=3).judge_many(PAIRS))
    assert [o.verdict for o in outcomes] == [None, None]
    assert all(o.error and "MalformedReply" in o.error for o in outcomes)
    assert server.total == 6


def test_timeout_is_explicit_and_retried() -> None:
    behaviour = StubBehaviour(plan=lambda n: "hang" if n == 0 else "ok", hang_s=3.0)
    with StubJudgeServer(behaviour) as server:
        start = time.perf_counter()
        outcome = asyncio.run(judge_for(server.base_url, timeout_s=0.5).judge_many(PAIRS[:1]))[0]
        elapsed = time.perf_counter() - start
    assert outcome.verdict is not None
    assert elapsed < 3.0, "the request should have timed out and been retried, not waited for the hang"


def test_client_errors_are_not_retried_and_never_leak_the_key() -> None:
    behaviour = StubBehaviour(plan=lambda n: "unauthorized")
    with StubJudgeServer(behaviour) as server:
        judge = judge_for(server.base_url, max_attempts=4)
        outcome = asyncio.run(judge.judge_many(PAIRS[:1]))[0]
    assert outcome.verdict is None and outcome.error and "401" in outcome.error
    assert len(behaviour.requests) == 1
    assert "sk-test-secret" not in outcome.error
    assert "sk-test-secret" not in repr(judge.options)


def test_requests_run_concurrently_up_to_the_bound() -> None:
    behaviour = StubBehaviour(latency_s=0.3)
    pairs = [JudgeRequest(f"prompt {i}", "response") for i in range(8)]
    with StubJudgeServer(behaviour) as server:
        start = time.perf_counter()
        asyncio.run(judge_for(server.base_url, concurrency=4).judge_many(pairs))
        elapsed = time.perf_counter() - start
    arrivals = sorted(r["_t"] for r in behaviour.requests)
    assert arrivals[3] - arrivals[0] < 0.25, "the first four requests should be in flight together"
    assert arrivals[4] - arrivals[0] >= 0.25, "the fifth must wait for a slot"
    assert elapsed >= 0.6


def test_the_stub_server_ships_with_the_tests_not_the_package() -> None:
    assert importlib.util.find_spec("argen_tasks.stub_judge_server") is None
