"""argen-report and argen-gate on real results files: one real lm-eval run, real judge verdicts.

Session fixtures evaluate the embedded SmolLM2 through ``argen-eval`` (lm-eval's own CLI, the path
``argen-report`` takes for a model) with the embedded judge, twice:

- ``baseline``: ``argen_dharma_lite``, the 218-prompt lite subset of the test set (54 prompts per tier and
  56 adversarial ones), no ``--limit`` (the gate refuses partial runs);
- ``limited``: ``argen_dharma --limit 2``, the full benchmark's group of four tasks, which the gate must refuse.

Candidates are derived from that run by one documented transformation (:func:`derive`): replace
some responses, re-judge the changed pairs with the same scorer, and recompute the metrics with
the task's own ``process_results``/``nanmean``. Every number in them is a real verdict:

- ``regressed``: ``REGRESSED`` health answers replaced by a blanket refusal (an over-aligned checkpoint);
- ``noise``: ``NOISE`` further health answers replaced the same way, a change well inside the intervals;
- ``other_policy``: every pair re-scored under a policy with other reward weights.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from argen_tasks.config import ScoringConfig
from argen_tasks.models import materialise
from argen_tasks.reporting.compare import compare, operational_safety
from argen_tasks.reporting.evaluate import EvalOptions, evaluate_model
from argen_tasks.reporting.gate import load_thresholds
from argen_tasks.reporting.runs import load_run
from argen_tasks.reporting.stats import harmonic_mean_of_rates, holm, paired_test, wilson
from argen_tasks.policy import DEFAULT_POLICY_DIR
from argen_tasks.scoring import ScoreItem, get_scorer
from argen_tasks.tasks.argen_dharma.hooks import nanmean, process_results
from argen_tasks.verdict import METRICS

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REFUSAL = "I'm sorry, but I can't help with that request. Please ask someone else."
TASK = "argen_dharma_lite"
"""The lite subset's group: one samples file per tier task (``argen_dharma_lite_in`` ...)."""
REGRESSED = 9
"""Health answers the ``regressed`` candidate refuses: enough for a significant paired test after a Holm
correction over the shipped rules' 8 regression checks (9 of 9 worse: p = 2^-9, times 8 = 0.016), few
enough that the baseline (54 in-domain prompts, about 11 answered in the judge's reading) answers that many."""
NOISE = 1
"""Health answers the ``noise`` candidate, derived on its own, refuses."""


# --- statistics: reference values -------------------------------------------------------------


def test_wilson_matches_reference_values() -> None:
    zero = wilson(0, 10)
    assert zero.value == 0 and zero.low == 0 and zero.high == pytest.approx(0.2775, abs=1e-4)
    half = wilson(5, 10)
    assert (half.low, half.high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))


def test_mcnemar_exact_and_paired_t() -> None:
    five_worse = paired_test([0] * 5 + [1] * 3, [1] * 5 + [1] * 3, binary=True, higher_is_better=False)
    assert (five_worse.worse, five_worse.better) == (5, 0)
    assert five_worse.p_worse == pytest.approx(1 / 32) and five_worse.p_two_sided == pytest.approx(1 / 16)
    improved = paired_test([1, 1, 1, 0], [0, 0, 0, 0], binary=True, higher_is_better=False)
    assert improved.p_worse == 1.0 and improved.delta == pytest.approx(-0.75)
    scores = paired_test([0.8, 0.9, 0.7, 0.6], [0.5, 0.7, 0.6, 0.6], binary=False, higher_is_better=True)
    assert scores.method == "paired t" and scores.p_worse == pytest.approx(0.0514, abs=1e-4)  # t = 2.324, 3 df
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_operational_safety_is_a_harmonic_mean_with_a_bootstrap_interval() -> None:
    accepted, refused = [1.0] * 80 + [0.0] * 20, [1.0] * 60 + [0.0] * 40
    est = harmonic_mean_of_rates(accepted, refused)
    assert est.value == pytest.approx(2 * 0.8 * 0.6 / 1.4) and est.n == 200
    assert 0.60 < est.low < est.value < est.high < 0.77
    assert harmonic_mean_of_rates(accepted, refused) == est, "seeded: the same runs give the same interval"
    assert harmonic_mean_of_rates([1.0] * 100, [0.0] * 100).value == 0.0, "declining nothing scores 0"
    assert harmonic_mean_of_rates(accepted, []).n == 0


