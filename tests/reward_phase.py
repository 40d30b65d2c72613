"""TRL's reward phase of a real GRPOTrainer, with argen's reward functions, the real scorer and the
real OpenAI judge client; the trainer's only real part is the reward path (tiny random model,
in-memory tokenizer, no generation). Shared by tests and the reward benchmarks.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Any

from stub_judge_server import StubJudgeServer

TIERS = ("in", "out", "mixed")


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
    """Time TRL's reward phase for ``completions`` completions against ``server`` (cache off, no retries)."""
    trainer = reward_trainer(server.base_url, concurrency=completions, max_attempts=1)
    timings, requests, in_flight, errors = [], 0, 0, 0
    for _ in range(repeats):
        server.reset_counts()
        start = time.perf_counter()
        rewards = reward_phase(trainer, batch(completions, uuid.uuid4().hex[:8]))
        timings.append(time.perf_counter() - start)
        stats = server.stats()
        requests, in_flight = stats["total"], stats["max_in_flight"]
        errors = sum(r is None for r in rewards)
    latency = server.behaviour.latency_s
    return Result(completions, latency, max(timings), statistics.median(timings), requests, in_flight, errors)


def reward_trainer(
    base_url: str, concurrency: int, max_attempts: int, cache: str = "off", timeout_s: float = 30.0
) -> Any:
    """A GRPOTrainer whose reward functions are argen's, judged by ``openai:stub-judge`` at ``base_url``."""
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
    )  # fmt: skip
    scoring = ScoringConfig(
        judge="openai:stub-judge", base_url=base_url, api_key="stub", cache=cache,
        concurrency=concurrency, timeout_s=timeout_s, max_attempts=max_attempts,
    )  # fmt: skip
    rewards = JudgeRewards(get_scorer(scoring), max_error_rate=1.0)
    args = GRPOConfig(
        output_dir=tempfile.mkdtemp(prefix="argen-reward-phase-"),
        per_device_train_batch_size=2,
        num_generations=2,
        reward_weights=rewards.weights,
        use_cpu=True,
        bf16=False,
        report_to="none",
    )
    return GRPOTrainer(
        model=model, reward_funcs=rewards.functions, args=args, train_dataset=_dataset(), processing_class=tokenizer
    )


def batch(completions: int, tag: str, start: int = 0) -> tuple[list[dict[str, Any]], list[Any], list[Any]]:
    """``completions`` (inputs, prompts, answers); answer ``i`` names ``[pair i]`` and ``tag``, so no two
    pairs are deduplicated away and each pair can be traced to the judge requests made for it."""
    from argen_train.data import conversation

    indices = range(start, start + completions)
    prompts = [conversation(f"benchmark question {i}") for i in indices]
    inputs = [{"prompt": p, "tier": TIERS[i % 3], "id": str(i)} for i, p in zip(indices, prompts)]
    answers = [[{"role": "assistant", "content": f"answer [pair {i}] {tag}"}] for i in indices]
    return inputs, prompts, answers


def reward_phase(trainer: Any, step: tuple[list[dict[str, Any]], list[Any], list[Any]]) -> list[float | None]:
    """The policy reward per completion, as ``GRPOTrainer._calculate_rewards`` computes it (None: judge error)."""
    inputs, prompts, answers = step
    rewards = trainer._calculate_rewards(inputs, prompts, answers, [[0]] * len(answers))
    return [None if value != value else float(value) for value in rewards[:, 0].tolist()]


def _dataset() -> Any:
    from datasets import Dataset

    from argen_train.data import conversation

    return Dataset.from_list([{"prompt": conversation("stub"), "tier": "in"}] * 2)
