"""The scoring API: judge a batch of pairs and apply the policy.

lm-eval's filter, ``argen-judge``, the GRPO reward and the report all call :meth:`Scorer.score`
(or its sync twin); nothing else re-implements judging, caching or the policy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Iterable, Sequence
from functools import cache
from typing import Any, TypeVar

from argen_tasks.cache import JudgeCache, cache_key, default_cache_path
from argen_tasks.config import ScoringConfig
from argen_tasks.judges import Judge, JudgeOutcome, JudgeRequest, make_judge
from argen_tasks.judges.base import Progress, StreamingJudge
from argen_tasks.policy import Policy, load_policy
from argen_tasks.rubric import RUBRIC_VERSION
from argen_tasks.verdict import JudgeVerdict, Provenance, Verdict

T = TypeVar("T")


ScoreItem = JudgeRequest
"""A pair to score is exactly what a judge is asked: prompt, response and the prompt's tier (``None``
when unknown; the policy then exempts nothing)."""


class Scorer:
    """A judge, a policy and a cache: everything that turns pairs into verdicts and rewards."""

    def __init__(self, judge: Judge, policy: Policy, cache: JudgeCache | None = None) -> None:
        self.judge = judge
        self.policy = policy
        self.cache = cache
        self.provenance = Provenance(judge.id, RUBRIC_VERSION, policy.hash)
        """What makes two sets of results comparable; recorded in every results file and verdict."""
        self._stamp = self.provenance.to_dict()

    async def score(self, items: Sequence[ScoreItem], progress: Progress | None = None) -> list[Verdict]:
        """One verdict per item, in order. Identical pairs are judged once; cached pairs not at all."""
        keys = [cache_key(self.judge.id, RUBRIC_VERSION, item.prompt, item.response, item.tier) for item in items]
        unique = dict(zip(keys, items))
        cached = self.cache.get_many(list(unique)) if self.cache is not None else {}
        todo = [key for key in unique if key not in cached]
        hits = sum(key in cached for key in keys)
        if progress and hits:
            progress(hits)
        fresh = await self._judge(todo, unique, progress)
        if progress and (copies := len(keys) - hits - len(todo)):
            progress(copies)
        return [self._verdict(item, cached.get(key), fresh.get(key)) for key, item in zip(keys, items)]

    def score_sync(self, items: Sequence[ScoreItem], progress: Progress | None = None) -> list[Verdict]:
        """:meth:`score` for synchronous callers, also safe inside a running event loop."""
        return run_sync(self.score(items, progress))

    async def _judge(
        self, todo: list[str], unique: dict[str, ScoreItem], progress: Progress | None
    ) -> dict[str, JudgeOutcome]:
        if not todo:
            return {}
        requests = [unique[key] for key in todo]
        if not isinstance(self.judge, StreamingJudge):
            fresh = dict(zip(todo, await self.judge.judge_many(requests, progress)))
            self._keep(fresh.items())
            return fresh
        streamed: dict[str, JudgeOutcome] = {}
        async for index, outcome in self.judge.judge_each(requests, progress):
            streamed[todo[index]] = outcome
            self._keep([(todo[index], outcome)])
        return streamed

    def _keep(self, outcomes: Iterable[tuple[str, JudgeOutcome]]) -> None:
        """Cache the verdicts among ``outcomes``; failures are not cached, so they are retried next time."""
        if self.cache is not None:
            verdicts = [(key, outcome.verdict) for key, outcome in outcomes if outcome.verdict is not None]
            self.cache.put_many(self.judge.id, RUBRIC_VERSION, verdicts)

    def _verdict(self, item: ScoreItem, hit: JudgeVerdict | None, outcome: JudgeOutcome | None) -> Verdict:
        judged = hit or (outcome.verdict if outcome else None)
        latency = None if hit or outcome is None else outcome.latency_s
        if judged is None:
            error = outcome.error if outcome else "no verdict"
            return Verdict(**self._stamp, error=error, latency_s=latency)
        fields = judged.model_dump()
        rationale = fields.pop("rationale")
        decision = self.policy.evaluate(item.tier, fields)
        return Verdict(
            **self._stamp,
            **fields,
            reward=decision.reward,
            components=decision.components,
            violations=decision.violations,
            rationale=rationale,
            cached=hit is not None,
            latency_s=latency,
        )


@cache
def get_scorer(config: ScoringConfig) -> Scorer:
    """The process-wide scorer for ``config``: judge loaded, policy compiled and cache opened once."""
    policy = load_policy(config.policy)
    judge = make_judge(config)
    if config.cache == "off":
        store = None
    else:
        store = JudgeCache(config.cache or default_cache_path())
    return Scorer(judge, policy, store)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code, even when called from inside a running loop
    (Jupyter, TRL's reward loop): then it runs on a fresh loop in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