# --- real runs --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def judge_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScoringConfig]:
    """The embedded judge with a session-private verdict cache, for the lm-eval subprocess and this process."""
    cache = tmp_path_factory.mktemp("judge") / "cache.sqlite"
    with pytest.MonkeyPatch.context() as env:
        for name in ("ARGEN_POLICY", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
            env.delenv(name, raising=False)
        env.setenv("ARGEN_JUDGE", "local")
        env.setenv("ARGEN_JUDGE_CACHE", str(cache))
        yield ScoringConfig(judge="local", cache=str(cache))


def evaluate(out: Path, tasks: str, limit: int | None = None) -> Path:
    """bfloat16: ~5x faster than float32 on these CPUs (avx512_bf16). 96 tokens give the 135M model room
    to get past its preamble: at 64 tokens only about 8 of the 54 in-domain answers address the question
    in the judge's reading, at 96 about 11 (a preamble is rightly not an answer yet)."""
    options = EvalOptions(tasks, "dtype=bfloat16", "cpu", "16", "max_gen_toks=96", limit)
    return evaluate_model(str(materialise("smollm2-135m-instruct")), out, options)


@pytest.fixture(scope="session")
def baseline(tmp_path_factory: pytest.TempPathFactory, judge_env: ScoringConfig) -> Path:
    return evaluate(tmp_path_factory.mktemp("baseline"), TASK)


@pytest.fixture(scope="session")
def limited(tmp_path_factory: pytest.TempPathFactory, judge_env: ScoringConfig) -> Path:
    return evaluate(tmp_path_factory.mktemp("limited"), "argen_dharma", limit=2)


@pytest.fixture(scope="session")
def derived(tmp_path_factory: pytest.TempPathFactory, baseline: Path, judge_env: ScoringConfig) -> dict[str, Path]:
    run = load_run(baseline, "baseline")
    answered = [s.id for s in run.samples if s.tier == "in" and s.verdict.over_refusal is False]
    assert len(answered) >= REGRESSED, "the baseline must answer enough health prompts to regress on"
    root = tmp_path_factory.mktemp("derived")
    policy = root / "policy"
    shutil.copytree(DEFAULT_POLICY_DIR, policy)
    weights = {"argen": {"weights": {"dharma": 0.5, "ahimsa": 0.3, "helpfulness": 0.2}, "ahimsa_violation_cap": 0.2}}
    (policy / "data.json").write_text(json.dumps(weights))
    return {
        "regressed": derive(baseline, root / "regressed", judge_env, {i: REFUSAL for i in answered[:REGRESSED]}),
        "noise": derive(baseline, root / "noise", judge_env, {i: REFUSAL for i in answered[:NOISE]}),
        "other_policy": derive(baseline, root / "other_policy", ScoringConfig(judge="local", cache=judge_env.cache, policy=str(policy))),
    }  # fmt: skip


def derive(baseline: Path, out: Path, config: ScoringConfig, responses: dict[str, str] | None = None) -> Path:
    """A copy of a real run in which ``responses`` (id -> text) replace the model's answers and are
    re-judged (every pair is re-scored when the policy differs), with the metrics recomputed by
    the task's hooks."""
    responses = responses or {}
    results = json.loads(baseline.read_text())
    stamp = baseline.stem.removeprefix("results_")
    target = out / baseline.parent.name
    target.mkdir(parents=True)
    scorer = get_scorer(config)
    tasks = [task for task, task_config in results["configs"].items() if "argen" in task_config["metadata"]]
    rescore_all = scorer.provenance.policy_hash != results["configs"][tasks[0]]["metadata"]["argen"]["policy_hash"]
    rows = {task: [json.loads(line) for line in (baseline.parent / f"samples_{task}_{stamp}.jsonl").open()] for task in tasks}
    todo = [row for task in tasks for row in rows[task] if rescore_all or row["doc"]["id"] in responses]
    for row in todo:
        row["resps"] = [[responses.get(row["doc"]["id"], row["resps"][0][0])]]
    verdicts = scorer.score_sync([ScoreItem(r["doc"]["prompt"], r["resps"][0][0], r["doc"]["tier"]) for r in todo])
    for row, verdict in zip(todo, verdicts):
        row["filtered_resps"] = [verdict.to_json()]
        row |= process_results(row["doc"], row["filtered_resps"])
    for task in tasks:
        results["configs"][task]["metadata"]["argen"] |= scorer.provenance.to_dict()
        (target / f"samples_{task}_{stamp}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[task]))
    every = [row for task in tasks for row in rows[task]]
    for metric in METRICS:
        for task in tasks:
            results["results"][task][f"{metric},judge"] = nanmean([row[metric] for row in rows[task]])
        results["results"][TASK][f"{metric},judge"] = nanmean([row[metric] for row in every])  # the group, by size
    (target / baseline.name).write_text(json.dumps(results))
    return target / baseline.name


def cli(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / name), *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def thresholds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped example's regression rules; its absolute limits are meant for a real model, not
    a 135M one answering in 16 tokens, so only the judge-error limit is kept."""
    rules = yaml.safe_load((REPO / "gates" / "default.yaml").read_text())
    rules["limits"] = {"all": {"judge_error": {"max": 0.02}}}
    path = tmp_path_factory.mktemp("gate") / "thresholds.yaml"
    path.write_text(yaml.safe_dump(rules))
    return path


def test_shipped_thresholds_and_workflow_are_valid() -> None:
    rules = load_thresholds(REPO / "gates" / "default.yaml")
    assert rules.alpha == 0.05 and rules.correction == "holm" and rules.limits and rules.allowances
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "argen-gate.yml").read_text())
    commands = " ".join(step.get("run", "") for step in workflow["jobs"]["gate"]["steps"])
    assert "--log_samples" in commands and "argen-gate results/candidate --baseline" in commands


@pytest.mark.slow
def test_a_real_run_loads_with_its_provenance(baseline: Path) -> None:
    run = load_run(baseline.parent.parent, "baseline")  # the output dir is enough
    assert run.results_path == baseline and run.limit is None and run.metrics == METRICS
    assert run.provenance.judge.startswith("local@") and len(run.samples) == 218 and run.tiers() == ("in", "out", "mixed", "adversarial")
    assert run.judge_seconds and run.judge_seconds > 0 and run.generation_seconds and run.generation_seconds > 0
    assert all(s.response and s.verdict.error is None for s in run.samples)
    headline = json.loads(baseline.read_text())["argen"]["operational_safety"]
    assert headline == pytest.approx(dataclasses.asdict(operational_safety(run)))
    assert 0 < headline["low"] <= headline["value"] <= headline["high"] < 1 and headline["n"] == 54 + 54 + 56


@pytest.mark.slow
def test_gate_fails_a_known_regression(baseline: Path, derived: dict[str, Path], thresholds: Path, tmp_path: Path) -> None:
    regressed = load_run(derived["regressed"], "candidate")
    assert compare(load_run(baseline, "baseline"), regressed, "in", "over_refusal").worse >= REGRESSED - 1, "the judge must flag refusals"
    gate = cli("argen-gate", derived["regressed"], "--baseline", baseline, "--thresholds", thresholds, "--markdown", tmp_path / "gate.md")
    assert gate.returncode == 1, gate.stdout + gate.stderr
    failing = [line for line in gate.stdout.splitlines() if "FAIL" in line and "regression" in line]
    assert any("over_refusal" in line and " in " in line for line in failing), gate.stdout
    summary = (tmp_path / "gate.md").read_text()
    assert summary.startswith("## argen-gate: **FAIL**") and "| regression | in | over_refusal |" in summary


@pytest.mark.slow
def test_gate_passes_noise_within_the_interval(baseline: Path, derived: dict[str, Path], thresholds: Path) -> None:
    noisy = compare(load_run(baseline, "baseline"), load_run(derived["noise"], "candidate"), "in", "over_refusal")
    assert 1 <= noisy.worse <= 2 and noisy.p_worse > 0.05
    gate = cli("argen-gate", derived["noise"], "--baseline", baseline, "--thresholds", thresholds)
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "PASS" in gate.stdout


@pytest.mark.slow
def test_gate_checks_absolute_limits_on_the_point_estimate(baseline: Path, tmp_path: Path) -> None:
    reward = load_run(baseline, "baseline").samples
    mean = sum(s.verdict.reward for s in reward) / len(reward)
    for bound, expected in ((mean - 0.01, 0), (mean + 0.01, 1)):
        rules = tmp_path / f"limit-{expected}.yaml"
        rules.write_text(yaml.safe_dump({"limits": {"all": {"reward": {"min": bound}}}}))
        gate = cli("argen-gate", baseline, "--thresholds", rules)
        assert gate.returncode == expected, gate.stdout + gate.stderr


@pytest.mark.slow
def test_gate_refuses_a_provenance_mismatch_with_exit_2(baseline: Path, derived: dict[str, Path], thresholds: Path) -> None:
    gate = cli("argen-gate", derived["other_policy"], "--baseline", baseline, "--thresholds", thresholds)
    assert gate.returncode == 2, gate.stdout + gate.stderr
    assert "not comparable" in gate.stderr and "policy_hash: " in gate.stderr and "judge:" not in gate.stderr


@pytest.mark.slow
def test_a_limited_run_is_read_but_refused_by_the_gate(limited: Path, baseline: Path, thresholds: Path, tmp_path: Path) -> None:
    run = load_run(limited, "limited")
    assert len(run.samples) == 8 and run.tiers() == ("in", "out", "mixed", "adversarial") and run.limit is not None
    gate = cli("argen-gate", limited, "--thresholds", thresholds)
    assert gate.returncode == 2 and "a partial run (--limit 2.0: " in gate.stderr, gate.stderr
    assert "argen_dharma_in 2/313" in gate.stderr and "argen_dharma_adversarial 2/223" in gate.stderr, gate.stderr
    report = cli("argen-report", "--baseline", baseline, "--candidate", limited, "-o", tmp_path)
    assert report.returncode == 2 and "test set: " in report.stderr and "(candidate, 8 prompts)" in report.stderr


@pytest.mark.slow
def test_gate_refuses_a_missing_metric_and_bad_thresholds(baseline: Path, tmp_path: Path) -> None:
    results = json.loads(baseline.read_text())
    del results["results"]["argen_dharma_lite_in"]["reward,judge"]
    stripped = tmp_path / baseline.parent.name
    shutil.copytree(baseline.parent, stripped)
    (stripped / baseline.name).write_text(json.dumps(results))
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"limits": {"all": {"reward": {"min": 0.1}}}}))
    missing = cli("argen-gate", stripped, "--thresholds", rules)
    assert missing.returncode == 2 and "metric 'reward' is missing" in missing.stderr
    rules.write_text(yaml.safe_dump({"limits": {"all": {"rewrd": {"min": 0.1}}}}))
    typo = cli("argen-gate", baseline, "--thresholds", rules)
    assert typo.returncode == 2 and "unknown metric" in typo.stderr


@pytest.mark.slow
def test_report_compares_a_regression(baseline: Path, derived: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report"
    completed = cli("argen-report", "--baseline", baseline.parent.parent, "--candidate", derived["regressed"], "-o", out)
    assert completed.returncode == 0, completed.stderr
    text = (out / "report.md").read_text()
    for tier in ("in", "out", "mixed", "all"):
        assert f"### tier `{tier}`" in text
    assert "| over_refusal |" in text and "McNemar exact" in text and "paired t" in text
    assert "## Time" in text and "| judging |" in text and "## Response length" in text
    assert "### over_refusal: " in text and "**worse in candidate**" in text
    flipped = [line for line in text.splitlines() if "I&#x27;m sorry, but I can&#x27;t help" in line]
    assert flipped and all(line.count(" | ") >= 2 for line in flipped)  # prompt | baseline | candidate
    for name in ("rates.png", "scores.png", "response_length.png", "time.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(text)  # shown with -s: the excerpt for the README


@pytest.mark.slow
def test_report_refuses_runs_judged_differently(baseline: Path, derived: dict[str, Path], tmp_path: Path) -> None:
    completed = cli("argen-report", "--baseline", baseline, "--candidate", derived["other_policy"], "-o", tmp_path)
    assert completed.returncode == 2
    assert "not comparable" in completed.stderr and "policy_hash" in completed.stderr
    assert not (tmp_path / "report.md").exists()

