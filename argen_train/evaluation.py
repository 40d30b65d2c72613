"""Dev evaluation during training: greedy answers to the dev prompts, scored by the same scorer.

Greedy decoding is what the benchmark does (``do_sample: false``), so the dev reward tracks the
number ``lm_eval --tasks argen_dharma_dev`` would report for the checkpoint. The trainer's
``metric_for_best_model`` is this evaluation's ``reward`` or ``reward_worst_tier`` (the config's
``best_metric``); every evaluation's answers and verdicts are also written to
``<output_dir>/dev_samples/step-NNNNNN.jsonl`` for inspection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from accelerate.utils import gather_object
from transformers import GenerationConfig

from argen_tasks.io import write_jsonl_atomic
from argen_tasks.metrics import dev_metrics
from argen_tasks.scoring import ScoreItem, Scorer
from argen_train.data import prompt_text
from argen_train.rewards import check_error_rate

GenerationMode = Callable[[Any], AbstractContextManager[None]]


class DevEvaluator:
    def __init__(
        self,
        scorer: Scorer,
        tokenizer: Any,
        generation_mode: GenerationMode,
        *,
        batch_size: int,
        max_new_tokens: int,
        max_error_rate: float,
        samples_dir: Path,
    ) -> None:
        self.scorer = scorer
        self.tokenizer = tokenizer
        self.generation_mode = generation_mode
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.max_error_rate = max_error_rate
        self.samples_dir = samples_dir

    def __call__(self, model: Any, dataset: Any, accelerator: Any, step: int) -> dict[str, float]:
        """Metrics under the benchmark's names (``reward``, ``dharma_violation``, ...) plus per-tier reward.

        Each process answers its share of the prompts; verdicts are gathered so every process
        returns the same metrics (the best-checkpoint decision must agree across ranks).
        """
        rows = list(dataset)[accelerator.process_index :: accelerator.num_processes]
        responses = self.generate(model, [row["prompt"] for row in rows])
        items = [ScoreItem(prompt_text(row["prompt"]), text, row.get("tier")) for row, text in zip(rows, responses)]
        verdicts = self.scorer.score_sync(items)
        scored = gather_object([(row, text, verdict) for row, text, verdict in zip(rows, responses, verdicts)])
        all_verdicts = [verdict for _, _, verdict in scored]
        if accelerator.is_main_process:
            write_jsonl_atomic(
                self.samples_dir / f"step-{step:06d}.jsonl",
                (
                    {
                        "id": row.get("id"),
                        "tier": row.get("tier"),
                        "prompt": prompt_text(row["prompt"]),
                        "response": text,
                        "verdict": verdict.to_dict(),
                    }
                    for row, text, verdict in scored
                ),
            )
        check_error_rate(all_verdicts, self.max_error_rate, f"in the dev evaluation at step {step}")
        return dev_metrics([row.get("tier") for row, _, _ in scored], all_verdicts)

    def generate(self, model: Any, prompts: Sequence[Any]) -> list[str]:
        tokenizer = self.tokenizer
        config = GenerationConfig(
            max_new_tokens=self.max_new_tokens,
            do_sample=False,
            eos_token_id=_eos_ids(model, tokenizer),
            pad_token_id=tokenizer.pad_token_id,
        )
        responses: list[str] = []
        with self.generation_mode(model):
            for start in range(0, len(prompts), self.batch_size):
                batch = prompts[start : start + self.batch_size]
                texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in batch]
                encoded = tokenizer(
                    texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False
                ).to(model.device)
                output = model.generate(**encoded, generation_config=config)
                new_tokens = output[:, encoded["input_ids"].shape[1] :]
                responses.extend(tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
        return responses


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    """Every end token the model declares plus the tokenizer's, as TRL uses when sampling."""
    declared = model.generation_config.eos_token_id
    ids = [declared] if isinstance(declared, int) else list(declared or [])
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids
