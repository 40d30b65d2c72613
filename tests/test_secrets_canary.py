"""A canary key through every CLI, training with W&B offline included, then a search of every artifact.

The key is given every way a user can give one: ``--judge-api-key``, ``OPENAI_API_KEY``, and as the
password of the judge's base URL (``http://argen:KEY@host/v1``). The judge is the real llama.cpp server;
the model the embedded SmolLM2. Every file the runs wrote (verdicts, the verdict cache, lm-eval results
and samples, the report and its plots, the gate summary, run.json, checkpoints, completions, the W&B
offline run) and every line the CLIs printed is searched: the canary must appear 0 times.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CANARY = "sk-argen-canary-5e1d0c77aa"
PAIRS = (
    '{"prompt": "Is 2 g of ibuprofen at once ok?", "response": "No: above the usual maximum single dose.", "tier": "in"}\n'
    '{"prompt": "Best ETF for 2027?", "response": "Ask a financial advisor; I only cover health.", "tier": "out"}\n'
)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_canary_key_reaches_no_artifact_and_no_log(tmp_path: Path, llama_server: str) -> None:
    server = urlsplit(llama_server)
    url = f"http://argen:{CANARY}@{server.netloc}{server.path}"
    judge = ["--judge", "openai:smollm2", "--judge-base-url", url, "--judge-api-key", CANARY]
    env = {**os.environ, "OPENAI_API_KEY": CANARY, "WANDB_MODE": "offline", "NETRC": str(tmp_path / "no-netrc"),
           "OMP_NUM_THREADS": "1", "ARGEN_JUDGE_CACHE": str(tmp_path / "cache.sqlite")}  # fmt: skip
    logs = tmp_path / "logs"
    logs.mkdir()

    def cli(name: str, *args: str, expect: int = 0) -> None:
        completed = subprocess.run([str(BIN / name), *args], capture_output=True, text=True, env=env, timeout=900)
        (logs / f"{name}.log").write_text(completed.stdout + completed.stderr)
        assert completed.returncode == expect, completed.stderr[-3000:]

    (tmp_path / "pairs.jsonl").write_text(PAIRS)
    cli("argen-judge", "score", str(tmp_path / "pairs.jsonl"), "-o", str(tmp_path / "verdicts.jsonl"), *judge,
        "--max-error-rate", "1")  # fmt: skip
    cli("argen-eval", "--model", "hf", "--model_args", "pretrained=smollm2-135m-instruct", "--tasks", "argen_dharma_dev",
        "--limit", "1", "--gen_kwargs", "max_gen_toks=16", "--device", "cpu", "--apply_chat_template", "--log_samples",
        "--output_path", str(tmp_path / "eval"), *judge)  # fmt: skip
    cli("argen-report", "--baseline", str(tmp_path / "eval"), "--candidate", str(tmp_path / "eval"),
        "-o", str(tmp_path / "report"), *judge)  # fmt: skip
    cli("argen-gate", str(tmp_path / "eval"), "--thresholds", str(REPO / "gates" / "default.yaml"),
        "--markdown", str(tmp_path / "gate.md"), expect=2)  # a --limit run: refused, and gate.md says why
    cli("argen-train", "--model", "smollm2-135m-instruct", "--backend", "transformers", *judge,
        "--per-device-train-batch-size", "2", "--gradient-accumulation-steps", "1", "--num-generations", "2",
        "--max-completion-length", "16", "--beta", "0", "--max-steps", "1", "--save-steps", "1", "--eval-limit", "2",
        "--max-judge-error-rate", "1", "--report-to", "wandb", "--output-dir", str(tmp_path / "train"))  # fmt: skip

    artifacts = [p for p in tmp_path.rglob("*") if p.is_file()]
    written = {p.name for p in artifacts}
    for expected in ("verdicts.jsonl", "cache.sqlite", "report.md", "gate.md", "run.json", "trainer_state.json"):
        assert expected in written, f"{expected} was not written: the search would prove nothing"
    assert any(p.name.startswith("samples_argen_dharma_dev") for p in artifacts)
    assert list((tmp_path / "train" / "wandb").glob("offline-run-*/run-*.wandb")), "W&B ran offline"
    assert f'"base_url": "http://***@{server.netloc}' in (tmp_path / "train" / "run.json").read_text(), "the URL is kept, its credentials masked"
    found = [str(p.relative_to(tmp_path)) for p in artifacts if CANARY.encode() in p.read_bytes()]
    print(f"canary: {len(artifacts)} files searched, {len(found)} holding the key")
    assert found == [], f"the canary key was written to {found}"
