"""A stub OpenAI-compatible judge server, for injecting latency, rate limits and faults.

It is not a judge: every successful reply is the same fixed verdict. Tests and benchmarks use it
to exercise the client side of the ``openai:`` backend (retries, ``Retry-After``, timeouts,
malformed replies, the json_schema fallback, concurrency) on 127.0.0.1 only. Real judging is
tested against llama.cpp's server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Fault = Literal["ok", "rate_limit", "server_error", "unauthorized", "malformed", "hang"]

FIXED_VERDICT = {
    "rationale": "stub verdict",
    "dharma_violation": False,
    "over_refusal": False,
    "ahimsa_violation": False,
    "dharma_score": 1.0,
    "ahimsa_score": 1.0,
    "helpfulness_score": 0.75,
}


@dataclass
class StubBehaviour:
    latency_s: float = 0.0
    """Added to every request before it is answered."""
    plan: Callable[[int], Fault] = lambda _: "ok"
    """Fault for the n-th request (0-based, counted across the server's life)."""
    retry_after_s: float | None = None
    """Sent as ``Retry-After`` with rate-limit replies."""
    reject_json_schema: bool = False
    """Answer 500 to ``response_format.type == json_schema``, as llama.cpp's server does."""
    hang_s: float = 30.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    """Every request body received, with its arrival time under ``_t``."""


class StubJudgeServer:
    """``with StubJudgeServer(behaviour) as server: server.base_url``"""

    def __init__(self, behaviour: StubBehaviour | None = None) -> None:
        self.behaviour = behaviour or StubBehaviour()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> StubJudgeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                with stub._lock:
                    index = len(stub.behaviour.requests)
                    stub.behaviour.requests.append(body | {"_t": time.perf_counter()})
                time.sleep(stub.behaviour.latency_s)
                stub._answer(self, body, stub.behaviour.plan(index))

        return Handler

    def _answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any], fault: Fault) -> None:
        behaviour = self.behaviour
        wants_schema = (body.get("response_format") or {}).get("type") == "json_schema"
        if behaviour.reject_json_schema and wants_schema:
            return _send(handler, 500, {"error": {"message": "response_format json_schema is not supported"}})
        if fault == "rate_limit":
            headers = {"retry-after": str(behaviour.retry_after_s)} if behaviour.retry_after_s is not None else {}
            return _send(handler, 429, {"error": {"message": "rate limited"}}, headers)
        if fault == "unauthorized":
            return _send(handler, 401, {"error": {"message": "invalid api key"}})
        if fault == "server_error":
            return _send(handler, 503, {"error": {"message": "overloaded"}})
        if fault == "hang":
            time.sleep(behaviour.hang_s)
        content = "this is not json" if fault == "malformed" else json.dumps(FIXED_VERDICT)
        _send(handler, 200, _completion(body.get("model", "stub"), content))


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    data = json.dumps(payload).encode()
    try:
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (e.g. its timeout fired); nothing to answer
