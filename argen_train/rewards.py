"""GRPO reward functions over the scoring API: one judge request per completion, one batch per step.

TRL awaits every ``async`` reward function of a step together on its event loop. All four
functions here ask :meth:`JudgeRewards.verdicts` for the step's verdicts; the first one to ask
starts a single :meth:`Scorer.score` call for the whole batch (every request in flight at once,
up to the judge's concurrency) and the others await that same task, so the component columns
cost no extra judge calls.

Weighting and normalisation:

* ``policy_reward`` (weight 1) is the Rego policy's ``reward``, the number the benchmark reports
  as ``reward``. It alone drives the update. Re-weighting dharma/ahimsa/helpfulness here would
  train on a different objective than the one the policy (and the benchmark) defines; the weights
  and the caps (a violation zeroes its component; an unsafe answer is capped) live in the policy.
* ``dharma_score``, ``ahimsa_score``, ``helpfulness_score`` (weight 0) are the judge's graded
  scores under the benchmark's metric names, logged per step and in the completions table only.
  A weight of 0 adds ``0 * value`` to TRL's ``nansum``, so they never move the policy.
* Advantages are group-centred (GRPO) and not divided by a standard deviation
  (``scale_rewards="none"``): dividing gives every group the same push whatever its spread, so
  groups the judge barely tells apart (mixed prompts early in training: a capped over-refusal
  against an off-scope answer) outweigh in-domain groups that hold a real answer and a refusal:
  the push that spreads declines to health questions (``argen-advantages``).
* A completion without a verdict returns ``None`` from every function: TRL drops it from the
  group baseline and gives it advantage 0, never a made-up score.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from argen_tasks.metrics import judge_stats
from argen_tasks.scoring import ScoreItem, Scorer
from argen_tasks.verdict import JUDGE_FLAGS, Verdict
from argen_train.data import completion_text, prompt_text

LogMetric = Callable[[str, float], None]
LogExtra = Callable[[str, list[Any]], None]


class JudgeErrorRateExceeded(RuntimeError):
    """Too many completions got no verdict: the judge is down or misconfigured, so stop training."""


def check_error_rate(verdicts: Sequence[Verdict], limit: float, where: str) -> None:
    """Raise :class:`JudgeErrorRateExceeded` with the first error when too many verdicts are missing."""
    failed = [v for v in verdicts if v.error is not None]
    rate = len(failed) / max(1, len(verdicts))
    if rate > limit:
        raise JudgeErrorRateExceeded(
            f"judge error rate {rate:.0%} ({len(failed)} of {len(verdicts)} completions without a verdict) {where} "
            f"is above max_judge_error_rate {limit:.0%}. First error: {failed[0].error}\n"
            "Check the judge (--judge, --judge-base-url / OPENAI_BASE_URL, --judge-timeout); "
            "continue from the last checkpoint with --resume."
        )


class JudgeRewards:
    """The reward functions of a run, sharing one scoring call per step."""

    def __init__(self, scorer: Scorer, max_error_rate: float) -> None:
        self.scorer = scorer
        self.max_error_rate = max_error_rate
        self._batch: tuple[list[Any], asyncio.Future[list[Verdict]]] | None = None

    @property
    def functions(self) -> list[Callable[..., Any]]:
        return [self.policy_reward, self.dharma_score, self.ahimsa_score, self.helpfulness_score]

    @property
    def weights(self) -> list[float]:
        """TRL ``reward_weights``, aligned with :attr:`functions`: only the policy's reward trains."""
        return [1.0, 0.0, 0.0, 0.0]

    async def policy_reward(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        return [v.reward for v in await self.verdicts(prompts, completions, **kwargs)]

    async def dharma_score(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        return [v.dharma_score for v in await self.verdicts(prompts, completions, **kwargs)]

    async def ahimsa_score(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        return [v.ahimsa_score for v in await self.verdicts(prompts, completions, **kwargs)]

    async def helpfulness_score(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        return [v.helpfulness_score for v in await self.verdicts(prompts, completions, **kwargs)]

    async def verdicts(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[Verdict]:
        """The step's verdicts, scored once however many reward functions ask.

        TRL passes the same ``completions`` list to every reward function of a step, and this object
        keeps it alive while it is the current batch, so identity is a safe key.
        """
        if self._batch is None or self._batch[0] is not completions:
            task = asyncio.ensure_future(self._score(prompts, completions, **kwargs))
            self._batch = (completions, task)
        return await self._batch[1]

    async def _score(
        self,
        prompts: list[Any],
        completions: list[Any],
        tier: list[str | None] | None = None,
        log_metric: LogMetric | None = None,
        log_extra: LogExtra | None = None,
        trainer_state: Any = None,
        **_: Any,
    ) -> list[Verdict]:
        tiers = tier or [None] * len(prompts)
        items = [ScoreItem(prompt_text(p), completion_text(c), t) for p, c, t in zip(prompts, completions, tiers)]
        start = time.perf_counter()
        verdicts = await self.scorer.score(items)
        elapsed = time.perf_counter() - start
        if log_metric:
            for name, value in judge_stats(verdicts, elapsed).items():
                log_metric(f"judge/{name}", value)
            judged = [v for v in verdicts if v.error is None]
            for flag in JUDGE_FLAGS if judged else ():
                log_metric(f"verdict/{flag}", sum(bool(getattr(v, flag)) for v in judged) / len(judged))
        if log_extra:
            log_extra("violations", [", ".join(v.violations) for v in verdicts])
            log_extra("judge_error", [v.error or "" for v in verdicts])
        step = trainer_state.global_step + 1 if trainer_state is not None else "?"
        check_error_rate(verdicts, self.max_error_rate, f"at step {step}")
        return verdicts
