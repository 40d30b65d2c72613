"""GRPO step time and peak GPU memory: argen's training path (Unsloth or transformers + PEFT) and a
bare TRL ``GRPOTrainer`` script, at the same settings.

    python benchmarks/gpu_grpo_step.py --shape smollm2-135m --backend unsloth --steps 4 --out step.json
    python benchmarks/gpu_grpo_step.py --shape llama-3.2-1b --trainer bare --steps 4 --out bare.json

``--trainer bare`` is the baseline argen is measured against: TRL's ``GRPOTrainer`` with the same
prompts (argen's train split in its chat format), LoRA, ``beta``, loss, batch and completion length,
and a trivial reward (completion length), nothing else.

Runs argen's real training entry point (``argen_train.train.run``) for a few steps on a model with
random weights and the shape of SmolLM2-135M or Llama-3.2-1B (no download: the tokenizer and config of
the embedded model travel as small files). Random weights rarely emit EOS, so every completion runs to
``--completion-length``: timings compare backends at a fixed amount of generation, not model quality.
The judge is a stub OpenAI-compatible server on 127.0.0.1 answering at once with a fixed verdict, so
the figures are the trainer's own cost. Step times come from TRL's ``step_time`` log; the first
(compilation/warm-up) step is reported separately.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from stub_judge_server import StubJudgeServer  # noqa: E402

SHAPES = {
    "smollm2-135m": None,  # the embedded model's own config.json
    "llama-3.2-1b": dict(
        vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
        num_key_value_heads=8, tie_word_embeddings=True, max_position_embeddings=8192, rope_theta=500000.0,
    ),  # fmt: skip
}


def random_model(shape: str, config_dir: Path, target: Path) -> Path:
    """A random-weight model directory of ``shape`` with the embedded model's tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    config = LlamaConfig.from_pretrained(config_dir)
    if SHAPES[shape]:
        config = LlamaConfig(**(config.to_dict() | SHAPES[shape]))
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16)
    model.save_pretrained(target)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json"):
        if (config_dir / name).exists():
            shutil.copy(config_dir / name, target / name)
    return target


def bare_trl(model_dir: Path, args: argparse.Namespace, output_dir: Path) -> None:
    """TRL's GRPOTrainer as its documentation writes it, on argen's prompts and argen's defaults."""
    from peft import LoraConfig
    from trl import GRPOConfig, GRPOTrainer

    from argen_train.config import TrainConfig
    from argen_train.data import prompt_dataset

    defaults = TrainConfig()
    completions = args.prompts_per_step * args.num_generations
    config = GRPOConfig(
        output_dir=str(output_dir), max_steps=args.steps, per_device_train_batch_size=completions,
        gradient_accumulation_steps=1, num_generations=args.num_generations,
        max_completion_length=args.completion_length, beta=defaults.beta, loss_type=defaults.loss_type,
        learning_rate=defaults.learning_rate, gradient_checkpointing=defaults.gradient_checkpointing, bf16=True,
        logging_steps=1, save_strategy="no", report_to=[], model_init_kwargs={"dtype": "bfloat16"},
    )  # fmt: skip
    lora = LoraConfig(r=defaults.lora_r, lora_alpha=defaults.lora_alpha, target_modules=defaults.lora_target_modules,
                      task_type="CAUSAL_LM")  # fmt: skip
    trainer = GRPOTrainer(model=str(model_dir), reward_funcs=lambda completions, **_: [float(len(str(c))) for c in completions],
                          args=config, train_dataset=prompt_dataset("train"), peft_config=lora)  # fmt: skip
    trainer.train()
    trainer.state.save_to_json(str(output_dir / "trainer_state.json"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="smollm2-135m")
    parser.add_argument("--trainer", choices=("argen", "bare"), default="argen")
    parser.add_argument("--backend", choices=("unsloth", "transformers"), default="transformers")
    parser.add_argument("--load-in-4bit", action="store_true")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--prompts-per-step", type=int, default=8)
    parser.add_argument("--num-generations", type=int, default=8)
    parser.add_argument("--completion-length", type=int, default=128)
    parser.add_argument("--config-dir", type=Path, default=Path(".model/smollm2-config"),
                        help="config.json + tokenizer files of the embedded model")  # fmt: skip
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import torch

    work = Path(tempfile.mkdtemp())
    model_dir = random_model(args.shape, args.config_dir, work / "model")
    completions = args.prompts_per_step * args.num_generations
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    if args.trainer == "bare":
        backend = "bare-trl"
        bare_trl(model_dir, args, work / "run")
        state_file = work / "run" / "trainer_state.json"
    else:
        from argen_train import backend as backends
        from argen_train.config import TrainConfig
        from argen_train.train import run

        backend = backends.activate(args.backend)
        with StubJudgeServer() as judge:
            config = TrainConfig(
                model=str(model_dir), backend=args.backend, load_in_4bit=args.load_in_4bit,
                judge="openai:stub", judge_base_url=judge.base_url, judge_cache="off",
                output_dir=str(work / "run"), max_steps=args.steps, per_device_train_batch_size=completions,
                gradient_accumulation_steps=1, num_generations=args.num_generations,
                max_completion_length=args.completion_length, save_steps=args.steps, eval_limit=8,
                report_to=["none"], log_completions=False, load_best_model_at_end=False,
            )  # fmt: skip
            run(config, backend, api_key="stub")
        state_file = next((work / "run").glob("checkpoint-*/trainer_state.json"))
    wall = time.perf_counter() - start
    state = json.loads(state_file.read_text())
    steps = [entry["step_time"] for entry in state["log_history"] if "step_time" in entry]
    result = {
        "shape": args.shape, "backend": backend, "load_in_4bit": args.load_in_4bit,
        "completions_per_step": completions, "completion_length": args.completion_length,
        "first_step_s": steps[0], "step_s_median_after_first": statistics.median(steps[1:]) if len(steps) > 1 else None,
        "step_times_s": steps, "wall_s": wall,
        "peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
    }  # fmt: skip
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
