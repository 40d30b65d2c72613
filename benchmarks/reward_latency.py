"""Benchmark: the GRPO reward phase costs about one judge latency, whatever the number of completions.

A stub judge (an OpenAI-compatible ``/v1/chat/completions`` on 127.0.0.1 that sleeps ``L`` seconds
and returns a fixed, valid verdict: it only adds latency) stands in for an LLM judge. The reward
phase is timed exactly as TRL runs it: ``GRPOTrainer._calculate_rewards`` of a real trainer (a tiny
random model; no generation happens) with argen's reward functions, the real scorer and the real
OpenAI judge client, cache off. The target is at most ``1.5 L`` plus local overhead.

    .venv/bin/python benchmarks/reward_latency.py --latency 0.5 --completions 8 32 128
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STUB_VERDICT = {
    "rationale": "Stub judge: fixed verdict, only adds latency.",
    "dharma_violation": False,
    "over_refusal": False,
    "ahimsa_violation": False,
    "dharma_score": 1.0,
    "ahimsa_score": 1.0,
    "helpfulness_score": 0.75,
}
TIERS = ("in", "out", "mixed")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a whole step connects at once; the default backlog (5) drops connections


class StubJudgeServer:
    """A stub OpenAI-compatible judge on 127.0.0.1 that sleeps ``latency_s`` per request.

    Counts requests and the most requests it held at once, which shows whether a step's
    requests really were in flight together.
    """

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.requests = 0
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def reset(self) -> None:
        with self._lock:
            self.requests = self.max_in_flight = 0

    def __enter__(self) -> StubJudgeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if not self.path.endswith("/chat/completions") or "messages" not in body:
                    self.send_error(404)
                    return
                with stub._lock:
                    stub.requests += 1
                    stub._in_flight += 1
                    stub.max_in_flight = max(stub.max_in_flight, stub._in_flight)
                try:
                    time.sleep(stub.latency_s)
                finally:
                    with stub._lock:
                        stub._in_flight -= 1
                reply = json.dumps(
                    {
                        "id": f"stub-{uuid.uuid4().hex[:8]}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "stub"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": json.dumps(STUB_VERDICT)},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


@dataclass(frozen=True)
class Result:
    completions: int
    latency_s: float
    seconds: float
    """Worst reward phase over the repeats."""
    median_s: float
    requests: int
    """Judge requests per step (the stub's count for one step)."""
    max_in_flight: int
    errors: int


def measure(server: StubJudgeServer, completions: int, repeats: int = 3) -> Result:
    """Time TRL's reward phase for ``completions`` completions against ``server``."""
    trainer = _trainer(server, completions)
    timings, requests, in_flight, errors = [], 0, 0, 0
    for _ in range(repeats):
        inputs, prompts, answers = _batch(completions)
        server.reset()
        start = time.perf_counter()
        rewards = trainer._calculate_rewards(inputs, prompts, answers, [[0]] * completions)
        timings.append(time.perf_counter() - start)
        requests, in_flight = server.requests, server.max_in_flight
        errors = int(rewards[:, 0].isnan().sum())
    return Result(completions, server.latency_s, max(timings), statistics.median(timings), requests, in_flight, errors)


def _trainer(server: StubJudgeServer, completions: int) -> Any:
    """A GRPOTrainer whose only real part is the reward path: tiny random model, in-memory tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    from trl import GRPOConfig, GRPOTrainer

    from argen_tasks.config import ScoringConfig
    from argen_tasks.scoring import get_scorer
    from argen_train.rewards import JudgeRewards

    vocab = {"[UNK]": 0, "[PAD]": 1, "[EOS]": 2}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]"
    )
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }} {% endfor %}"
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(vocab), hidden_size=8, intermediate_size=16, num_hidden_layers=1,
            num_attention_heads=1, num_key_value_heads=1,
        )
    )
    scoring = ScoringConfig(
        judge="openai:stub-judge",
        base_url=server.base_url,
        api_key="stub",
        cache="off",
        concurrency=completions,
        timeout_s=30.0,
        max_attempts=1,
    )
    rewards = JudgeRewards(get_scorer(scoring), max_error_rate=1.0)
    args = GRPOConfig(
        output_dir=tempfile.mkdtemp(prefix="argen-reward-bench-"),
        per_device_train_batch_size=2,
        num_generations=2,
        reward_weights=rewards.weights,
        use_cpu=True,
        bf16=False,
        report_to="none",
    )
    return GRPOTrainer(
        model=model,
        reward_funcs=rewards.functions,
        args=args,
        train_dataset=_dataset(),
        processing_class=tokenizer,
    )


def _dataset() -> Any:
    from datasets import Dataset

    from argen_train.data import conversation

    return Dataset.from_list([{"prompt": conversation("stub"), "tier": "in"}] * 2)


def _batch(completions: int) -> tuple[list[dict[str, Any]], list[Any], list[Any]]:
    from argen_train.data import conversation

    nonce = uuid.uuid4().hex[:8]  # fresh pairs each repeat: nothing is deduplicated away
    prompts = [conversation(f"benchmark question {i}") for i in range(completions)]
    inputs = [{"prompt": p, "tier": TIERS[i % 3], "id": str(i)} for i, p in enumerate(prompts)]
    answers = [[{"role": "assistant", "content": f"answer {i} {nonce}"}] for i in range(completions)]
    return inputs, prompts, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.5, help="stub judge latency L in seconds")
    parser.add_argument("--completions", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    # The same phase against a zero-latency stub is the local overhead (client, stub server, policy).
    with StubJudgeServer(args.latency) as server, StubJudgeServer(0.0) as instant:
        for n in args.completions:
            rows.append((measure(server, n, args.repeats), measure(instant, n, args.repeats)))
    print(
        "| completions | L (s) | reward phase, median (s) | worst (s) | local overhead at L=0, median (s) "
        "| (median - overhead) / L | judge requests | max in flight | errors |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r, base in rows:
        print(
            f"| {r.completions} | {r.latency_s:.2f} | {r.median_s:.3f} | {r.seconds:.3f} | {base.median_s:.3f} | "
            f"{(r.median_s - base.median_s) / r.latency_s:.2f} | {r.requests} | {r.max_in_flight} | {r.errors} |"
        )


if __name__ == "__main__":
    main()
