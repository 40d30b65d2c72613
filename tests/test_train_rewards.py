"""GRPO rewards over the scoring API: one scoring call per step, None for failures, the error-rate stop."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from pathlib import Path

import pytest
import torch

from argen_tasks.domain import SYSTEM_PROMPT, TIERS
from argen_tasks.judges.base import JudgeOutcome, JudgeRequest
from argen_tasks.metrics import dev_metrics, judge_stats
from argen_tasks.policy import load_policy
from argen_tasks.scoring import Scorer
from argen_tasks.splits import load_prompts
from argen_tasks.verdict import JudgeVerdict
from argen_train.data import completion_text, conversation, interleave_tiers, prompt_dataset, prompt_text
from argen_train.rewards import JudgeErrorRateExceeded, JudgeRewards
from reward_phase import measure
from stub_judge_server import StubBehaviour, StubJudgeServer


class FakeJudge:
    """Grades by response text: 'refuse' is an over-refusal, 'stocks' a dharma violation, 'FAIL' an error."""

    id = "fake@test"

    def __init__(self) -> None:
        self.calls: list[int] = []

    async def judge_many(self, requests: Sequence[JudgeRequest], progress=None) -> list[JudgeOutcome]:
        self.calls.append(len(requests))
        return [self._one(r) for r in requests]

    @staticmethod
    def _one(request: JudgeRequest) -> JudgeOutcome:
        if "FAIL" in request.response:
            return JudgeOutcome(None, error="TimeoutError: judge did not answer", latency_s=0.5)
        refused = "refuse" in request.response
        off_topic = "stocks" in request.response
        verdict = JudgeVerdict(
            rationale="fake",
            dharma_violation=off_topic,
            over_refusal=refused,
            ahimsa_violation=False,
            dharma_score=0.0 if off_topic else 1.0,
            ahimsa_score=1.0,
            helpfulness_score=0.0 if refused else 0.75,
        )
        return JudgeOutcome(verdict, latency_s=0.1)


def make_rewards(max_error_rate: float = 0.5) -> tuple[JudgeRewards, FakeJudge]:
    judge = FakeJudge()
    return JudgeRewards(Scorer(judge, load_policy(), None), max_error_rate), judge


def call_like_trl(rewards: JudgeRewards, responses: list[str], tiers: list[str]) -> tuple[list[list], dict, dict]:
    """Await every reward function together, as TRL 1.15 does for async reward functions."""
    prompts = [conversation(f"question {i}") for i in range(len(responses))]
    completions = [[{"role": "assistant", "content": text}] for text in responses]
    metrics: dict[str, list[float]] = {}
    extra: dict[str, list] = {}

    async def gather() -> list[list]:
        kwargs = {
            "tier": tiers,
            "completion_ids": [[1]] * len(responses),
            "log_metric": lambda name, value: metrics.setdefault(name, []).append(value),
            "log_extra": lambda column, values: extra.setdefault(column, []).extend(values),
            "trainer_state": None,
        }
        return await asyncio.gather(*(f(prompts=prompts, completions=completions, **kwargs) for f in rewards.functions))

    return asyncio.run(gather()), metrics, extra


def test_one_scoring_call_per_step_and_component_columns() -> None:
    rewards, judge = make_rewards()
    responses = ["See a doctor today.", "I refuse to answer.", "Buy stocks now.", "Rest and fluids."]
    columns, metrics, extra = call_like_trl(rewards, responses, ["in", "in", "out", "in"])
    assert judge.calls == [4], "four reward functions, one judge batch"
    policy, dharma, ahimsa, helpfulness = columns
    assert dharma == [1.0, 1.0, 0.0, 1.0]
    assert helpfulness == [0.75, 0.0, 0.75, 0.75]
    assert ahimsa == [1.0] * 4
    assert policy[1] < policy[0] and policy[2] < policy[0], "violations lower the policy reward"
    assert rewards.weights == [1.0, 0.0, 0.0, 0.0]
    names = [f.__name__ for f in rewards.functions]
    assert names == ["policy_reward", "dharma_score", "ahimsa_score", "helpfulness_score"]
    assert metrics["judge/error_rate"] == [0.0] and metrics["judge/cache_hit_rate"] == [0.0]
    assert metrics["judge/latency_p50_s"] == [pytest.approx(0.1)]
    assert metrics["verdict/over_refusal"] == [0.25]
    assert extra["violations"][1] == "over_refusal" and extra["judge_error"] == [""] * 4


def test_a_new_batch_is_scored_again() -> None:
    rewards, judge = make_rewards()
    call_like_trl(rewards, ["a", "b"], ["in", "in"])
    call_like_trl(rewards, ["a", "b"], ["in", "in"])
    assert judge.calls == [2, 2]


def test_judge_failure_is_none_not_a_score() -> None:
    rewards, _ = make_rewards(max_error_rate=0.5)
    columns, metrics, extra = call_like_trl(rewards, ["fine", "FAIL", "fine", "fine"], ["in"] * 4)
    assert all(column[1] is None for column in columns)
    assert all(column[0] is not None for column in columns)
    assert metrics["judge/error_rate"] == [0.25]
    assert extra["judge_error"][1].startswith("TimeoutError")


def test_error_rate_above_limit_stops_with_the_first_error() -> None:
    rewards, _ = make_rewards(max_error_rate=0.25)
    with pytest.raises(JudgeErrorRateExceeded, match=r"50% \(2 of 4.*TimeoutError: judge did not answer"):
        call_like_trl(rewards, ["FAIL", "FAIL", "ok", "ok"], ["in"] * 4)


def test_judge_stats_percentiles_and_cache() -> None:
    rewards, _ = make_rewards()
    verdicts = rewards.scorer.score_sync([])
    assert judge_stats(verdicts) == {"error_rate": 0.0, "cache_hit_rate": 0.0}


def test_dev_metrics_exclude_errors() -> None:
    rewards, _ = make_rewards()
    from argen_tasks.scoring import ScoreItem

    verdicts = rewards.scorer.score_sync(
        [ScoreItem("q", "fine", "in"), ScoreItem("q", "FAIL", "out"), ScoreItem("q", "Buy stocks", "out")]
    )
    metrics = dev_metrics(["in", "out", "out"], verdicts)
    assert metrics["judge_error"] == pytest.approx(1 / 3)
    assert metrics["dharma_violation"] == 0.5, "the failed pair is excluded, not counted as 0"
    assert math.isnan(metrics["reward_mixed"])
    assert metrics["reward_in"] > metrics["reward_out"]
    assert metrics["reward_worst_tier"] == metrics["reward_out"], "a tier with no verdict is not the worst"


def test_prompts_are_the_benchmark_conversation() -> None:
    dataset = prompt_dataset("dev", limit=6)
    row = dataset[0]
    assert row["prompt"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert row["prompt"][1]["role"] == "user"
    assert [r["tier"] for r in dataset] == ["in", "out", "mixed", "in", "out", "mixed"]
    assert prompt_text(row["prompt"]) == row["prompt"][1]["content"]
    assert completion_text([{"role": "assistant", "content": "hi"}]) == "hi"
    assert interleave_tiers([{"tier": "in"}, {"tier": "in"}, {"tier": "out"}]) == [
        {"tier": "in"},
        {"tier": "out"},
        {"tier": "in"},
    ]


def test_training_can_be_restricted_to_tiers() -> None:
    dataset = prompt_dataset("train", tiers=("out", "mixed"))
    assert set(dataset["tier"]) == {"out", "mixed"}
    assert len(dataset) == len([r for r in load_prompts("train") if r["tier"] != "in"])


def test_a_tier_listed_twice_is_sampled_twice_as_often() -> None:
    dataset = prompt_dataset("train", tiers=("in", "out", "out"))
    counts = {tier: dataset["tier"].count(tier) for tier in TIERS}
    prompts = {tier: sum(r["tier"] == tier for r in load_prompts("train")) for tier in TIERS}
    assert counts == {"in": prompts["in"], "out": 2 * prompts["out"], "mixed": 0}


def test_torch_log_probs_match_log_softmax() -> None:
    from argen_train.trl_compat import TorchLogProbs

    torch.manual_seed(0)
    hidden = torch.randn(7, 16, requires_grad=True)
    weight = torch.randn(50, 16, requires_grad=True)
    targets = torch.randint(0, 50, (7,))
    logprobs, entropy, log_sum_sq, mean_logits, is_top1 = TorchLogProbs.apply(
        hidden, weight, None, targets, 0.7, 4096, 30.0, 1.0, ("entropy", "log_sum_sq_probs", "mean_logits", "is_top1")
    )
    logits = 30.0 * torch.tanh((hidden @ weight.T) / 30.0) / 0.7
    log_p = torch.log_softmax(logits, -1)
    torch.testing.assert_close(logprobs, log_p[torch.arange(7), targets])
    torch.testing.assert_close(entropy, -(log_p.exp() * log_p).sum(-1))
    torch.testing.assert_close(log_sum_sq, torch.log((log_p.exp() ** 2).sum(-1)))
    torch.testing.assert_close(mean_logits, logits.mean(-1))
    assert torch.equal(is_top1, logits.argmax(-1) == targets)
    logprobs.sum().backward()
    assert hidden.grad is not None and weight.grad is not None
    only_logprobs = TorchLogProbs.apply(hidden, weight, None, targets, 1.0, 4096, None, 1.0, ())
    assert all(x is None for x in only_logprobs[1:])


def test_trl_kernel_runs_on_accelerator_tensors_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CUDA torch build training on CPU has Triton, and TRL's kernel fails on CPU tensors."""
    from trl.trainer import utils

    from argen_train import trl_compat

    class TritonKernelWithoutGpu:
        @staticmethod
        def apply(*args: object) -> None:
            raise RuntimeError("0 active drivers")

    monkeypatch.setattr(utils, "_ChunkedLogProbFunction", TritonKernelWithoutGpu)
    dispatch = trl_compat.install()
    assert utils._ChunkedLogProbFunction is dispatch and dispatch.kernel is TritonKernelWithoutGpu
    assert trl_compat.install() is dispatch
    torch.manual_seed(0)
    hidden, weight, targets = torch.randn(5, 8), torch.randn(30, 8), torch.randint(0, 30, (5,))
    args = (None, targets, 1.0, 4096, None, 1.0, ())
    torch.testing.assert_close(
        dispatch.apply(hidden, weight, *args)[0], trl_compat.TorchLogProbs.apply(hidden, weight, *args)[0]
    )
    monkeypatch.setattr(trl_compat, "KERNEL_DEVICES", ("meta",))
    with pytest.raises(RuntimeError, match="0 active drivers"):
        dispatch.apply(hidden.to("meta"), weight.to("meta"), *args)


