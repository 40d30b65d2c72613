"""End-to-end GRPO on CPU: embedded model, embedded judge, W&B offline, a few tiny steps.

Checks the issue's done-when: rewards were computed, checkpoints were written, ``--resume``
continues the step count, and the merged model loads and generates; then ``argen_train.pick``
chooses and merges one of the run's checkpoints against a real lm-eval run of the base model.
Kept small for 2 CPU cores (one prompt x 2 completions of 16 tokens per step, 2 dev prompts).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from argen_train.__main__ import main

SECRET = "sk-argen-smoke-secret-0451"
TINY = [
    "--model", "smollm2-135m-instruct",
    "--backend", "transformers",
    "--judge", "local",
    "--per-device-train-batch-size", "2",
    "--gradient-accumulation-steps", "1",
    "--num-generations", "2",
    "--max-completion-length", "16",
    "--beta", "0",
    "--save-steps", "2",
    "--eval-limit", "2",
    "--learning-rate", "1e-4",
]  # fmt: skip


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No W&B login, a judge key in the environment, and one torch thread.

    One thread: when another process holds a core, two OpenMP threads spin against each other
    and a step takes 10-40x longer (results_train.md); on an idle machine one thread costs little.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    for name in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_RUN_ID", "WANDB_DIR", "WANDB_RESUME", "WANDB_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))  # nobody's W&B login: must run offline
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_grpo_smoke_resume_and_merged_model(
    tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARGEN_JUDGE", "local")  # the lm-eval baseline that argen_train.pick reads
    out = tmp_path / "run"
    common = [*TINY, "--output-dir", str(out), "--judge-cache", str(tmp_path / "cache.sqlite")]

    main([*common, "--max-steps", "2", "--report-to", "wandb", "--judge-api-key", SECRET])
    first = json.loads((out / "run.json").read_text())
    assert first["global_step"] == 2
    assert (out / "checkpoint-2" / "adapter_model.safetensors").is_file()
    history = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())["log_history"]
    steps = [entry for entry in history if "rewards/policy_reward/mean" in entry]
    assert [entry["step"] for entry in steps] == [1, 2]
    for entry in steps:
        assert not math.isnan(entry["rewards/policy_reward/mean"]), "rewards were computed"
        for column in ("dharma_score", "ahimsa_score", "helpfulness_score"):
            assert f"rewards/{column}/mean" in entry, "component columns are logged"
        assert entry["judge/error_rate"] == 0.0 and "judge/cache_hit_rate" in entry
    assert first["dev"]["final"]["step"] == 2 and first["dev"]["final"]["reward"] is not None
    assert first["dev"]["best"]["reward"] == first["dev"]["final"]["reward"]
    assert first["judge"] and first["rubric_version"] and first["policy_hash"]
    assert first["datasets"]["train"]["rows"] == 420 and len(first["datasets"]["train"]["sha256"]) == 64
    assert list((out / "wandb").glob("offline-run-*")), "W&B ran offline"
    assert list((out / "completions").glob("*.parquet")) and list((out / "dev_samples").glob("*.jsonl"))

    main([*common, "--max-steps", "3", "--report-to", "none", "--resume"])
    second = json.loads((out / "run.json").read_text())
    assert second["global_step"] == 3
    assert second["resumed_from"].endswith("checkpoint-2")
    history = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())["log_history"]
    assert [e["step"] for e in history if "rewards/policy_reward/mean" in e] == [1, 2, 3], "step count continued"
    assert [e["step"] for e in history if "eval_reward" in e] == [2, 3]

    leaked = [p for p in out.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert not leaked, f"the judge API key was written to {leaked}"

    assert_merged_model_generates(out / "merged", second["model"]["base_path"], out / "adapter")
    assert_pick_merges(out, second["model"]["base_path"], tmp_path, capsys)


def assert_pick_merges(run: Path, base_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``argen_train.pick`` on the run's own dev evaluations against a real lm-eval run of the base model."""
    from argen_tasks.models import materialise
    from argen_tasks.reporting.evaluate import EvalOptions, evaluate_model
    from argen_train.pick import main as pick

    options = EvalOptions("argen_dharma_dev", None, "cpu", "2", "max_gen_toks=16", limit=2)
    baseline = evaluate_model(str(materialise("smollm2-135m-instruct")), tmp_path / "base-dev", options)
    capsys.readouterr()
    merged = tmp_path / "picked"
    assert pick([str(run), "--baseline-dev", str(baseline), "--margin", "1", "--merge", str(merged)]) == 0
    [picked] = [line[6:] for line in capsys.readouterr().out.splitlines() if line.startswith("pick: ")]
    assert Path(picked) in (run / "checkpoint-2", run / "checkpoint-3"), "a margin of 1 admits every evaluated step"
    assert_merged_model_generates(merged, base_path, Path(picked))


