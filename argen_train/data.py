"""Prompt splits as GRPO datasets: conversations with the single-source system prompt.

The system turn is ``argen_tasks.domain.SYSTEM_PROMPT`` and the user turn is the prompt, exactly
what ``lm_eval --tasks argen_dharma --apply_chat_template`` renders, so the policy is trained on
the inputs it is evaluated on. The judge sees the bare user prompt, as in the benchmark.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from itertools import chain, zip_longest
from typing import Any

from datasets import Dataset

from argen_tasks.domain import SYSTEM_PROMPT, TIERS
from argen_tasks.splits import load_prompts, prompts_path

Message = dict[str, str]


def conversation(prompt: str) -> list[Message]:
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}]


def prompt_text(prompt: str | Sequence[Message]) -> str:
    """The user's prompt inside a TRL prompt (a conversation, or plain text for non-chat data)."""
    if isinstance(prompt, str):
        return prompt
    return next(m["content"] for m in reversed(prompt) if m["role"] == "user")


def completion_text(completion: str | Sequence[Message]) -> str:
    """The assistant's text inside a TRL completion (``[{"role": "assistant", "content": ...}]``)."""
    if isinstance(completion, str):
        return completion
    return "".join(m["content"] for m in completion if m["role"] == "assistant")


def prompt_dataset(split: str, limit: int | None = None, tiers: Sequence[str] = TIERS) -> Dataset:
    """Rows ``{prompt: conversation, tier, id}``; TRL hands ``tier`` and ``id`` to the reward functions.

    ``limit`` keeps the first rows of each tier in turn (in, out, mixed, in, ...), so a small
    evaluation subset still covers every tier. ``tiers`` keeps only prompts of those tiers, one
    copy of each per time its tier is listed: ``("in", "out", "out")`` samples out-of-scope
    prompts twice as often as in-domain ones.
    """
    copies = Counter(tiers)
    rows = [r for r in load_prompts(split) for _ in range(copies[r["tier"]])]
    if limit is not None:
        rows = interleave_tiers(rows)[:limit]
    return Dataset.from_list([{"prompt": conversation(r["prompt"]), "tier": r["tier"], "id": r["id"]} for r in rows])


def interleave_tiers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_tier = [[r for r in rows if r["tier"] == tier] for tier in TIERS]
    return [r for r in chain.from_iterable(zip_longest(*by_tier)) if r is not None]


def split_fingerprint(split: str) -> dict[str, Any]:
    """What run.json records about a split: where it came from and a hash of its exact bytes."""
    path = prompts_path(split)
    data = path.read_bytes()
    rows = sum(1 for line in data.splitlines() if line.strip())
    return {"split": split, "path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "rows": rows}
