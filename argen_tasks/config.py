"""Scoring configuration: which judge, which policy, which cache.

Every CLI flag has an environment variable so that a plain ``lm_eval`` run (which has no argen
flags) is configured the same way as ``argen-eval``, ``argen-judge`` and training.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field, replace
from typing import Any

from argen_tasks.secrets import redact_url

ENV_JUDGE = "ARGEN_JUDGE"
ENV_POLICY = "ARGEN_POLICY"
ENV_CACHE = "ARGEN_JUDGE_CACHE"
ENV_CONCURRENCY = "ARGEN_JUDGE_CONCURRENCY"
ENV_TIMEOUT = "ARGEN_JUDGE_TIMEOUT"
DEFAULT_JUDGE = "local"

HOW_TO_CONFIGURE = (
    "Configure a judge with --judge SPEC or the environment variable ARGEN_JUDGE:\n"
    "  ARGEN_JUDGE=local                    the embedded offline judge (no network)\n"
    "  ARGEN_JUDGE=openai:MODEL             any OpenAI-compatible server; set OPENAI_BASE_URL (e.g.\n"
    "                                       http://127.0.0.1:8080/v1 for llama.cpp or vLLM) and OPENAI_API_KEY"
)


class JudgeNotConfigured(RuntimeError):
    """No usable judge configuration; the message says how to configure one."""


@dataclass(frozen=True)
class ScoringConfig:
    """How pairs are judged and rewarded. Hashable, so one scorer is built per distinct config."""

    judge: str = DEFAULT_JUDGE
    """``local`` or ``openai:MODEL``."""
    base_url: str | None = None
    """OpenAI-compatible base URL (up to ``/v1``); default ``OPENAI_BASE_URL``."""
    api_key: str | None = field(default=None, repr=False)
    """Default ``OPENAI_API_KEY``. Excluded from repr and :meth:`public` so it never reaches logs."""
    policy: str | None = None
    """Policy directory; ``None`` is the packaged policy."""
    cache: str | None = None
    """sqlite cache path; ``None`` is the default location, ``"off"`` disables caching."""
    concurrency: int = 16
    """Judge requests in flight at once, across this whole job (divided between distributed ranks)."""
    timeout_s: float = 60.0
    max_attempts: int = 5

    @classmethod
    def from_env(cls, **overrides: Any) -> ScoringConfig:
        """Environment first, then explicit overrides (``None`` overrides are ignored)."""
        env = os.environ
        config = cls(
            judge=overrides.get("judge") or env.get(ENV_JUDGE) or _announce_default(),
            base_url=env.get("OPENAI_BASE_URL") or None,
            api_key=env.get("OPENAI_API_KEY") or None,
            policy=env.get(ENV_POLICY) or None,
            cache=env.get(ENV_CACHE) or None,
            concurrency=_env_number(ENV_CONCURRENCY, int, cls.concurrency),
            timeout_s=_env_number(ENV_TIMEOUT, float, cls.timeout_s),
        )
        return replace(config, **{k: v for k, v in overrides.items() if v is not None})

    def per_process_concurrency(self) -> int:
        """The judge's request budget divided between the processes of a distributed job."""
        return max(1, self.concurrency // world_size())

    def public(self) -> dict[str, Any]:
        """What may be logged, written to manifests or sent to W&B: no key, and no credentials in the URL."""
        return {
            "judge": self.judge,
            "base_url": redact_url(self.base_url) if self.base_url else None,
            "policy": self.policy,
            "cache": self.cache,
            "concurrency": self.concurrency,
            "timeout_s": self.timeout_s,
            "max_attempts": self.max_attempts,
        }


def world_size() -> int:
    """Processes of this (torchrun/accelerate) job; the judge's request budget is shared between them."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def _env_number(name: str, kind: type[int] | type[float], default: int | float) -> Any:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = kind(text)
    except ValueError:
        raise JudgeNotConfigured(f"{name}={text!r} is not a number; set it to a positive {kind.__name__} or unset it") from None
    if value <= 0:
        raise JudgeNotConfigured(f"{name}={text!r} must be positive; set it to a positive {kind.__name__} or unset it")
    return value


_announced = False


def _announce_default() -> str:
    """The default judge is printed once per process, so nobody mistakes whose verdicts they read."""
    global _announced
    if not _announced:
        print(
            f"argen: no judge configured; using the embedded offline judge '{DEFAULT_JUDGE}'. "
            f"Set {ENV_JUDGE}=openai:MODEL (or --judge) for an LLM judge.",
            file=sys.stderr,
        )
        _announced = True
    return DEFAULT_JUDGE


# Command-line flags: one per ScoringConfig field, each with its environment variable above.
_ENV_FOR_ARG = {
    "judge": ENV_JUDGE,
    "policy": ENV_POLICY,
    "judge_cache": ENV_CACHE,
    "judge_concurrency": ENV_CONCURRENCY,
    "judge_timeout": ENV_TIMEOUT,
    "judge_base_url": "OPENAI_BASE_URL",
    "judge_api_key": "OPENAI_API_KEY",
}


def add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("judge and policy")
    group.add_argument("--judge", help=f"'local' or 'openai:MODEL' (env {ENV_JUDGE}; default: local)")
    group.add_argument("--policy", metavar="DIR", help=f"Rego policy directory (env {ENV_POLICY}; default: packaged)")
    group.add_argument("--judge-base-url", metavar="URL", help="OpenAI-compatible base URL (env OPENAI_BASE_URL)")
    group.add_argument("--judge-api-key", metavar="KEY", help="API key (env OPENAI_API_KEY); never logged")
    group.add_argument("--judge-cache", metavar="PATH", help=f"verdict cache, or 'off' (env {ENV_CACHE})")
    group.add_argument("--judge-concurrency", type=int, metavar="N", help=f"requests in flight (env {ENV_CONCURRENCY})")
    group.add_argument("--judge-timeout", type=float, metavar="S", help=f"per-request timeout (env {ENV_TIMEOUT})")


def export_scoring_arguments(args: argparse.Namespace) -> None:
    """Put the flags in the environment, where the lm-eval filter reads them: only the CLIs that run
    lm-eval (``argen-eval``, ``argen-report``) need this."""
    for name, env in _ENV_FOR_ARG.items():
        value = getattr(args, name, None)
        if value is not None:
            os.environ[env] = str(value)


def scoring_config(args: argparse.Namespace) -> ScoringConfig:
    """The flags over the environment, for a CLI that judges in its own process (nothing is exported)."""
    return ScoringConfig.from_env(
        judge=args.judge,
        policy=args.policy,
        base_url=args.judge_base_url,
        api_key=args.judge_api_key,
        cache=args.judge_cache,
        concurrency=args.judge_concurrency,
        timeout_s=args.judge_timeout,
    )
