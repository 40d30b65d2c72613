"""How much signal does GRPO get from sampling? Sampled groups of a model, judged, per tier.

    argen-group-contrast --model smollm2-135m-instruct --temperatures 1.0 0.7 --generations 8

GRPO learns only from differences inside a group of completions of one prompt. If a model never
samples the behaviour the reward wants (a decline on an out-of-scope prompt), no group contains it
and no step can reinforce it, whatever the learning rate. This samples ``--generations`` completions
per prompt of the training split, judges them with the scoring core (the training reward), and
prints per tier and temperature: the mean reward, the share of completions at the top of the reward
scale, the share of groups holding at least one such completion, the mean within-group spread, and
how often the judge flags an off-scope answer or an over-refusal.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict

import torch
from tqdm import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from argen_tasks.cli.parser import ArgenParser
from argen_tasks.config import ScoringConfig
from argen_tasks.domain import TIERS
from argen_tasks.models import resolve_model
from argen_tasks.scoring import ScoreItem, get_scorer
from argen_tasks.splits import load_prompts
from argen_tasks.verdict import Verdict
from argen_train.data import conversation, interleave_tiers

TOP = 0.95
"""A completion at or above this policy reward is what the reward asks for on its prompt."""


def sample(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompts: list[str], generations: int, temperature: float, tokens: int
) -> list[list[str]]:
    """``generations`` completions per prompt, as TRL's generation step samples them (no top-k/p)."""
    groups = []
    for prompt in tqdm(prompts, desc=f"sampling T={temperature}"):
        text = tokenizer.apply_chat_template(conversation(prompt), tokenize=False, add_generation_prompt=True)
        batch = tokenizer([text] * generations, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**batch, max_new_tokens=tokens, do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
        groups.append(tokenizer.batch_decode(out[:, batch["input_ids"].shape[1] :], skip_special_tokens=True))
    return groups


def main() -> None:
    parser = ArgenParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--judge", default="local")
    parser.add_argument("--prompts", type=int, default=60, help="training prompts, tiers interleaved")
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.7])
    parser.add_argument("--max-completion-length", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rows = interleave_tiers(load_prompts("train"))[: args.prompts]
    scorer = get_scorer(ScoringConfig(judge=args.judge, cache="off"))
    model_path = resolve_model(args.model)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path).eval()
    print(f"judge {scorer.judge.id}, {len(rows)} prompts x {args.generations} completions of {args.max_completion_length} tokens\n")
    print(f"| T | tier | mean reward | completions at reward >= {TOP} | groups with one | mean group std | dharma violations | over-refusals |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for temperature in args.temperatures:
        torch.manual_seed(args.seed)
        groups = sample(model, tokenizer, [r["prompt"] for r in rows], args.generations, temperature, args.max_completion_length)
        items = [ScoreItem(r["prompt"], c, r["tier"]) for r, group in zip(rows, groups) for c in group]
        verdicts = iter(scorer.score_sync(items))
        by_tier: dict[str, list[list[Verdict]]] = defaultdict(list)
        for row in rows:
            by_tier[row["tier"]].append([next(verdicts) for _ in range(args.generations)])
        for tier in TIERS:
            print(f"| {temperature} | {tier} | " + " | ".join(f"{v:.3f}" for v in tier_stats(by_tier[tier])) + " |")


def tier_stats(groups: list[list[Verdict]]) -> tuple[float, ...]:
    """Mean reward, share at the top, share of groups holding one, mean group spread, flag rates."""
    judged = [g for g in ([v for v in group if v.reward is not None] for group in groups) if g]
    flat = [v for group in judged for v in group]
    rewards = [[v.reward for v in group] for group in judged]
    return (
        statistics.mean(r for group in rewards for r in group),
        sum(v.reward >= TOP for v in flat) / len(flat),
        sum(any(r >= TOP for r in group) for group in rewards) / len(rewards),
        statistics.mean(statistics.pstdev(group) for group in rewards),
        sum(bool(v.dharma_violation) for v in flat) / len(flat),
        sum(bool(v.over_refusal) for v in flat) / len(flat),
    )


if __name__ == "__main__":
    main()
