"""A run: one lm-eval results file and its samples, read into a typed object with its provenance.

Numbers from two runs are only comparable when the same judge, rubric and policy scored the same
prompts, so loading gathers everything that decides that and refuses files that cannot be
trusted (:class:`RunError`): no ``--log_samples`` output, samples that do not add up to the
results, tasks or verdicts that disagree on provenance.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argen_tasks.domain import ADVERSARIAL, REPORT_TIERS
from argen_tasks.metrics import nanmean
from argen_tasks.splits import DataError, read_jsonl
from argen_tasks.verdict import METRICS, Provenance, Verdict

RESULTS_GLOB = "results_*.json"
FILTER = "judge"
"""The filter of the argen_dharma tasks: lm-eval reports a metric as ``"<metric>,judge"``."""


class RunError(ValueError):
    """Unusable input (exit code 2 in the CLIs); the message names the file and what is wrong."""


class ProvenanceMismatch(RunError):
    """Two runs that must not be compared: different judge, rubric, policy or test set."""


@dataclass(frozen=True)
class Sample:
    """One prompt of the test set, the model's response and its verdict."""

    id: str
    tier: str
    """The tier it is reported under: ``in``, ``out``, ``mixed`` or ``adversarial`` (whose verdict was
    given for the tier of its request)."""
    topic: str
    prompt: str
    response: str
    verdict: Verdict

    def value(self, metric: str) -> float | None:
        """The per-prompt metric; ``None`` where the judge failed (never counted as 0)."""
        return self.verdict.metrics()[metric]


@dataclass(frozen=True)
class Run:
    label: str
    results_path: Path
    model: str
    provenance: Provenance
    samples: tuple[Sample, ...]
    metrics: tuple[str, ...]
    """The verdict metrics that the results file reports for every task of the run."""
    limit: str | None
    """Why the run does not cover its whole test set (``--limit``), or ``None``."""
    total_seconds: float
    """lm-eval's ``total_evaluation_time_seconds``: model loading, generation, judging, metrics."""
    judge_seconds: float | None
    """Time spent in the judging filter, summed over tasks (``None`` if a task did not record it)."""
    scope_reminder: bool = False
    """Whether the scope was restated after each user turn (``argen-eval --scope-reminder``)."""

    @property
    def generation_seconds(self) -> float | None:
        """Everything but judging (generation plus model loading and lm-eval's own overhead)."""
        return None if self.judge_seconds is None else self.total_seconds - self.judge_seconds

    @property
    def test_set(self) -> str:
        """A short hash of the prompts (ids, tiers, texts): equal hashes, same test set."""
        return test_set_hash((s.id, s.tier, s.prompt) for s in self.samples)

    def tiers(self) -> tuple[str, ...]:
        present = {s.tier for s in self.samples}
        return tuple(t for t in REPORT_TIERS if t in present)

    def select(self, tier: str) -> list[Sample]:
        """The samples of one tier; ``"all"`` is every sample."""
        return [s for s in self.samples if tier in ("all", s.tier)]


def test_set_hash(prompts: Iterable[tuple[str, str, str]]) -> str:
    """The short hash of ``(id, reported tier, prompt)`` rows that names a test set in reports and the card."""
    lines = sorted(f"{id}\x1f{tier}\x1f{prompt}" for id, tier, prompt in prompts)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:12]


def find_results(path: Path) -> Path:
    """``path`` itself if it is a file, else the newest ``results_*.json`` below the directory."""
    if path.is_file():
        return path
    found = sorted(path.rglob(RESULTS_GLOB), key=lambda p: p.stat().st_mtime) if path.is_dir() else []
    if not found:
        raise RunError(f"{path}: no lm-eval results file ({RESULTS_GLOB}) found")
    return found[-1]


def load_run(path: Path, label: str) -> Run:
    """Read a results file (or the newest one under a directory) and the samples written beside it."""
    results_path = find_results(path)
    results = _read_json(results_path)
    tasks = [t for t, c in results.get("configs", {}).items() if "argen" in ((c or {}).get("metadata") or {})]
    if not tasks:
        raise RunError(f"{results_path}: not an argen_dharma results file (no configs.<task>.metadata.argen)")
    provenance = _provenance(results_path, results, tasks)
    timestamp = results_path.stem.removeprefix("results_")
    samples: list[Sample] = []
    for task in tasks:
        task_samples = _read_samples(results_path.parent / f"samples_{task}_{timestamp}.jsonl", provenance)
        _check_against_results(results_path, results, task, task_samples)
        samples.extend(task_samples)
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):
        raise RunError(f"{results_path}: a prompt id appears in more than one task")
    judge_seconds = [results["configs"][t]["metadata"]["argen"].get("judge_seconds") for t in tasks]
    reported = [results.get("results", {}).get(t, {}) for t in tasks]
    return Run(
        label=label,
        results_path=results_path,
        model=str(results.get("model_name") or "?"),
        provenance=provenance,
        samples=tuple(samples),
        metrics=tuple(m for m in METRICS if all(f"{m},{FILTER}" in r for r in reported)),
        limit=_limit(results, tasks),
        total_seconds=float(results.get("total_evaluation_time_seconds") or math.nan),
        judge_seconds=None if None in judge_seconds else float(sum(judge_seconds)),
        scope_reminder=any(results["configs"][t]["metadata"]["argen"].get("scope_reminder", False) for t in tasks),
    )


