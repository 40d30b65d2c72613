"""The shipped data: sizes, coverage, label combinations, and no leakage between splits."""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import argen_tasks
from argen_tasks.domain import ADVERSARIAL, ATTACKS, IN_SCOPE_TOPICS, OUT_OF_SCOPE_TOPICS, TIERS
from argen_tasks.reporting.runs import test_set_hash as hash_of
from argen_tasks.splits import (
    DataError,
    LABEL_FIELDS,
    labeled_split,
    load_labeled,
    load_long_answers,
    load_prompts,
    read_jsonl,
)

MIN_ROWS = {"train": 400, "dev": 60, "test": 900, "adversarial": 200}
NEAR_DUPLICATE_SIMILARITY = 0.92
MAX_TOPIC_SHARE = 0.08
"""No topic may pass this share of a test tier (for mixed prompts: neither of its two topics)."""


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict]]:
    return {split: load_prompts(split) for split in MIN_ROWS}


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\W+", " ", text).strip()


def test_split_sizes_and_tiers(splits: dict[str, list[dict]]) -> None:
    for split, rows in splits.items():
        assert len(rows) >= MIN_ROWS[split], split
        assert len({row["id"] for row in rows}) == len(rows), f"duplicate ids in {split}"
    test_tiers = Counter(row["tier"] for row in splits["test"])
    assert all(test_tiers[tier] >= 300 for tier in TIERS), test_tiers


def test_adversarial_prompts_cover_every_attack_and_say_what_is_expected(splits: dict[str, list[dict]]) -> None:
    rows = splits["adversarial"]
    attacks = Counter((row["attack"], row["tier"]) for row in rows)
    assert all(attacks[attack, tier] >= 8 for attack in ATTACKS for tier in ("out", "mixed")), attacks
    assert {row["expected"] for row in rows if row["tier"] == "out"} == {"decline"}


@pytest.mark.parametrize("tier", TIERS)
def test_no_topic_dominates_a_test_tier(splits: dict[str, list[dict]], tier: str) -> None:
    rows = [row for row in splits["test"] if row["tier"] == tier]
    topics = Counter(part for row in rows for part in row["topic"].split("+"))
    topic, count = topics.most_common(1)[0]
    assert count <= MAX_TOPIC_SHARE * len(rows), f"{topic}: {count} of {len(rows)} {tier} prompts"


@pytest.mark.parametrize("split", ["test", "adversarial"])
def test_test_prompts_name_their_language_and_a_tenth_are_not_english(splits: dict[str, list[dict]], split: str) -> None:
    languages = Counter(row.get("language") for row in splits[split])
    assert None not in languages
    assert sum(n for language, n in languages.items() if language != "en") >= 0.10 * len(splits[split]), languages


def test_the_lite_subset_is_the_original_test_split_and_seven_prompts_per_attack(splits: dict[str, list[dict]]) -> None:
    lite = [row for row in splits["test"] if row.get("lite")]
    assert Counter(row["tier"] for row in lite) == {tier: 54 for tier in TIERS}
    assert all(int(row["id"].rsplit("-", 1)[1]) <= 54 for row in lite)
    adversarial = Counter(row["attack"] for row in splits["adversarial"] if row.get("lite"))
    assert adversarial == {attack: 7 for attack in ATTACKS}


def test_topics_span_the_domain(splits: dict[str, list[dict]]) -> None:
    rows = [row for split in splits.values() for row in split]
    in_topics = {row["topic"] for row in rows if row["tier"] == "in"}
    out_topics = {row["topic"] for row in rows if row["tier"] == "out"}
    assert len(in_topics) >= 15 and len(out_topics) >= 10
    assert {"emergencies", "mental_health", "medications", "insurance_billing"} <= in_topics
    assert in_topics <= IN_SCOPE_TOPICS and out_topics <= OUT_OF_SCOPE_TOPICS


def test_no_exact_duplicates_across_splits(splits: dict[str, list[dict]]) -> None:
    seen: dict[str, str] = {}
    for split, rows in splits.items():
        for row in rows:
            key = normalise(row["prompt"])
            assert key not in seen, f"{row['id']} duplicates {seen[key]}"
            seen[key] = row["id"]


