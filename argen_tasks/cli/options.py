"""Judge/policy command-line options shared by every argen CLI."""

from __future__ import annotations

import argparse
import os

from argen_tasks import config as cfg
from argen_tasks.config import ScoringConfig

_ENV_FOR_ARG = {
    "judge": cfg.ENV_JUDGE,
    "policy": cfg.ENV_POLICY,
    "judge_cache": cfg.ENV_CACHE,
    "judge_concurrency": cfg.ENV_CONCURRENCY,
    "judge_timeout": cfg.ENV_TIMEOUT,
    "judge_base_url": "OPENAI_BASE_URL",
    "judge_api_key": "OPENAI_API_KEY",
}


def add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("judge and policy")
    group.add_argument("--judge", help=f"'local' or 'openai:MODEL' (env {cfg.ENV_JUDGE}; default: local)")
    group.add_argument("--policy", metavar="DIR", help=f"Rego policy directory (env {cfg.ENV_POLICY}; default: packaged)")
    group.add_argument("--judge-base-url", metavar="URL", help="OpenAI-compatible base URL (env OPENAI_BASE_URL)")
    group.add_argument("--judge-api-key", metavar="KEY", help="API key (env OPENAI_API_KEY); never logged")
    group.add_argument("--judge-cache", metavar="PATH", help=f"verdict cache, or 'off' (env {cfg.ENV_CACHE})")
    group.add_argument("--judge-concurrency", type=int, metavar="N", help=f"requests in flight (env {cfg.ENV_CONCURRENCY})")
    group.add_argument("--judge-timeout", type=float, metavar="S", help=f"per-request timeout (env {cfg.ENV_TIMEOUT})")


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
