"""TRL's GRPOTrainer with argen's dev evaluation as its ``evaluate()``.

Imported only after :func:`argen_train.backend.activate`, so that with Unsloth this subclasses
the GRPOTrainer Unsloth has patched. Overriding ``evaluate`` (rather than running a side
evaluation in a callback) lets transformers' own machinery do the rest: ``eval_steps``,
``metric_for_best_model`` (``eval_`` + ``best_metric``), keeping the best checkpoint through rotation,
``load_best_model_at_end``, and restoring all of it from ``trainer_state.json`` on resume.
"""

from __future__ import annotations

from typing import Any

from transformers import Trainer
from trl import GRPOTrainer

from argen_train.evaluation import DevEvaluator


class ArgenGRPOTrainer(GRPOTrainer):
    def __init__(self, *args: Any, dev_evaluator: DevEvaluator, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dev_evaluator = dev_evaluator

    def evaluate(
        self, eval_dataset: Any = None, ignore_keys: list[str] | None = None, metric_key_prefix: str = "eval"
    ) -> dict[str, float]:
        dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
        model = self.accelerator.unwrap_model(self.model)
        results = self.dev_evaluator(model, dataset, self.accelerator, self.state.global_step)
        metrics = {f"{metric_key_prefix}_{name}": value for name, value in results.items()}
        # Trainer.log, not GRPOTrainer.log: the latter folds in (and clears) the pending per-step
        # training metrics and re-logs the completions table.
        Trainer.log(self, metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics
