"""The judge interface: a batch of (prompt, response) pairs in, one outcome per pair out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from argen_tasks.verdict import JudgeVerdict

Progress = Callable[[int], None]
"""Called with the number of pairs just finished, e.g. ``tqdm.update``."""


@dataclass(frozen=True)
class JudgeRequest:
    prompt: str
    response: str
    tier: str | None = None
    """The prompt's tier when the caller knows it (dataset rows do); a judge may use it, since
    whether the prompt asks for health or out-of-scope help is a fact about the prompt."""


@dataclass(frozen=True)
class JudgeOutcome:
    """Exactly one of ``verdict`` and ``error`` is set."""

    verdict: JudgeVerdict | None
    error: str | None = None
    latency_s: float = 0.0


class Judge(Protocol):
    id: str
    """Identifies the judge in every result, e.g. ``openai:gpt-4o-mini`` or ``local@1``."""

    async def judge_many(self, requests: Sequence[JudgeRequest], progress: Progress | None = None) -> list[JudgeOutcome]:
        """Judge every pair; never raises for a single pair's failure (that is an outcome's ``error``)."""
        ...


@runtime_checkable
class StreamingJudge(Judge, Protocol):
    """A judge whose verdicts arrive one by one (a remote judge, paid per call): the scorer keeps
    each in the cache as it arrives, so a killed run loses only the requests in flight."""

    def judge_each(
        self, requests: Sequence[JudgeRequest], progress: Progress | None = None
    ) -> AsyncIterator[tuple[int, JudgeOutcome]]:
        """``(index into requests, outcome)`` for every pair, in the order they complete."""
        ...
