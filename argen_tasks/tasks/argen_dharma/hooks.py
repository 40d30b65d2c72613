"""Thin Python hooks behind the argen_dharma YAMLs: data, the judging filter and per-doc metrics."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from typing import Any

from lm_eval.api.filter import Filter
from lm_eval.api.task import ConfigurableTask
from tqdm import tqdm

from argen_tasks.config import ScoringConfig
from argen_tasks.domain import ENV_SCOPE_REMINDER, SCOPE_REMINDER, SYSTEM_PROMPT
from argen_tasks.metrics import nanmean  # noqa: F401  (the YAMLs' aggregation, hooks.nanmean)
from argen_tasks.scoring import ScoreItem, get_scorer
from argen_tasks.splits import prompts_path
from argen_tasks.verdict import Verdict

TEST_FILES = {"test": str(prompts_path("test"))}
DEV_FILES = {"dev": str(prompts_path("dev"))}
ADVERSARIAL_FILES = {"adversarial": str(prompts_path("adversarial"))}


def scope_reminder() -> bool:
    return os.environ.get(ENV_SCOPE_REMINDER, "") not in ("", "0")


class ArgenTask(ConfigurableTask):
    """A ConfigurableTask that records, in the results file's task config, the scorer's provenance
    (judge, rubric version, policy hash) and how long the judging phase took."""

    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        config = {k: v for k, v in (config or {}).items() if k != "class"}
        super().__init__(config=config, **kwargs)
        self._judge_seconds: float | None = None

    def apply_filters(self) -> Any:
        start = time.perf_counter()
        filtered = super().apply_filters()
        self._judge_seconds = time.perf_counter() - start
        return filtered

    def dump_config(self) -> dict[str, Any]:
        dumped = super().dump_config()
        provenance = get_scorer(ScoringConfig.from_env()).provenance
        dumped["metadata"] = (dumped.get("metadata") or {}) | {
            "argen": provenance.to_dict() | {"judge_seconds": self._judge_seconds, "scope_reminder": scope_reminder()}
        }
        return dumped


def _with_system_prompt(dataset: Any, tier: str | None = None) -> Any:
    """The chat turns of each doc; the judge still reads the bare ``prompt``."""
    if tier is not None:
        dataset = dataset.filter(lambda doc: doc["tier"] == tier)
    reminder = f"\n\n{SCOPE_REMINDER}" if scope_reminder() else ""
    return dataset.map(lambda doc: {"system_prompt": SYSTEM_PROMPT, "user_turn": doc["prompt"] + reminder})


def in_docs(dataset: Any) -> Any:
    return _with_system_prompt(dataset, "in")


def out_docs(dataset: Any) -> Any:
    return _with_system_prompt(dataset, "out")


def mixed_docs(dataset: Any) -> Any:
    return _with_system_prompt(dataset, "mixed")


def all_docs(dataset: Any) -> Any:
    return _with_system_prompt(dataset)


def lite_docs(dataset: Any) -> Any:
    return _with_system_prompt(_lite(dataset))


def lite_in_docs(dataset: Any) -> Any:
    return _with_system_prompt(_lite(dataset), "in")


def lite_out_docs(dataset: Any) -> Any:
    return _with_system_prompt(_lite(dataset), "out")


def lite_mixed_docs(dataset: Any) -> Any:
    return _with_system_prompt(_lite(dataset), "mixed")


def _lite(dataset: Any) -> Any:
    return dataset.filter(lambda doc: bool(doc.get("lite")))


class JudgeFilter(Filter):
    """Judges every response of a task in one concurrent batch (lm-eval hands a filter all of them)."""

    def apply(self, resps: Iterable[list[str]], docs: list[dict[str, Any]]) -> list[str]:
        resps = list(resps)
        scorer = get_scorer(ScoringConfig.from_env())
        items = [ScoreItem(doc["prompt"], answers[0], doc["tier"]) for answers, doc in zip(resps, docs)]
        with tqdm(total=len(items), desc=f"judging ({scorer.judge.id})", unit="pair") as bar:
            verdicts = scorer.score_sync(items, bar.update)
        return [verdict.to_json() for verdict in verdicts]


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float | None]:
    return Verdict.from_dict(json.loads(results[0])).metrics()




