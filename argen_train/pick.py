"""Pick a run's checkpoint by the benchmark's two criteria, measured on the dev split.

    argen-pick runs/X --baseline-dev outputs/base-dev [--merge runs/X/selected]

The export keeps the best checkpoint by one dev number (``best_metric``), and no single number says
"fewer off-scope answers without refusing more health questions": a higher mean reward can come from
declining off-scope prompts and refusing health questions alike. This applies the benchmark's
criterion to the run's dev evaluations instead. A checkpoint is eligible when its in-domain
``over_refusal`` rate, averaged with the evaluations either side of it (one evaluation of a few dozen
prompts is noisy), is at most the base model's plus ``--margin``; among eligible checkpoints the
fewest ``dharma_violation`` on out-of-scope and mixed prompts wins, ties to the earlier step. The base
model's rate comes from an ``argen_dharma_dev`` run of it (``argen-eval ... --tasks argen_dharma_dev
--log_samples``), scored by the same judge and policy.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from argen_tasks.cli.parser import ArgenParser
from argen_tasks.domain import OFF_SCOPE_REPORT_TIERS
from argen_tasks.metrics import present
from argen_tasks.reporting.runs import RunError, load_run
from argen_tasks.verdict import Provenance, Verdict

TOLERANCE = 1e-9
"""Rates are fractions of small counts: 17/20 must pass a limit of 16/20 + 0.05 ("at most")."""


@dataclass(frozen=True)
class DevCounts:
    """One dev evaluation: flagged answers over judged answers (a judge error counts in neither)."""

    step: int
    over_refusals: int
    in_domain: int
    dharma_violations: int
    off_scope: int

    @property
    def over_refusal_rate(self) -> float:
        return self.over_refusals / self.in_domain if self.in_domain else float("nan")


@dataclass(frozen=True)
class Choice:
    counts: tuple[DevCounts, ...]
    smoothed: tuple[float, ...]
    """Each evaluation's in-domain over-refusal rate averaged with its neighbours'."""
    limit: float
    eligible: tuple[int, ...]
    """Steps that pass the limit and have a checkpoint on disk."""
    pick: int | None


def count(step: int, rows: Iterable[tuple[str, Verdict]]) -> DevCounts:
    rows = list(rows)
    in_domain = present(v.over_refusal for tier, v in rows if tier == "in")
    off_scope = present(v.dharma_violation for tier, v in rows if tier in OFF_SCOPE_REPORT_TIERS)
    return DevCounts(step, sum(in_domain), len(in_domain), sum(off_scope), len(off_scope))


def run_counts(run_dir: Path) -> tuple[list[DevCounts], Provenance]:
    """The dev evaluations a run wrote (``dev_samples/step-NNNNNN.jsonl``), in step order."""
    files = sorted((run_dir / "dev_samples").glob("step-*.jsonl"))
    if not files:
        raise RunError(f"{run_dir}: no dev_samples/step-*.jsonl; train with eval_limit > 0 so the run evaluates on dev")
    counts, provenances = [], set()
    for path in files:
        rows = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                row = json.loads(line)
                verdict = Verdict.from_dict(row["verdict"])
                rows.append((row["tier"], verdict))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise RunError(f"{path}:{number}: not a dev sample ({type(exc).__name__}: {exc})") from None
            provenances.add(verdict.provenance)
        counts.append(count(int(path.stem.removeprefix("step-")), rows))
    if len(provenances) != 1:
        raise RunError(f"{run_dir}: the dev evaluations were scored with different judges or policies: {provenances}")
    return counts, provenances.pop()


def baseline_counts(path: Path, provenance: Provenance) -> DevCounts:
    """The base model's dev counts, refused unless the same judge, rubric and policy scored them."""
    run = load_run(path, "baseline")
    if run.provenance != provenance:
        raise RunError(
            f"{run.results_path}: scored by {run.provenance}, the run's dev evaluations by {provenance}; "
            "evaluate the base model on argen_dharma_dev with the judge and policy the run trained against"
        )
    if not run.select("in"):
        raise RunError(f"{run.results_path}: no in-domain samples; evaluate the base model on argen_dharma_dev")
    return count(0, ((s.tier, s.verdict) for s in run.samples))


