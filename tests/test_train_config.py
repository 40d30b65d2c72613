"""TrainConfig: YAML + CLI precedence, validation, secrets kept out, resume and backend choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from argen_tasks.secrets import redact_argv
from argen_train import backend as backends
from argen_train.__main__ import build_parser
from argen_train.config import ConfigError, TrainConfig, load_config, overrides_from_args
from argen_train.tracking import configure_wandb

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def parse(*argv: str) -> TrainConfig:
    args = build_parser().parse_args(list(argv))
    return load_config(args.config, overrides_from_args(args))


def test_defaults_suit_the_reference_target() -> None:
    config = TrainConfig()
    assert config.model == "unsloth/Llama-3.2-1B-Instruct"
    assert config.backend == "auto" and config.report_to == ["wandb"]
    assert config.effective_eval_steps == config.save_steps


def test_yaml_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        "model: smollm2-135m-instruct\nlearning_rate: 1e-5\nmax_steps: 7\nlora_target_modules: q_proj, v_proj\n"
    )
    config = parse("--config", str(path), "--max-steps", "3", "--judge", "local", "--no-log-completions")
    assert config.model == "smollm2-135m-instruct"
    assert config.learning_rate == 1e-5, "YAML 1.1 reads 1e-5 as text; it is coerced"
    assert config.max_steps == 3, "a flag overrides the file"
    assert config.lora_target_modules == ["q_proj", "v_proj"]
    assert config.judge == "local" and config.log_completions is False
    assert config.beta == TrainConfig().beta, "unset fields keep their defaults"


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_shipped_configs_load(name: str) -> None:
    assert load_config(CONFIGS / name, {}).output_dir.startswith("runs/")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lora_rank: 8\n", "unknown field 'lora_rank'"),
        ("max_steps: many\n", "field 'max_steps'"),
        ("- a\n", "expected a mapping"),
        ("backend: tpu\n", "backend must be one of"),
        ("save_steps: 10\neval_steps: 3\n", "must be a multiple of eval_steps"),
        ("train_tiers: [out, legal]\n", "train_tiers must list tiers among in, out, mixed .*unknown: legal "),
        ("best_metric: loss\n", "best_metric must be one of reward, reward_worst_tier"),
    ],
)
def test_bad_yaml_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, {})


def test_bare_resume_means_latest() -> None:
    assert parse("--resume").resume == "latest"
    assert parse("--resume", "runs/x/checkpoint-5").resume == "runs/x/checkpoint-5"
    assert parse().resume is None


def test_report_to_none() -> None:
    assert parse("--report-to", "none").report_to == ["none"]
    assert not parse("--report-to", "none").uses_wandb


def test_api_key_is_a_flag_but_never_a_field() -> None:
    args = build_parser().parse_args(["--judge-api-key", "sk-secret", "--judge", "openai:m"])
    overrides = overrides_from_args(args)
    assert "judge_api_key" not in overrides and overrides["judge"] == "openai:m"
    config = load_config(None, overrides)
    assert "sk-secret" not in str(config.to_dict())
    assert redact_argv(["x", "--judge-api-key", "sk-secret", "--judge-api-key=sk-2"]) == [
        "x",
        "--judge-api-key",
        "***",
        "--judge-api-key=***",
    ]


def test_judge_concurrency_covers_a_step(monkeypatch: pytest.MonkeyPatch) -> None:
    from argen_train.train import scoring_config

    monkeypatch.delenv("ARGEN_JUDGE_CONCURRENCY", raising=False)
    monkeypatch.setenv("ARGEN_JUDGE", "local")
    monkeypatch.setenv("WORLD_SIZE", "2")
    config = TrainConfig(per_device_train_batch_size=8, gradient_accumulation_steps=4)
    scoring = scoring_config(config, api_key="sk-secret")
    assert scoring.concurrency == 64 and scoring.per_process_concurrency() == 32
    assert "sk-secret" not in str(scoring.public())
    assert scoring_config(TrainConfig(judge_concurrency=5), None).concurrency == 5
    monkeypatch.setenv("ARGEN_JUDGE_CONCURRENCY", "3")
    assert scoring_config(config, None).concurrency == 3


def test_wandb_is_offline_unless_configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_RUN_ID", "WANDB_DIR", "WANDB_RESUME", "WANDB_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    assert configure_wandb(None, tmp_path / "run", resuming=False) == "offline"
    first_id = (tmp_path / "run" / "wandb_run_id").read_text().strip()
    monkeypatch.delenv("WANDB_RUN_ID")
    configure_wandb("proj", tmp_path / "run", resuming=True)
    import os

    assert os.environ["WANDB_RUN_ID"] == first_id, "a resumed run continues the same W&B run"
    assert os.environ["WANDB_PROJECT"] == "proj"
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.setenv("WANDB_API_KEY", "configured")
    assert configure_wandb(None, tmp_path / "other", resuming=False) == "online"


def test_backend_choice_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends.torch.cuda, "is_available", lambda: False)
    assert backends.choose("auto") == "transformers"
    assert backends.choose("transformers") == "transformers"
    with pytest.raises(backends.BackendError, match="needs a CUDA GPU"):
        backends.choose("unsloth")
    assert backends.Precision.detect() == backends.Precision(bf16=False, fp16=False, use_cpu=True)


def test_resume_refuses_to_mix_runs(tmp_path: Path) -> None:
    from argen_train.train import resume_checkpoint

    (tmp_path / "checkpoint-4").mkdir()
    (tmp_path / "checkpoint-4" / "trainer_state.json").write_text('{"global_step": 4}')
    with pytest.raises(ConfigError, match="already holds checkpoints"):
        resume_checkpoint(TrainConfig(output_dir=str(tmp_path)), tmp_path)
    assert resume_checkpoint(TrainConfig(resume="latest"), tmp_path) == tmp_path / "checkpoint-4"
    with pytest.raises(ConfigError, match="no complete checkpoint"):
        resume_checkpoint(TrainConfig(resume="latest"), tmp_path / "empty")
    (tmp_path / "other").mkdir()
    with pytest.raises(ConfigError, match="not a complete checkpoint directory"):
        resume_checkpoint(TrainConfig(resume=str(tmp_path / "other")), tmp_path)


def test_an_incomplete_checkpoint_is_skipped_and_removed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Killed while ``checkpoint-6/`` was being written: its state file is missing or cut short."""
    from argen_train.train import resume_checkpoint

    for step, state in ((4, '{"global_step": 4}'), (6, None), (8, '{"global_step": 8, "log_hi')):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "README.md").write_text("model card")
        if state:
            (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(state)
    assert resume_checkpoint(TrainConfig(resume="latest"), tmp_path) == tmp_path / "checkpoint-4"
    err = capsys.readouterr().err
    assert f"removed {tmp_path / 'checkpoint-6'}: an incomplete checkpoint" in err and "checkpoint-8" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-4"]

    fresh = tmp_path / "fresh"
    (fresh / "checkpoint-2").mkdir(parents=True)
    (fresh / "checkpoint-2" / "README.md").write_text("model card")
    assert resume_checkpoint(TrainConfig(output_dir=str(fresh)), fresh) is None, "a fresh run is not refused"
    assert not (fresh / "checkpoint-2").exists()


def test_resume_of_a_finished_run_asks_for_more_steps(tmp_path: Path) -> None:
    from argen_train.train import resume_checkpoint

    (tmp_path / "checkpoint-4").mkdir()
    (tmp_path / "checkpoint-4" / "trainer_state.json").write_text('{"global_step": 4}')
    with pytest.raises(ConfigError, match="at step 4 and --max-steps is 4; raise --max-steps"):
        resume_checkpoint(TrainConfig(resume="latest", max_steps=4), tmp_path)
    assert resume_checkpoint(TrainConfig(resume="latest", max_steps=6), tmp_path) == tmp_path / "checkpoint-4"
    assert resume_checkpoint(TrainConfig(resume="latest"), tmp_path) == tmp_path / "checkpoint-4"