def assert_merged_model_generates(merged: Path, base_path: str, adapter: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from argen_train.data import conversation

    model = AutoModelForCausalLM.from_pretrained(merged)
    tokenizer = AutoTokenizer.from_pretrained(merged)
    assert not hasattr(model, "peft_config"), "a plain transformers model, as lm-eval's hf model loads it"
    question = conversation("I have a mild headache. What can I do?")
    text = tokenizer.apply_chat_template(question, tokenize=False, add_generation_prompt=True)
    inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        output = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    answer = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert answer.strip(), "the merged model generates text"

    # Merged weights behave exactly like base + adapter (the adapter may be near zero after 3 steps).
    from peft import PeftModel

    base = AutoModelForCausalLM.from_pretrained(base_path)
    adapted = PeftModel.from_pretrained(base, adapter)
    with torch.inference_mode():
        expected = adapted(**inputs).logits
        actual = model(**inputs).logits
    torch.testing.assert_close(actual, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_failing_judge_stops_the_run(tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on: every judge request fails
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    with pytest.raises(SystemExit) as stopped:
        main(
            [*TINY, "--judge", "openai:down", "--judge-base-url", dead, "--judge-timeout", "1",
             "--output-dir", str(tmp_path / "run"), "--max-steps", "1", "--report-to", "none"]
        )  # fmt: skip
    assert stopped.value.code == 3
    message = " ".join(capsys.readouterr().err.split())
    assert "judge error rate 100% (2 of 2 completions without a verdict) at step 1" in message
    assert "APIConnectionError" in message and "--resume" in message


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_an_interrupted_checkpoint_neither_blocks_nor_is_resumed(
    tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Killed while ``checkpoint-N/`` was being written, with only its model card in it (the first
    file Trainer writes): a fresh run in that directory starts, and ``--resume`` continues from the
    latest complete checkpoint, losing at most one save interval."""
    out = tmp_path / "run"
    common = [*TINY, "--save-steps", "1", "--output-dir", str(out), "--report-to", "none"]
    interrupted(out / "checkpoint-1")
    main([*common, "--max-steps", "2"])
    assert f"removed {out / 'checkpoint-1'}: an incomplete checkpoint" in capsys.readouterr().err
    assert json.loads((out / "run.json").read_text())["global_step"] == 2

    card = (out / "checkpoint-2" / "README.md").read_text()
    shutil.rmtree(out / "checkpoint-2")
    interrupted(out / "checkpoint-2", card)
    main([*common, "--max-steps", "3", "--resume"])
    assert f"removed {out / 'checkpoint-2'}: an incomplete checkpoint" in capsys.readouterr().err
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["resumed_from"] == str(out / "checkpoint-1") and manifest["global_step"] == 3
    history = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())["log_history"]
    assert [e["step"] for e in history if "rewards/policy_reward/mean" in e] == [1, 2, 3], "step count continued"
    assert (out / "checkpoint-2" / "trainer_state.json").is_file(), "the lost step was trained and saved again"


def interrupted(checkpoint: Path, card: str = "---\nlibrary_name: peft\n---\n") -> None:
    checkpoint.mkdir(parents=True)
    (checkpoint / "README.md").write_text(card)
