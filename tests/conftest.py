"""Shared fixtures: an isolated argen cache per test session and a real llama.cpp judge server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from llama_server import llama_server as serve_llama

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reads the user's judge configuration or writes the user's verdict cache, and what
    code under test writes to ``os.environ`` (training sets ``WANDB_*``) does not reach the next test."""
    saved = dict(os.environ)
    for name in ("ARGEN_JUDGE", "ARGEN_POLICY", "OPENAI_BASE_URL", "OPENAI_API_KEY", "ARGEN_JUDGE_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARGEN_JUDGE_CACHE", str(tmp_path / "judge-cache.sqlite"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server serving the embedded SmolLM2 GGUF on loopback."""
    with serve_llama(tmp_path_factory.mktemp("llama") / "server.log") as base_url:
        yield base_url
