"""A stub OpenAI-compatible judge server, for injecting latency, rate limits and faults.

It is not a judge: every successful reply is the same fixed verdict. Tests and benchmarks use it
to exercise the client side of the ``openai:`` backend (retries, ``Retry-After``, timeouts,
malformed replies, the json_schema fallback, concurrency, crash safety) on 127.0.0.1 only. Real
judging is tested against llama.cpp's server.

In-process: ``with StubJudgeServer(StubBehaviour(...)) as server: server.base_url``. In its own
process (so that its threads do not share a GIL with the client being measured)::

    python tests/stub_judge_server.py --latency 0.5 --fault-rate 0.2

prints the base URL on its first line and serves its counts as JSON at ``GET /stats``.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, get_args

Fault = Literal[
    "ok",
    "rate_limit",
    "server_error",
    "unavailable",
    "reset",
    "hang",
    "html",
    "truncated",
    "malformed",
    "wrong_types",
    "out_of_range",
    "empty",
    "unauthorized",
]

TRANSIENT_FAULTS: tuple[Fault, ...] = tuple(f for f in get_args(Fault) if f not in ("ok", "unauthorized"))
"""Every kind a real server or proxy produces now and then; all of them must end in a retry."""

FIXED_VERDICT = {
    "rationale": "stub verdict",
    "dharma_violation": False,
    "over_refusal": False,
    "ahimsa_violation": False,
    "dharma_score": 1.0,
    "ahimsa_score": 1.0,
    "helpfulness_score": 0.75,
}

WRONG_TYPES_VERDICT = FIXED_VERDICT | {"rationale": "FAULT", "dharma_violation": "no", "helpfulness_score": True}
"""Shaped like a verdict, but a string for a flag and a boolean for a grade."""
OUT_OF_RANGE_VERDICT = FIXED_VERDICT | {"rationale": "FAULT", "dharma_score": 1.5, "ahimsa_score": -0.25}


def spread(total_rate: float, kinds: tuple[Fault, ...] = TRANSIENT_FAULTS) -> dict[Fault, float]:
    """``total_rate`` of requests faulted, spread evenly over ``kinds``."""
    return {kind: total_rate / len(kinds) for kind in kinds}


@dataclass
class StubBehaviour:
    latency_s: float = 0.0
    """Added to every request before it is answered."""
    plan: Callable[[int], Fault] | None = None
    """Fault for the n-th request (0-based, counted across the server's life); overrides ``fault_rates``."""
    fault_rates: Mapping[Fault, float] = field(default_factory=dict)
    """Independent chance per request of each fault kind (see :func:`spread`)."""
    seed: int = 0
    retry_after_s: float | None = None
    """Sent as ``Retry-After`` with rate-limit replies."""
    reject_json_schema: bool = False
    """Answer 500 naming ``response_format`` to ``json_schema``, as llama.cpp's server does."""
    hang_s: float = 30.0
    """How long a ``hang`` holds the request before answering (set it past the client's timeout)."""
    keep_bodies: bool = True
    """Keep every request body in :attr:`requests` (off for load runs)."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    """Every request body received, with its arrival time under ``_t``."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a whole batch connects at once; the default backlog (5) drops connections


class StubJudgeServer:
    """``with StubJudgeServer(behaviour) as server: server.base_url``

    Counts requests (``total``, per fault kind in ``faults``), requests in flight (``in_flight``,
    ``max_in_flight``), and the user turns that got a valid verdict (``answered``), which is how a
    caller tells a real verdict from a fabricated one.
    """

    def __init__(self, behaviour: StubBehaviour | None = None, port: int = 0) -> None:
        self.behaviour = behaviour or StubBehaviour()
        self.total = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.faults: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._random = random.Random(self.behaviour.seed)
        self._server = _Server(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "faults": dict(self.faults),
                "answered": sum(self.answered.values()),
            }

    def reset_counts(self) -> None:
        with self._lock:
            self.total = self.max_in_flight = 0
            self.faults.clear()
            self.answered.clear()
            self.behaviour.requests.clear()

    def __enter__(self) -> StubJudgeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _arrive(self, body: dict[str, Any]) -> Fault:
        behaviour = self.behaviour
        with self._lock:
            index = self.total
            self.total += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if behaviour.keep_bodies:
                behaviour.requests.append(body | {"_t": time.perf_counter()})
            fault = behaviour.plan(index) if behaviour.plan else self._draw()
            self.faults[fault] += 1
        return fault

    def _draw(self) -> Fault:
        roll = self._random.random()
        for kind, rate in self.behaviour.fault_rates.items():
            if roll < rate:
                return kind
            roll -= rate
        return "ok"

    def _leave(self, body: dict[str, Any], answered: bool) -> None:
        with self._lock:
            self.in_flight -= 1
            if answered:
                self.answered[_user_turn(body)] += 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/stats":
                    return _send(self, 200, json.dumps(stub.stats()).encode())
                _send(self, 404, b"{}")

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                fault = stub._arrive(body)
                answered = False
                try:
                    time.sleep(stub.behaviour.latency_s)
                    answered = stub._answer(self, body, fault)
                finally:
                    stub._leave(body, answered)

        return Handler

    def _answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any], fault: Fault) -> bool:
        """Send the reply for ``fault``; True when it was a valid verdict that reached the client."""
        behaviour = self.behaviour
        model = body.get("model", "stub")
        wants_schema = (body.get("response_format") or {}).get("type") == "json_schema"
        if behaviour.reject_json_schema and wants_schema:
            message = "1 validation error: ('body', 'response_format', 'type') Input should be 'text' or 'json_object'"
            return _send_error(handler, 500, message)
        if fault == "rate_limit":
            headers = {"retry-after": str(behaviour.retry_after_s)} if behaviour.retry_after_s is not None else {}
            return _send_error(handler, 429, "rate limited", headers)
        if fault == "unauthorized":
            return _send_error(handler, 401, "invalid api key")
        if fault == "server_error":
            return _send_error(handler, 500, "internal error")
        if fault == "unavailable":
            return _send_error(handler, 503, "overloaded")
        if fault == "reset":
            return _reset(handler)
        if fault == "html":
            return _send(handler, 200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        if fault == "empty":
            return _send(handler, 200, b"")
        if fault == "truncated":
            whole = json.dumps(_completion(model, json.dumps(FIXED_VERDICT))).encode()
            return _send(handler, 200, whole[: len(whole) // 2])
        if fault == "hang":
            time.sleep(behaviour.hang_s)
        content = {
            "malformed": "this is not json",
            "wrong_types": json.dumps(WRONG_TYPES_VERDICT),
            "out_of_range": json.dumps(OUT_OF_RANGE_VERDICT),
        }.get(fault, json.dumps(FIXED_VERDICT))
        sent = _send(handler, 200, json.dumps(_completion(model, content)).encode())
        return sent and fault == "ok"


def _user_turn(body: dict[str, Any]) -> str:
    messages = body.get("messages") or [{}]
    return str(messages[-1].get("content", ""))


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _send_error(handler: BaseHTTPRequestHandler, status: int, message: str, headers: dict[str, str] | None = None) -> bool:
    _send(handler, status, json.dumps({"error": {"message": message}}).encode(), headers=headers)
    return False


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    data: bytes,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> bool:
    try:
        handler.send_response(status)
        handler.send_header("content-type", content_type)
        handler.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True  # the client gave up (e.g. its timeout fired)
        return False


def _reset(handler: BaseHTTPRequestHandler) -> bool:
    """Drop the connection with a TCP RST instead of a reply."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of requests faulted, over every kind")
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After of 429 replies (s)")
    parser.add_argument("--hang", type=float, default=30.0, help="how long a hang holds a request (s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    behaviour = StubBehaviour(
        latency_s=args.latency, fault_rates=spread(args.fault_rate), seed=args.seed,
        retry_after_s=args.retry_after, hang_s=args.hang, keep_bodies=False,
    )  # fmt: skip
    with StubJudgeServer(behaviour, port=args.port) as server:
        print(server.base_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            sys.exit(0)


if __name__ == "__main__":
    main()
