"""Judges: ``local`` (embedded, offline) and ``openai:MODEL`` (any OpenAI-compatible server)."""

from __future__ import annotations

from argen_tasks.config import HOW_TO_CONFIGURE, ScoringConfig
from argen_tasks.judges.base import Judge, JudgeNotConfigured, JudgeOutcome, JudgeRequest


def make_judge(config: ScoringConfig) -> Judge:
    spec = config.judge
    if spec == "local":
        from argen_tasks.judges.local import LocalJudge

        return LocalJudge.load()
    if spec.startswith("openai:") and spec.removeprefix("openai:"):
        from argen_tasks.judges.openai_compat import OpenAIJudge, OpenAIJudgeOptions

        return OpenAIJudge(
            OpenAIJudgeOptions(
                model=spec.removeprefix("openai:"),
                base_url=config.base_url,
                api_key=config.api_key,
                concurrency=config.per_process_concurrency(),
                timeout_s=config.timeout_s,
                max_attempts=config.max_attempts,
            )
        )
    raise JudgeNotConfigured(f"unknown judge {spec!r}.\n{HOW_TO_CONFIGURE}")


__all__ = ["Judge", "JudgeNotConfigured", "JudgeOutcome", "JudgeRequest", "make_judge"]