@pytest.mark.slow
def test_no_near_duplicates_across_splits(splits: dict[str, list[dict]]) -> None:
    from sentence_transformers import SentenceTransformer

    from argen_tasks.minilm import minilm_dir

    encoder = SentenceTransformer(str(minilm_dir()), device="cpu")
    vectors = {
        split: encoder.encode([row["prompt"] for row in rows], normalize_embeddings=True, batch_size=64)
        for split, rows in splits.items()
    }
    for a, b in itertools.combinations(splits, 2):
        similarity = vectors[a] @ vectors[b].T
        i, j = np.unravel_index(np.argmax(similarity), similarity.shape)
        assert similarity[i, j] < NEAR_DUPLICATE_SIMILARITY, (
            f"{splits[a][i]['id']} ~ {splits[b][j]['id']} (cosine {similarity[i, j]:.3f})"
        )
    judged = sorted({row["prompt"] for row in load_labeled() + load_long_answers()})
    judge_vectors = encoder.encode(judged, normalize_embeddings=True, batch_size=64)
    for split in ("test", "adversarial"):
        similarity = vectors[split] @ judge_vectors.T
        i, j = np.unravel_index(np.argmax(similarity), similarity.shape)
        assert similarity[i, j] < NEAR_DUPLICATE_SIMILARITY, (
            f"{splits[split][i]['id']} ~ judge-set prompt {judged[j][:60]!r} (cosine {similarity[i, j]:.3f})"
        )


def test_labeled_set_covers_every_possible_label_combination() -> None:
    rows = load_labeled()
    assert len(rows) >= 200
    combos = Counter((row["tier"], *(row[f] for f in LABEL_FIELDS)) for row in rows)
    possible = {("in", False, r, a) for r in (False, True) for a in (False, True)}
    possible |= {("out", d, False, a) for d in (False, True) for a in (False, True)}
    possible |= {("mixed", d, r, a) for d in (False, True) for r in (False, True) for a in (False, True)}
    assert possible <= set(combos), possible - set(combos)
    impossible = set(combos) - possible
    assert not impossible, f"labels that contradict the spec: {impossible}"


def test_labeled_set_has_hard_cases() -> None:
    rows = load_labeled()
    grader_notes = [r for r in rows if re.search(r"grader|evaluator|scor(e|ing)", r["response"], re.I)]
    assert len(grader_notes) >= 20
    assert any(r["dharma_violation"] for r in grader_notes) and any(not r["dharma_violation"] for r in grader_notes)
    assert any(r["tier"] == "out" and not r["dharma_violation"] for r in rows)
    avoided = [r for r in rows if r["tier"] == "out" and not r["dharma_violation"] and not r["declined"]]
    assert len(avoided) >= 50, "out-of-scope text that neither does the task nor declines it"


def test_heldout_split_is_stable_and_keeps_prompts_together(splits: dict[str, list[dict]]) -> None:
    # Labeled rows added since the split was fixed were written for training-side prompts on purpose, so
    # the hash's quarter is checked on prompts that were not chosen by side: the GRPO prompt splits.
    prompts = [row["prompt"] for rows in splits.values() for row in rows]
    heldout = sum(labeled_split(prompt) == "heldout" for prompt in prompts)
    assert 0.15 < heldout / len(prompts) < 0.35, heldout
    rows = load_labeled()
    assert len({r["prompt"] for r in rows if labeled_split(r["prompt"]) == "heldout"}) >= 150
    by_prompt: dict[str, set[str]] = {}
    for row in rows:
        by_prompt.setdefault(row["prompt"], set()).add(labeled_split(row["prompt"]))
    assert all(len(s) == 1 for s in by_prompt.values())


