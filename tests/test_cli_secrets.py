"""API keys never reach what argen records or prints: abbreviated flags, values, URL credentials."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from argen_tasks.config import ScoringConfig
from argen_tasks.secrets import redact_argv, redact_text, redact_url, secret_values
from argen_train.__main__ import build_parser
from argen_train.config import TrainConfig

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CANARY = "sk-canary-7f3a9c1e5b"
SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
FIRST_ARGS = {
    "argen-judge": ["score", "pairs.jsonl", "-o", "out.jsonl"],
    "argen-gate": ["results", "--thresholds", "gates.yaml"],
    "argen-report": ["--baseline", "a", "--candidate", "b"],
    "argen-model": ["smollm2-135m-instruct"],
    "argen-eval": ["--tasks", "argen_dharma"],
    "argen-train": ["--max-steps", "1"],
    "argen-pick": ["runs/x", "--baseline-dev", "results/base"],
    "argen-fit-judge": ["--epochs", "1"],
    "argen-group-contrast": ["--generations", "2"],
    "argen-advantages": ["runs/x/completions"],
    "argen-alignment": ["outputs/demo"],
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_an_abbreviated_key_flag_is_refused_and_not_echoed(script: str, tmp_path: Path) -> None:
    """``--judge-api KEY`` once passed for ``--judge-api-key`` and escaped the redaction by name."""
    completed = subprocess.run(
        [str(BIN / script), *FIRST_ARGS[script], "--judge-api", CANARY],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 2, completed.stderr
    assert "unrecognized arguments: --judge-api ***" in completed.stderr or "abbreviated options are not accepted" in completed.stderr
    assert CANARY not in completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    assert list(tmp_path.iterdir()) == []


def test_every_script_is_listed() -> None:
    assert set(FIRST_ARGS) == set(SCRIPTS)


def test_argen_train_parses_only_the_full_flag() -> None:
    assert build_parser().parse_args(["--judge-api-key", CANARY]).judge_api_key == CANARY
    with pytest.raises(SystemExit) as refused:
        build_parser().parse_args(["--judge-api", CANARY])
    assert refused.value.code == 2


def test_recorded_commands_lose_keys_by_value_and_in_urls() -> None:
    argv = ["argen-train", "--judge-api-key", CANARY, "--run-name", f"try-{CANARY}",
            "--judge-base-url", "https://team:sk-in-the-url-42@judge.example/v1?api_key=sk-query-key-9&x=1"]  # fmt: skip
    recorded = " ".join(redact_argv(argv, environ={}))
    for secret in (CANARY, "sk-in-the-url-42", "sk-query-key-9"):
        assert secret not in recorded
    assert "--run-name try-***" in recorded and "https://***@judge.example/v1?api_key=***&x=1" in recorded
    from_env = redact_argv(["argen-eval", "--output_path", f"runs/{CANARY}"], environ={"OPENAI_API_KEY": CANARY})
    assert from_env == ["argen-eval", "--output_path", "runs/***"]


def test_messages_lose_keys_given_in_any_way() -> None:
    secrets = secret_values(["--judge-api-key=" + CANARY], environ={"OPENAI_BASE_URL": "http://u:sk-env-url-77@h/v1"})
    text = f"failed: {CANARY} at http://u:sk-env-url-77@h/v1 (sk-env-url-77)"
    assert redact_text(text, secrets) == "failed: *** at http://***@h/v1 (***)"
    assert redact_url("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1", "a URL without credentials is kept"


def test_configs_recorded_in_run_json_and_wandb_hold_no_url_credentials() -> None:
    url = f"https://user:{CANARY}@judge.example:8443/v1"
    scoring = ScoringConfig(judge="openai:m", base_url=url, api_key=CANARY)
    assert CANARY not in str(scoring.public()) and scoring.public()["base_url"] == "https://***@judge.example:8443/v1"
    train = TrainConfig(judge_base_url=url, vllm_server_url=f"http://{CANARY}@gpu:8000")
    assert CANARY not in str(train.to_dict())
    assert train.judge_base_url == url, "the run itself still gets the real URL"
