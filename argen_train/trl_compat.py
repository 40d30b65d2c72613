"""Per-token log-probabilities for TRL 1.15's fused LM head on every device, Triton or not.

TRL 1.15's GRPOTrainer computes every per-token log-probability through a "fused LM head" whose
only implementation (``trl.kernels.ChunkedLogProbFunction``) is a Triton kernel, and it calls that
kernel whatever device the tensors are on. Two setups break: a CPU-only torch build has no Triton,
so TRL leaves ``trl.trainer.utils._ChunkedLogProbFunction`` as ``None`` and the first step fails
with ``'NoneType' object has no attribute 'apply'``; a CUDA build training on CPU (no GPU visible)
has Triton, and the kernel fails on CPU tensors ("0 active drivers"). :func:`install` puts a
:class:`DeviceDispatch` in its place: TRL's kernel, untouched, for accelerator tensors, and
:class:`TorchLogProbs` for the rest. trl is pinned (==1.15.0), and the test suite checks the
stand-in against a direct ``log_softmax``, so a TRL change cannot slip through.

The stand-in materialises the ``[tokens, vocab]`` logits, which is fine at CPU scale.
"""

from __future__ import annotations

from typing import Any

import torch

OPTIONAL_OUTPUTS = ("entropy", "log_sum_sq_probs", "mean_logits", "is_top1")

Outputs = tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]


class TorchLogProbs:
    """Same call and results as ``ChunkedLogProbFunction.apply``; gradients come from ordinary autograd."""

    @staticmethod
    def apply(
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        targets: torch.Tensor,
        temperature: float,
        chunk_size: int,
        final_logit_softcapping: float | None = None,
        logit_scale: float = 1.0,
        outputs: tuple[str, ...] = OPTIONAL_OUTPUTS,
    ) -> Outputs:
        logits = torch.nn.functional.linear(hidden, weight, bias).float() * logit_scale
        if final_logit_softcapping is not None:
            logits = final_logit_softcapping * torch.tanh(logits / final_logit_softcapping)
        logits = logits / temperature
        log_p = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
        logprobs = log_p.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        entropy = -(log_p.exp() * log_p).sum(-1) if "entropy" in outputs else None
        with torch.no_grad():
            log_sum_sq_probs = torch.logsumexp(2 * log_p, dim=-1) if "log_sum_sq_probs" in outputs else None
            mean_logits = logits.mean(-1) if "mean_logits" in outputs else None
            is_top1 = logits.argmax(-1) == targets if "is_top1" in outputs else None
        return logprobs, entropy, log_sum_sq_probs, mean_logits, is_top1


KERNEL_DEVICES = ("cuda", "xpu")
"""Devices TRL's Triton kernel runs on (those of ``trl.trainer.utils._supports_trl_loss_kernel``)."""


class DeviceDispatch:
    """Same call as ``ChunkedLogProbFunction.apply``: TRL's kernel where it can run, else :class:`TorchLogProbs`."""

    def __init__(self, kernel: type | None) -> None:
        self.kernel = kernel

    def apply(self, hidden: torch.Tensor, *args: Any) -> Outputs:
        if self.kernel is not None and hidden.device.type in KERNEL_DEVICES:
            return self.kernel.apply(hidden, *args)
        return TorchLogProbs.apply(hidden, *args)


def install() -> DeviceDispatch:
    """Route TRL's fused LM head through :class:`DeviceDispatch` (once per process)."""
    from trl.trainer import utils

    if not isinstance(utils._ChunkedLogProbFunction, DeviceDispatch):
        utils._ChunkedLogProbFunction = DeviceDispatch(utils._ChunkedLogProbFunction)
    return utils._ChunkedLogProbFunction
