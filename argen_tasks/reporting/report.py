"""The before/after report: markdown plus PNG plots, from two comparable runs.

Everything is computed per tier because the tiers ask for opposite behaviour (answer vs decline):
an overall average can hide a model that learned to refuse health questions to stop answering
finance ones. Flipped prompts are listed with both responses, because a rate says *that*
something changed and only the responses say *what*.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from argen_tasks.io import write_bytes_atomic, write_text_atomic  # noqa: E402
from argen_tasks.reporting.compare import (  # noqa: E402
    Pair,
    compare,
    flips,
    format_delta,
    operational_safety,
    format_estimate,
    is_rate,
    response_words,
    summarize,
    tiers_of,
)
from argen_tasks.reporting.runs import Run, require_comparable  # noqa: E402
from argen_tasks.reporting.stats import Estimate  # noqa: E402
from argen_tasks.verdict import JUDGE_FLAGS, METRICS  # noqa: E402

RATE_PLOT = JUDGE_FLAGS
SCORE_PLOT = ("helpfulness_score", "reward")
COLOURS = ("#7f8c8d", "#2e86c1")
SIGNIFICANT = 0.05


@dataclass(frozen=True)
class Report:
    markdown: Path
    plots: tuple[Path, ...]


def write_report(baseline: Run, candidate: Run, out_dir: Path, max_flips: int = 10) -> Report:
    """``report.md`` and its plots in ``out_dir``. Refuses runs that are not comparable."""
    require_comparable(baseline, candidate)
    runs = (baseline, candidate)
    plots = (
        _save(_metric_figure(runs, RATE_PLOT, "rate (95% Wilson interval)"), out_dir / "rates.png"),
        _save(_metric_figure(runs, SCORE_PLOT, "mean (95% t interval)"), out_dir / "scores.png"),
        _save(_length_figure(runs), out_dir / "response_length.png"),
        _save(_timing_figure(runs), out_dir / "time.png"),
    )
    text = "\n".join(
        [
            *_header(baseline, candidate),
            *_metrics_section(baseline, candidate),
            *_length_section(baseline, candidate),
            *_time_section(baseline, candidate),
            *_flips_section(baseline, candidate, max_flips),
        ]
    )
    path = out_dir / "report.md"
    write_text_atomic(path, text + "\n")
    return Report(path, plots)


def _header(baseline: Run, candidate: Run) -> list[str]:
    prov = baseline.provenance

    def row(name: str, get: Callable[[Run], object]) -> str:
        return f"| {name} | " + " | ".join(str(get(r)) for r in (baseline, candidate)) + " |"

    return [
        f"# argen report: {candidate.label} vs {baseline.label}",
        "",
        f"Both runs: judge `{prov.judge}`, rubric `{prov.rubric_version}`, policy `{prov.policy_hash}`, "
        f"test set `{baseline.test_set}` ({len(baseline.samples)} prompts).",
        "",
        f"| | {baseline.label} | {candidate.label} |",
        "|---|---|---|",
        row("model", lambda r: f"`{r.model}`"),
        row("results", lambda r: f"`{r.results_path}`"),
        row("coverage", lambda r: f"partial: {r.limit}" if r.limit else "full test set"),
        row("user turn", lambda r: "prompt + scope reminder" if r.scope_reminder else "prompt"),
        row("judge errors", lambda r: sum(s.verdict.error is not None for s in r.samples)),
        row("**operational safety**", lambda r: format_estimate("operational_safety", operational_safety(r))),
        "",
        "*Operational safety* is the harmonic mean of in-domain acceptance (1 - over-refusal on `in`) and "
        "out-of-scope refusal (1 - dharma violation on `out` and `adversarial`), with a 95% bootstrap interval.",
        "",
    ]


def _metrics_section(baseline: Run, candidate: Run) -> list[str]:
    lines = [
        "## Metrics per tier",
        "",
        "Rates with 95% Wilson intervals, means with 95% t intervals. *change* is candidate minus baseline "
        "over the prompts scored in both runs; *worse/better* count those prompts; *p* is two-sided "
        "(exact McNemar for rates, paired t for means), uncorrected, **bold** below "
        f"{SIGNIFICANT:g}. The gate (`argen-gate`) makes its decisions from the same tests.",
        "",
        "![rates](rates.png)",
        "",
        "![scores](scores.png)",
        "",
    ]
    for tier in tiers_of(baseline):
        lines += [
            f"### tier `{tier}` ({len(baseline.select(tier))} prompts)",
            "",
            f"| metric | {baseline.label} | {candidate.label} | change | worse / better | p | test |",
            "|---|---|---|---|---|---|---|",
        ]
        for metric in METRICS:
            test = compare(baseline, candidate, tier, metric)
            p = f"{test.p_two_sided:.3g}"
            lines.append(
                f"| {metric} | {format_estimate(metric, summarize(baseline, tier, metric))} "
                f"| {format_estimate(metric, summarize(candidate, tier, metric))} "
                f"| {format_delta(metric, test.delta) if test.n else '-'} | {test.worse} / {test.better} "
                f"| {f'**{p}**' if test.p_two_sided < SIGNIFICANT else p} | {test.method} |"
            )
        lines.append("")
    return lines


def _length_section(baseline: Run, candidate: Run) -> list[str]:
    lines = [
        "## Response length",
        "",
        "Mean words per response (whitespace-separated), 95% t intervals.",
        "",
        "![response length](response_length.png)",
        "",
        f"| tier | {baseline.label} | {candidate.label} |",
        "|---|---|---|",
    ]
    for tier in tiers_of(baseline):
        words = [response_words(run, tier) for run in (baseline, candidate)]
        lines.append(f"| {tier} | " + " | ".join(_words(w) for w in words) + " |")
    return [*lines, ""]


def _time_section(baseline: Run, candidate: Run) -> list[str]:
    def seconds(value: float | None) -> str:
        return "-" if value is None or math.isnan(value) else f"{value:.1f} s"

    return [
        "## Time",
        "",
        "*total* is lm-eval's `total_evaluation_time_seconds`; *judging* is the time spent in the judging "
        "filter (recorded by the tasks); *generation* is total minus judging, so it includes model loading "
        "and lm-eval's own overhead. Runs made on different hardware or with a warm verdict cache are not "
        "comparable on time.",
        "",
        "![time](time.png)",
        "",
        f"| | {baseline.label} | {candidate.label} |",
        "|---|---|---|",
        *(
            f"| {name} | {seconds(get(baseline))} | {seconds(get(candidate))} |"
            for name, get in (
                ("total", lambda r: r.total_seconds),
                ("judging", lambda r: r.judge_seconds),
                ("generation", lambda r: r.generation_seconds),
            )
        ),
        "",
    ]


def _flips_section(baseline: Run, candidate: Run, max_flips: int) -> list[str]:
    lines = ["## Prompts that flipped", ""]
    for metric in JUDGE_FLAGS:
        worse, better = flips(baseline, candidate, metric)
        lines += [f"### {metric}: {len(worse)} worse, {len(better)} better", ""]
        for title, group in ((f"worse in {candidate.label}", worse), (f"better in {candidate.label}", better)):
            if group:
                lines += [f"**{title}**", "", *_pairs_table(baseline, candidate, group[:max_flips])]
                if len(group) > max_flips:
                    lines.append(f"... and {len(group) - max_flips} more (raise --max-flips to list them)")
                lines.append("")
    return lines


def _pairs_table(baseline: Run, candidate: Run, group: list[Pair]) -> list[str]:
    rows = [f"| prompt | {baseline.label} | {candidate.label} |", "|---|---|---|"]
    for pair in group:
        prompt = f"`{pair.baseline.id}` ({pair.baseline.tier})<br>{_cell(pair.baseline.prompt)}"
        rows.append(f"| {prompt} | {_cell(pair.baseline.response)} | {_cell(pair.candidate.response)} |")
    return rows


def _cell(text: str) -> str:
    """Model output as inert table text: escaped HTML, no column breaks, line breaks kept."""
    return html.escape(text.strip()).replace("|", "\\|").replace("\n", "<br>") or "*(empty)*"


def _words(est: Estimate) -> str:
    return f"{est.value:.1f} [{est.low:.1f}, {est.high:.1f}]" if est.n > 1 else f"{est.value:.1f}"


def _metric_figure(runs: tuple[Run, Run], metrics: tuple[str, ...], ylabel: str) -> Figure:
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        _bars(ax, runs, lambda run, tier, m=metric: summarize(run, tier, m), metric)
        ax.set_ylabel(ylabel)
        if is_rate(metric):
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    return fig


def _length_figure(runs: tuple[Run, Run]) -> Figure:
    fig, axes = plt.subplots(1, 1, figsize=(5, 3.6), squeeze=False)
    _bars(axes[0][0], runs, response_words, "response length")
    axes[0][0].set_ylabel("mean words (95% t interval)")
    return fig


def _bars(ax: plt.Axes, runs: tuple[Run, Run], get: Callable[[Run, str], Estimate], title: str) -> None:
    tiers = tiers_of(runs[0])
    width = 0.38
    for offset, (run, colour) in enumerate(zip(runs, COLOURS)):
        ests = [get(run, tier) for tier in tiers]
        values = [e.value for e in ests]
        errors = [[_extent(e.value, e.low) for e in ests], [_extent(e.high, e.value) for e in ests]]
        xs = [i + (offset - 0.5) * width for i in range(len(tiers))]
        ax.bar(xs, values, width, yerr=errors, capsize=3, color=colour, label=run.label)
    ax.set_xticks(range(len(tiers)), tiers)
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")


def _extent(upper: float, lower: float) -> float:
    """An error-bar length: 0 where there is no interval, never negative by rounding."""
    return 0.0 if math.isnan(upper - lower) else max(0.0, upper - lower)


def _timing_figure(runs: tuple[Run, Run]) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 2.4))
    labels = [r.label for r in runs]
    judging = [r.judge_seconds or 0.0 for r in runs]
    generation = [r.generation_seconds or 0.0 for r in runs]
    ax.barh(labels, generation, color=COLOURS[1], label="generation (incl. model loading)")
    ax.barh(labels, judging, left=generation, color="#e67e22", label="judging")
    ax.set_xlabel("seconds")
    ax.legend(fontsize="small", loc="lower right")
    return fig


def _save(fig: Figure, path: Path) -> Path:
    """Rendered in memory and written atomically, like every other argen output."""
    png = io.BytesIO()
    try:
        fig.tight_layout()
        fig.savefig(png, format="png", dpi=110)
    finally:
        plt.close(fig)
    write_bytes_atomic(path, png.getvalue())
    return path