def test_bad_rows_name_file_line_and_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "a", "response": "b", "tier": "in"}\n{"prompt": "a", "tier": "sideways"}\n')
    rows = read_jsonl(path)
    assert [r["_line"] for r in rows] == [1, 2]
    with pytest.raises(DataError, match=r"bad\.jsonl:1: field 'dharma_violation'"):
        load_labeled(path)
    path.write_text("{not json\n")
    with pytest.raises(DataError, match=r"bad\.jsonl:1: not valid JSON"):
        read_jsonl(path)


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"tier": "out", "topic": "law"}, r"adversarial\.jsonl:1: field 'attack' must be one of roleplay, "),
        ({"tier": "out", "topic": "law", "attack": "roleplay", "expected": "answer the health part, decline the rest"},
         r"adversarial\.jsonl:1: an adversarial row of tier 'out' must have \"expected\": 'decline'"),
        ({"tier": "in", "topic": "sleep", "attack": "roleplay", "expected": "decline"}, r"must have \"expected\": 'one of the tiers out, mixed'"),
        ({"tier": "out", "topic": "law", "attack": "roleplay", "expected": "decline", "lite": "yes"}, r"field 'lite'"),
    ],
)
def test_bad_adversarial_rows_name_file_line_and_field(tmp_path, monkeypatch, row: dict, error: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "adversarial.jsonl").write_text(json.dumps({"id": "adv-1", "prompt": "p"} | row) + "\n")
    monkeypatch.setattr("argen_tasks.splits.data_dir", lambda: tmp_path)
    with pytest.raises(DataError, match=error):
        load_prompts("adversarial")


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"tier": "out"}, r"bad\.jsonl:1: field 'declined' must be true or false"),
        ({"tier": "out", "declined": True, "dharma_violation": True}, r"bad\.jsonl:1: 'declined' is true but so is"),
        ({"tier": "in", "declined": False}, r"bad\.jsonl:1: field 'declined' is labeled on out-of-scope rows only"),
    ],
)
def test_decline_label_only_on_out_of_scope_rows(tmp_path, row: dict, error: str) -> None:  # type: ignore[no-untyped-def]
    base = {"prompt": "a", "response": "b", "dharma_violation": False, "over_refusal": False, "ahimsa_violation": False}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(base | row) + "\n")
    with pytest.raises(DataError, match=error):
        load_labeled(path)


def test_long_answer_set_is_long_varied_and_split_by_source_prompt(splits: dict[str, list[dict]]) -> None:
    rows = load_long_answers()
    sources = {row["id"]: row["prompt"] for split in ("train", "dev") for row in splits[split]}
    assert len(rows) >= 600 and len({r["prompt_id"] for r in rows}) >= 200
    assert min(Counter(r["tier"] for r in rows).values()) >= 0.2 * len(rows), "every tier is well represented"
    written = [len(r["response"]) for r in rows if r["source"] == "written"]
    assert min(written) >= 600 and max(written) <= 2500
    assert sum(r["language"] != "en" for r in rows) >= 0.15 * len(rows)
    assert sum(r["source"] != "written" for r in rows) >= 50, "real completions of the embedded model"
    assert all(r["split"] == labeled_split(sources[r["prompt_id"]]) for r in rows)
    assert 0.2 < sum(r["split"] == "heldout" for r in rows) / len(rows) < 0.4
    for flag in LABEL_FIELDS:
        assert sum(r[flag] for r in rows) >= 80, flag


def test_long_answer_spans_must_be_verbatim(tmp_path) -> None:  # type: ignore[no-untyped-def]
    row = load_long_answers()[0] | {"offscope_spans": ["text the response never says"]}
    path = tmp_path / "long.jsonl"
    path.write_text("\n" + json.dumps({k: v for k, v in row.items() if k != "split"}) + "\n")
    with pytest.raises(DataError, match=r"long\.jsonl:2: field 'offscope_spans' must list passages copied verbatim"):
        load_long_answers(path)


def test_the_benchmark_card_states_the_shipped_sizes_and_hashes(splits: dict[str, list[dict]]) -> None:
    card = (Path(argen_tasks.__file__).parent / "tasks" / "argen_dharma" / "README.md").read_text()
    rows = [(r["id"], r["tier"], r["prompt"], r.get("lite", False)) for r in splits["test"]]
    rows += [(r["id"], ADVERSARIAL, r["prompt"], r.get("lite", False)) for r in splits["adversarial"]]
    assert f"`{hash_of(r[:3] for r in rows)}` (`argen_dharma`)" in card
    assert f"`{hash_of(r[:3] for r in rows if r[3])}` (`argen_dharma_lite`)" in card
    for tier in ("in", "out", "mixed", ADVERSARIAL):
        assert f"| `argen_dharma_{tier}` | {sum(r[1] == tier for r in rows)} |" in card
    assert f"| `argen_dharma_dev` | {len(splits['dev'])} |" in card
