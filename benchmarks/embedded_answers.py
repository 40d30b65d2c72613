"""Answers of the embedded SmolLM2-135M-Instruct to argen prompts, under the benchmark's system prompt.

    python benchmarks/embedded_answers.py --split train --ids train-in-004,train-out-010 \
        --max-new-tokens 384 --temperature 0.7 --seed 0 -o answers.jsonl

Each row is ``{prompt_id, prompt, tier, topic, response, tokens, source}``, where ``source`` records the
model and the sampling settings; ``data/judge/long_answers.jsonl`` takes its real completions from here.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer

from argen_tasks.io import write_jsonl_atomic
from argen_tasks.models import resolve_model
from argen_tasks.splits import load_prompts
from argen_train.data import conversation

MODEL = "smollm2-135m-instruct"


def generate(rows: Sequence[dict], max_new_tokens: int, temperature: float, seed: int, batch_size: int = 16) -> list[list[int]]:
    """The new token ids of each answer (greedy when ``temperature`` is 0), in the order of ``rows``."""
    path = resolve_model(MODEL)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    torch.manual_seed(seed)
    sampling = {"do_sample": True, "temperature": temperature, "top_p": 1.0} if temperature else {"do_sample": False}
    answers: list[list[int]] = []
    for start in tqdm(range(0, len(rows), batch_size), desc="generating", unit="batch"):
        batch = rows[start : start + batch_size]
        texts = [tokenizer.apply_chat_template(conversation(r["prompt"]), tokenize=False, add_generation_prompt=True) for r in batch]
        encoded = tokenizer(texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
        with torch.inference_mode():
            output = model.generate(**encoded, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                    eos_token_id=tokenizer.eos_token_id, **sampling)  # fmt: skip
        for row in output[:, encoded["input_ids"].shape[1] :].tolist():
            answers.append([t for t in row if t not in (tokenizer.pad_token_id, tokenizer.eos_token_id)])
    return answers


def decode(ids: Sequence[int]) -> str:
    return _tokenizer().decode(ids, skip_special_tokens=True).strip()


def _tokenizer():
    if not hasattr(_tokenizer, "cached"):
        _tokenizer.cached = AutoTokenizer.from_pretrained(resolve_model(MODEL))
    return _tokenizer.cached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", required=True, choices=("train", "dev", "test"))
    parser.add_argument("--ids", help="comma-separated prompt ids (default: the whole split)")
    parser.add_argument("--max-new-tokens", type=int, default=384)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    rows = load_prompts(args.split)
    if args.ids:
        wanted = args.ids.split(",")
        rows = [r for r in rows if r["id"] in wanted]
    settings = f"{MODEL}, system prompt, {'greedy' if not args.temperature else f'temperature {args.temperature}'}, max_new_tokens {args.max_new_tokens}, seed {args.seed}"
    answers = generate(rows, args.max_new_tokens, args.temperature, args.seed)
    write_jsonl_atomic(args.output, [
        {"prompt_id": r["id"], "prompt": r["prompt"], "tier": r["tier"], "topic": r["topic"], "response": decode(ids),
         "tokens": len(ids), "source": settings}
        for r, ids in zip(rows, answers)
    ])  # fmt: skip
    print(f"wrote {len(rows)} answers to {args.output}")


if __name__ == "__main__":
    main()
