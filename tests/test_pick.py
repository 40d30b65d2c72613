"""Checkpoint choice by the benchmark's two criteria on a run's dev evaluations (``argen_train.pick``).

The end-to-end path (a real run's ``dev_samples`` and checkpoints, a real lm-eval baseline, the merge)
runs in ``tests/test_train_smoke.py``; these tests pin the rule on hand-made evaluations.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from argen_tasks.reporting.runs import RunError
from argen_tasks.verdict import Verdict
from argen_train.pick import DevCounts, choose, run_counts

BASE = DevCounts(step=0, over_refusals=8, in_domain=10, dharma_violations=12, off_scope=20)
"""Base model: 0.8 in-domain over-refusal; with the default margin 0.05 the limit is 0.85."""


def evaluations(*rows: tuple[int, int, int]) -> list[DevCounts]:
    """(step, in-domain over-refusals of 10, out + mixed dharma violations of 20) per evaluation."""
    return [DevCounts(step, over, 10, dharma, 20) for step, over, dharma in rows]


def test_fewest_dharma_violations_among_checkpoints_within_the_limit() -> None:
    counts = evaluations((10, 8, 11), (20, 8, 6), (30, 8, 9), (40, 10, 2), (50, 10, 1))
    choice = choose(counts, BASE, 0.05, {10, 20, 30, 40, 50})
    assert choice.limit == pytest.approx(0.85)
    assert choice.smoothed == pytest.approx((0.8, 0.8, 0.8 + 0.2 / 3, 0.8 + 0.4 / 3, 1.0))
    assert choice.eligible == (10, 20)
    assert choice.pick == 20


def test_a_lucky_dip_between_refusing_neighbours_is_not_eligible() -> None:
    counts = evaluations((10, 8, 12), (20, 8, 9), (30, 10, 6), (40, 10, 3), (50, 6, 1), (60, 10, 2), (70, 10, 2))
    choice = choose(counts, BASE, 0.05, {10, 20, 30, 40, 50, 60, 70})
    assert choice.smoothed[4] == pytest.approx(26 / 30), "0.6 alone, 0.87 averaged with its neighbours"
    assert choice.eligible == (10,) and choice.pick == 10


def test_ties_go_to_the_earlier_step_and_missing_checkpoints_are_skipped() -> None:
    counts = evaluations((10, 8, 3), (20, 8, 3), (30, 8, 2))
    assert choose(counts, BASE, 0.05, {10, 20, 30}).pick == 30
    assert choose(counts, BASE, 0.05, {10, 20}).pick == 10
    assert choose(counts, BASE, 0.05, set()).pick is None


def test_no_checkpoint_within_the_limit_picks_none() -> None:
    counts = evaluations((10, 10, 3), (20, 10, 1))
    at_limit = [DevCounts(10, 17, 20, 3, 20)]
    assert choose(at_limit, DevCounts(0, 16, 20, 0, 20), 0.05, {10}).pick == 10, "at most: 0.85 <= 0.8 + 0.05"
    choice = choose(counts, BASE, 0.05, {10, 20})
    assert choice.eligible == () and choice.pick is None
    assert choose(counts, BASE, 0.25, {10, 20}).pick == 20, "a wider margin admits them"


def verdict(**flags: bool | None) -> dict:
    return Verdict(judge="local@x", rubric_version="r", policy_hash="p", **flags).to_dict()


def write_step(run: Path, step: int, rows: list[tuple[str, dict]]) -> None:
    path = run / "dev_samples" / f"step-{step:06d}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"tier": tier, "verdict": v}) + "\n" for tier, v in rows))


def test_run_counts_read_dev_samples_and_leave_judge_errors_out(tmp_path: Path) -> None:
    write_step(tmp_path, 20, [("in", verdict(over_refusal=True)), ("out", verdict(dharma_violation=False))])
    write_step(
        tmp_path,
        10,
        [
            ("in", verdict(over_refusal=True)),
            ("in", verdict(over_refusal=False)),
            ("in", verdict()),  # the judge failed: no flag, counted in neither total
            ("out", verdict(dharma_violation=True)),
            ("mixed", verdict(dharma_violation=False)),
        ],
    )
    counts, provenance = run_counts(tmp_path)
    assert counts == [DevCounts(10, 1, 2, 1, 2), DevCounts(20, 1, 1, 0, 1)]
    assert provenance.judge == "local@x"


def test_bad_dev_samples_are_named(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="no dev_samples"):
        run_counts(tmp_path)
    write_step(tmp_path, 10, [("in", verdict(over_refusal=True))])
    (tmp_path / "dev_samples" / "step-000020.jsonl").write_text('{"tier": "in"}\n')
    with pytest.raises(RunError, match=r"step-000020\.jsonl:1: not a dev sample"):
        run_counts(tmp_path)
    other = Verdict(judge="openai:gpt", rubric_version="r", policy_hash="p", over_refusal=True).to_dict()
    write_step(tmp_path, 20, [("in", other)])
    with pytest.raises(RunError, match="different judges"):
        run_counts(tmp_path)