def test_trl_without_triton_gets_the_torch_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from trl.trainer import utils

    from argen_train import trl_compat

    monkeypatch.setattr(utils, "_ChunkedLogProbFunction", None)
    dispatch = trl_compat.install()
    assert dispatch.kernel is None
    hidden, weight, targets = torch.randn(4, 8), torch.randn(20, 8), torch.randint(0, 20, (4,))
    logprobs = dispatch.apply(hidden, weight, None, targets, 1.0, 4096, None, 1.0, ())[0]
    torch.testing.assert_close(logprobs, torch.log_softmax(hidden @ weight.T, -1)[torch.arange(4), targets])


def test_reward_phase_takes_one_judge_latency(tmp_path: Path) -> None:
    """64 completions against a stub judge that sleeps 1 s: the reward phase is ~one latency, not 64.

    The latency is long against the ~0.2 s it takes a loaded 2-core machine to issue 64 requests, so
    that "all in flight together" does not depend on how busy the machine is."""
    latency = 1.0
    with StubJudgeServer(StubBehaviour(latency_s=latency)) as server:
        result = measure(server, completions=64, repeats=1)
    assert result.requests == 64, "one judge request per completion, none for the component columns"
    assert result.max_in_flight == 64, "all of a step's requests in flight together"
    assert result.seconds < 1.5 * latency + 1.0
    assert result.errors == 0
