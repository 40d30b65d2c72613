"""Judges: ``local`` (embedded, offline) and ``openai:MODEL`` (any OpenAI-compatible server)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from argen_tasks.config import HOW_TO_CONFIGURE, JudgeNotConfigured, ScoringConfig
from argen_tasks.judges.base import Judge, JudgeOutcome, JudgeRequest
from argen_tasks.secrets import redact_url


def make_judge(config: ScoringConfig) -> Judge:
    spec = config.judge
    if spec == "local":
        from argen_tasks.judges.local.judge import LocalJudge

        return LocalJudge.load()
    if spec.startswith("openai:") and spec.removeprefix("openai:"):
        from argen_tasks.judges.openai_compat import OpenAIJudge, OpenAIJudgeOptions

        _check_openai_settings(config)
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


def _check_openai_settings(config: ScoringConfig) -> None:
    """Configuration an ``openai:`` judge cannot run without, checked before any pair is sent: a missing key
    or a malformed URL would otherwise fail every request, after the model had generated everything."""
    if not (config.api_key or os.environ.get("OPENAI_API_KEY")):
        raise JudgeNotConfigured(
            f"judge {config.judge!r} needs an API key: set OPENAI_API_KEY (or pass --judge-api-key); a local "
            "server that checks none (llama.cpp, vLLM) accepts any value, e.g. OPENAI_API_KEY=none"
        )
    if config.base_url is None:
        return
    try:
        parts = urlsplit(config.base_url)
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number in range)
    except ValueError as exc:
        raise JudgeNotConfigured(f"judge base URL {redact_url(config.base_url)!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise JudgeNotConfigured(
            f"judge base URL {redact_url(config.base_url)!r} must be http(s)://HOST[:PORT]/PATH, e.g. "
            "http://127.0.0.1:8080/v1 (set --judge-base-url or OPENAI_BASE_URL)"
        )


__all__ = ["Judge", "JudgeNotConfigured", "JudgeOutcome", "JudgeRequest", "make_judge"]
