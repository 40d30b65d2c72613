"""llama.cpp's OpenAI-compatible server serving the embedded SmolLM2 GGUF on loopback: the real LLM
judge of the protocol tests (``conftest.py``) and of ``benchmarks/injection.py``."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from argen_tasks.models import gguf_path

MODEL_ALIAS = "smollm2"
"""The model name the server answers to: the judge spec is ``openai:smollm2``."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def llama_server(log: Path) -> Iterator[str]:
    """The server's base URL (up to ``/v1``) while it runs; its output goes to ``log``."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path("smollm2-135m-instruct")),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--model_alias", MODEL_ALIAS],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_up(base_url, process, log)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise TimeoutError(f"llama.cpp server did not come up in {timeout_s} s:\n{log.read_text()[-2000:]}")