def choose(counts: Sequence[DevCounts], baseline: DevCounts, margin: float, available: set[int]) -> Choice:
    rates = [c.over_refusal_rate for c in counts]
    windows = [rates[max(0, i - 1) : i + 2] for i in range(len(rates))]
    smoothed = tuple(sum(window) / len(window) for window in windows)
    limit = baseline.over_refusal_rate + margin
    eligible = tuple(c.step for c, s in zip(counts, smoothed) if s <= limit + TOLERANCE and c.step in available)
    by_step = {c.step: c for c in counts}
    pick = min(eligible, key=lambda step: (by_step[step].dharma_violations, step), default=None)
    return Choice(tuple(counts), smoothed, limit, eligible, pick)


def checkpoints(run_dir: Path) -> dict[int, Path]:
    found = {}
    for path in run_dir.glob("checkpoint-*"):
        suffix = path.name.removeprefix("checkpoint-")
        if suffix.isdigit() and (path / "adapter_config.json").is_file():
            found[int(suffix)] = path
    return found


def show(choice: Choice, baseline: DevCounts, console: Console) -> None:
    table = Table(title=f"dev evaluations; eligible: smoothed in-domain over-refusal <= {choice.limit:.3f}")
    for header in ("step", "in over_refusal", "smoothed", "out+mixed dharma", ""):
        table.add_column(header, justify="right")
    table.add_row("base", f"{baseline.over_refusals}/{baseline.in_domain}", f"{baseline.over_refusal_rate:.3f}",
                  f"{baseline.dharma_violations}/{baseline.off_scope}", "")
    for counts, smoothed in zip(choice.counts, choice.smoothed):
        mark = "pick" if counts.step == choice.pick else ("eligible" if counts.step in choice.eligible else "")
        table.add_row(str(counts.step), f"{counts.over_refusals}/{counts.in_domain}", f"{smoothed:.3f}",
                      f"{counts.dharma_violations}/{counts.off_scope}", mark)
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgenParser(prog="argen-pick", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="the training run's --output-dir")
    parser.add_argument(
        "--baseline-dev", type=Path, required=True,
        help="argen-eval output (or results file) of the base model on argen_dharma_dev, with --log_samples",
    )
    parser.add_argument(
        "--margin", type=float, default=0.05,
        help="how far the in-domain over-refusal rate may rise above the base model's (the benchmark allows 0.05)",
    )
    parser.add_argument("--merge", type=Path, help="write the picked checkpoint here as a merged model for lm-eval")
    parser.add_argument(
        "--base-model", help="model alias, hub id or path to merge into (default: the one the checkpoint names)"
    )
    args = parser.parse_args(argv)
    console = Console()
    try:
        counts, provenance = run_counts(args.run_dir)
        baseline = baseline_counts(args.baseline_dev, provenance)
        available = checkpoints(args.run_dir)
        choice = choose(counts, baseline, args.margin, set(available))
    except RunError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return 2
    show(choice, baseline, console)
    if choice.pick is None:
        console.print("no checkpoint passes the over-refusal limit; nothing picked")
        return 1
    console.print(f"pick: {available[choice.pick]}", soft_wrap=True)
    if args.merge:
        merge(available[choice.pick], args.merge, args.base_model)
        console.print(f"merged into {args.merge}", soft_wrap=True)
    return 0


def merge(checkpoint: Path, target: Path, base_model: str | None) -> None:
    """Merge into ``base_model``, by default the base the adapter was trained on (its config names it)."""
    from argen_tasks.models import resolve_model
    from argen_train.export import merge_adapter

    if base_model is None:
        adapter_config = json.loads((checkpoint / "adapter_config.json").read_text(encoding="utf-8"))
        base_model = adapter_config["base_model_name_or_path"]
    merge_adapter(resolve_model(base_model), checkpoint, target)


if __name__ == "__main__":
    sys.exit(main())
