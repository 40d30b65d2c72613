"""A plain-PyTorch stand-in for TRL 1.15's Triton log-probability kernel, for machines without Triton.

TRL 1.15's GRPOTrainer computes every per-token log-probability through a "fused LM head" whose
only implementation (``trl.kernels.ChunkedLogProbFunction``) is a Triton kernel. Where Triton is
missing, as with every CPU-only torch build, TRL leaves ``trl.trainer.utils._ChunkedLogProbFunction``
as ``None`` and the first training step fails with ``'NoneType' object has no attribute 'apply'``.
:func:`install` puts :class:`TorchLogProbs` in its place in that case only; with Triton present
(the GPU machines) TRL's kernel is used untouched. trl is pinned (==1.15.0), and the test suite
checks this function against a direct ``log_softmax``, so a TRL change cannot slip through.

The stand-in materialises the ``[tokens, vocab]`` logits, which is fine at CPU scale.
"""

from __future__ import annotations

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


def install() -> bool:
    """Use :class:`TorchLogProbs` if TRL found no Triton kernel; return whether it was installed."""
    from trl.trainer import utils

    if utils._ChunkedLogProbFunction is not None:
        return False
    utils._ChunkedLogProbFunction = TorchLogProbs
    return True