def differences(a: Run, b: Run) -> list[str]:
    """What makes ``a`` and ``b`` incomparable, one line each; empty when they may be compared."""
    lines = []
    for name, x in a.provenance.to_dict().items():
        y = getattr(b.provenance, name)
        if x != y:
            lines.append(f"{name}: {x!r} ({a.label}) vs {y!r} ({b.label})")
    if a.test_set != b.test_set:
        lines.append(
            f"test set: {a.test_set} ({a.label}, {len(a.samples)} prompts) vs {b.test_set} ({b.label}, {len(b.samples)} prompts)"
        )
    return lines


def require_comparable(a: Run, b: Run) -> None:
    if lines := differences(a, b):
        raise ProvenanceMismatch("the runs are not comparable:\n  " + "\n  ".join(lines))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: cannot read the results file ({exc})") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: not an lm-eval results file")
    return data


def _provenance(path: Path, results: dict[str, Any], tasks: list[str]) -> Provenance:
    found = set()
    for task in tasks:
        argen = results["configs"][task]["metadata"]["argen"]
        try:
            found.add(Provenance.from_dict(argen))
        except KeyError as exc:
            raise RunError(f"{path}: configs.{task}.metadata.argen has no {exc.args[0]!r}") from None
    if len(found) != 1:
        raise RunError(f"{path}: the tasks were scored with different provenance: {sorted(map(str, found))}")
    return found.pop()


def _read_samples(path: Path, provenance: Provenance) -> list[Sample]:
    if not path.is_file():
        raise RunError(f"{path}: samples file missing; run lm_eval with --log_samples and keep the files together")
    try:
        rows = read_jsonl(path)
    except DataError as exc:
        raise RunError(str(exc)) from None
    return [_sample(f"{path}:{row['_line']}", row, provenance) for row in rows]


def _sample(where: str, row: dict[str, Any], provenance: Provenance) -> Sample:
    try:
        doc = row["doc"]
        sample = Sample(
            id=str(doc["id"]),
            tier=ADVERSARIAL if "attack" in doc else doc["tier"],
            topic=doc.get("topic", ""),
            prompt=doc["prompt"],
            response=row["resps"][0][0],
            verdict=Verdict.from_dict(json.loads(row["filtered_resps"][0])),
        )
    except (json.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise RunError(
            f"{where}: not an argen_dharma sample ({type(exc).__name__}: {exc}); pass the output of an "
            "argen_dharma run with --log_samples"
        ) from None
    judged_by = sample.verdict.provenance
    if judged_by != provenance:
        raise RunError(f"{where}: verdict provenance {judged_by} differs from the results file's {provenance}")
    return sample


def _check_against_results(path: Path, results: dict[str, Any], task: str, samples: list[Sample]) -> None:
    """Samples from another run (or edited by hand) would silently change every number: refuse them."""
    expected = (results.get("n-samples", {}).get(task) or {}).get("effective")
    if expected is not None and expected != len(samples):
        raise RunError(f"{path}: {task} reports {expected} samples but its samples file has {len(samples)}")
    reported = results.get("results", {}).get(task, {})
    for metric in METRICS:
        value = reported.get(f"{metric},{FILTER}")
        if not isinstance(value, (int, float)):
            continue
        mean = nanmean(s.value(metric) for s in samples)
        if not (math.isclose(mean, value, abs_tol=1e-9) or (math.isnan(mean) and math.isnan(value))):
            raise RunError(f"{path}: {task} reports {metric}={value} but its samples give {mean}")


def _limit(results: dict[str, Any], tasks: list[str]) -> str | None:
    """Judged by the sample counts: a ``--limit`` at or above the test set's size changes nothing."""
    limit = (results.get("config") or {}).get("limit")
    counts = results.get("n-samples") or {}
    if any(not counts.get(t) for t in tasks):
        return None if limit is None else f"--limit {limit}"
    partial = [f"{t} {counts[t]['effective']}/{counts[t]['original']}" for t in tasks if counts[t]["effective"] < counts[t]["original"]]
    return f"--limit {limit}: " + ", ".join(partial) + " prompts" if partial else None
