"""The shipped data: prompt splits and the labeled judge set, with row validation.

Bad rows fail with the file, the line and the field, so a user's own data gets a fixable error.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from argen_tasks.domain import ADVERSARIAL, ATTACKS, EXPECTED, TIERS, topic_is_valid
from argen_tasks.resources import folder

SPLITS = ("train", "dev", "test")
PROMPT_FILES = (*SPLITS, ADVERSARIAL)
"""The GRPO splits, and the adversarial prompts (a test set of their own, never trained on)."""
LABEL_FIELDS = ("dharma_violation", "over_refusal", "ahimsa_violation")
DECLINE_FIELD = "declined"
"""Labeled on ``out`` rows only: the response turns the request down (with or without a redirect or a
health angle). The rubric's helpfulness there is a brief decline with a redirect, and the three flags
cannot tell a decline from text that merely avoids the task."""

SPAN_FIELDS = ("offscope_spans", "unsafe_spans", "health_spans")
"""On long-answer rows: every out-of-scope passage, every unsafe statement, and passages that address
the health request (not necessarily all of them)."""


class DataError(ValueError):
    pass


def data_dir() -> Path:
    """``data/`` of the source tree, installed as the package ``argen_tasks.data``."""
    return folder("argen_tasks.data", "data")


def prompts_path(split: str) -> Path:
    if split not in PROMPT_FILES:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(PROMPT_FILES)}")
    return data_dir() / "prompts" / f"{split}.jsonl"


def labeled_path() -> Path:
    return data_dir() / "judge" / "labeled.jsonl"


def long_answers_path() -> Path:
    return data_dir() / "judge" / "long_answers.jsonl"


def labeled_split(prompt: str) -> str:
    """``"heldout"`` for a fixed quarter of the labeled prompts, else ``"train"``.

    Decided by a hash of the prompt, so every response to one prompt lands on the same side and
    adding rows never moves existing ones. The held-out side is never used to fit a judge.
    """
    return "heldout" if hashlib.sha256(prompt.encode("utf-8")).digest()[0] < 64 else "train"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """One JSON object per line. A UTF-8 byte-order mark and CRLF line ends (files saved on Windows) are
    accepted; a file with no rows, a line that is not UTF-8 text (a binary or mis-encoded file) or not
    a JSON object fails with its line number."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror})") from None
    rows = []
    for number, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{path}:{number}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                "expected JSON Lines: is this a binary or compressed file? Save it as UTF-8 JSONL"
            ) from None
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno}); "
                "expected one JSON object per line: fix or remove that line"
            ) from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{number}: expected a JSON object per line, got {type(row).__name__}")
        rows.append(row | {"_line": number})
    if not rows:
        raise DataError(f"{path}: no rows (the file is empty or blank); expected one JSON object per line")
    return rows


def load_prompts(split: str) -> list[dict[str, Any]]:
    path = prompts_path(split)
    rows = read_jsonl(path)
    for row in rows:
        _check_prompt_row(path, row, adversarial=split == ADVERSARIAL)
    return [_without_line(row) for row in rows]


def load_labeled(path: Path | None = None) -> list[dict[str, Any]]:
    path = path or labeled_path()
    return [_without_line(row) for row in _read_labeled(path)]


def _read_labeled(path: Path) -> list[dict[str, Any]]:
    rows = read_jsonl(path)
    for row in rows:
        where = f"{path}:{row['_line']}"
        _require_text(where, row, "prompt")
        _require_text(where, row, "response")
        _require_tier(where, row)
        for name in LABEL_FIELDS:
            if not isinstance(row.get(name), bool):
                raise DataError(f"{where}: field {name!r} must be true or false")
        _check_decline(where, row)
    return rows


def _without_line(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "_line"}


def load_long_answers(path: Path | None = None) -> list[dict[str, Any]]:
    """The long-answer set: labeled rows plus where each came from and the evidence for its labels.

    Each row answers a prompt of the GRPO ``train`` or ``dev`` split (``prompt_id``), possibly
    translated; its side (``"split"``: fit or held-out) is that source prompt's
    :func:`labeled_split`, so a translation lands with its original.
    """
    path = path or long_answers_path()
    sources = {row["id"]: row["prompt"] for split in ("train", "dev") for row in load_prompts(split)}
    rows = _read_labeled(path)
    for row in rows:
        where = f"{path}:{row['_line']}"
        if row.get("prompt_id") not in sources:
            raise DataError(f"{where}: field 'prompt_id' must name a prompt of the train or dev split; got {row.get('prompt_id')!r}")
        _require_text(where, row, "source")
        for name in SPAN_FIELDS:
            spans = row.get(name)
            if not isinstance(spans, list) or not all(isinstance(s, str) and s in row["response"] for s in spans):
                raise DataError(f"{where}: field {name!r} must list passages copied verbatim from the response")
        row["split"] = labeled_split(sources[row["prompt_id"]])
    return [_without_line(row) for row in rows]


def _check_decline(where: str, row: dict[str, Any]) -> None:
    if row["tier"] != "out":
        if DECLINE_FIELD in row:
            raise DataError(f"{where}: field {DECLINE_FIELD!r} is labeled on out-of-scope rows only; remove it")
        return
    if not isinstance(row.get(DECLINE_FIELD), bool):
        raise DataError(f"{where}: field {DECLINE_FIELD!r} must be true or false on an out-of-scope row")
    if row[DECLINE_FIELD] and row["dharma_violation"]:
        raise DataError(
            f"{where}: {DECLINE_FIELD!r} is true but so is 'dharma_violation'; declining and then answering "
            "anyway is not a decline"
        )


def _check_prompt_row(path: Path, row: dict[str, Any], adversarial: bool) -> None:
    where = f"{path}:{row['_line']}"
    for name in ("id", "prompt", "topic"):
        _require_text(where, row, name)
    _require_tier(where, row)
    if not topic_is_valid(row["tier"], row["topic"]):
        raise DataError(f"{where}: topic {row['topic']!r} is not a {row['tier']!r} topic (see argen_tasks/domain.py)")
    if adversarial or "attack" in row:
        _check_attack(where, row)
    if not isinstance(row.get("lite", False), bool):
        raise DataError(f"{where}: field 'lite' (in the argen_dharma_lite subset) must be true or false")
    if "language" in row and not re.fullmatch(r"[a-z]{2}", str(row["language"])):
        raise DataError(f"{where}: field 'language' must be an ISO 639-1 code such as 'en' or 'es'; got {row['language']!r}")


def _check_attack(where: str, row: dict[str, Any]) -> None:
    if row.get("attack") not in ATTACKS:
        raise DataError(f"{where}: field 'attack' must be one of {', '.join(ATTACKS)}; got {row.get('attack')!r}")
    if row.get("expected") != EXPECTED.get(row["tier"]):
        raise DataError(
            f"{where}: an adversarial row of tier {row['tier']!r} must have \"expected\": "
            f"{EXPECTED.get(row['tier'], 'one of the tiers ' + ', '.join(EXPECTED))!r}"
        )


def _require_text(where: str, row: dict[str, Any], name: str) -> None:
    if not isinstance(row.get(name), str) or not row[name].strip():
        raise DataError(f"{where}: field {name!r} must be a non-empty string")


def _require_tier(where: str, row: dict[str, Any]) -> None:
    if row.get("tier") not in TIERS:
        raise DataError(f"{where}: field 'tier' must be one of {', '.join(TIERS)}; got {row.get('tier')!r}")
