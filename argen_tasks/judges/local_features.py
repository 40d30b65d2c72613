"""What the local judge reads of a pair: sentence embeddings and word n-grams.

A response is read sentence by sentence (grader notes removed first): an answer to a mixed prompt
holds health and off-domain sentences side by side, so the features keep the strongest and the
weakest sentence (max/min pooling) as well as the mean, and how well the response covers each
sentence of the prompt (a health question hidden in a P.S. is one sentence of a long prompt).
Word n-grams add what averaged embeddings blur: negations, doses, refusal phrasing.

A few form statistics catch what a policy under training learns to exploit when nothing reads the
form: repeated sentences, one-word list items, copying of the prompt and echoes of the system
prompt, all of which sound on-topic to averaged embeddings while answering nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from argen_tasks.domain import SYSTEM_PROMPT
from argen_tasks.embeddings import SentenceEncoder
from argen_tasks.judges.local_text import split_sentences, strip_grader_notes

MAX_SENTENCES = 32
"""Sentences read per response; later ones are rare in chat answers."""
PROMPT_NGRAMS = (1, 2)
RESPONSE_NGRAMS = (1, 3)
SYSTEM_SENTENCES = split_sentences(SYSTEM_PROMPT)
"""A model that echoes its own instructions back ("I help people with health questions") sounds
on-topic and answers nothing; the judge measures how close each response sentence is to these."""
_WORD = re.compile(r"\w+")
STATS_SCALE = 5.0
"""The dozen coverage and topic statistics sit among ~2,000 embedding dimensions; scaling them up
is a weaker L2 penalty on them, so the heads lean on them more (chosen by cross-validation)."""


@dataclass(frozen=True)
class Vectorizers:
    """The fitted n-gram vocabularies, stored with the heads."""

    prompt: TfidfVectorizer
    response: TfidfVectorizer


def tfidf(ngrams: tuple[int, int], vocabulary: Sequence[str] | None = None, idf: np.ndarray | None = None) -> TfidfVectorizer:
    vectorizer = TfidfVectorizer(ngram_range=ngrams, min_df=2, sublinear_tf=True, vocabulary=vocabulary, dtype=np.float32)
    if idf is not None:
        vectorizer.idf_ = idf
    return vectorizer


def prompt_units(prompt: str) -> list[str]:
    sentences = split_sentences(prompt)
    return [prompt, *sentences] if len(sentences) > 1 else [prompt]


def response_sentences(response: str) -> list[str]:
    return split_sentences(strip_grader_notes(response))[:MAX_SENTENCES] or [""]


def response_text(sentences: list[str]) -> str:
    """What the response n-grams read: the sentences of :func:`response_sentences`, so grader notes
    and text past the sentence cap never reach the n-gram heads."""
    return " ".join(sentences)


@dataclass(frozen=True)
class Embedded:
    """Per pair: prompt units ``[m, d]`` (the whole prompt first) and response sentences ``[n, d]``;
    ``system``: the sentences of the system prompt the model was given ``[k, d]``."""

    prompts: list[np.ndarray]
    responses: list[np.ndarray]
    system: np.ndarray


def embed(encoder: SentenceEncoder, pairs: Sequence[tuple[str, str]]) -> Embedded:
    """One encoder call for the batch; a sentence shared by many pairs is embedded once."""
    units = [prompt_units(p) for p, _ in pairs] + [response_sentences(r) for _, r in pairs] + [SYSTEM_SENTENCES]
    texts = [text for group in units for text in group]
    unique = {text: i for i, text in enumerate(dict.fromkeys(texts))}
    vectors = encoder.encode(list(unique))
    groups = [vectors[[unique[t] for t in group]] for group in units]
    return Embedded(groups[: len(pairs)], groups[len(pairs) : -1], groups[-1])


def form_stats(prompt: str, sentences: Sequence[str], response: np.ndarray, system: np.ndarray) -> np.ndarray:
    """How the response is written, whatever it is about: repetition, fragments, echoes."""
    folded = [" ".join(_WORD.findall(s.lower())) for s in sentences]
    words = [w for s in folded for w in s.split()] or [""]
    prompt_words = set(_WORD.findall(prompt.lower()))
    echo = (response @ system.T).max(1)
    stats = [
        len(set(folded)) / len(folded), max(Counter(folded).values()) / len(folded), len(set(words)) / len(words),
        float(np.mean([len(s.split()) <= 2 for s in folded])), float(np.mean([w in prompt_words for w in words])),
        echo.max(), echo.mean(),
    ]  # fmt: skip
    return STATS_SCALE * np.asarray(stats, dtype=np.float32)


def prompt_dense(prompt: np.ndarray) -> np.ndarray:
    return np.concatenate([prompt[0], prompt.max(0), prompt.min(0)])


def pair_dense(prompt: np.ndarray, response: np.ndarray, topic: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``topic`` maps sentence embeddings to P(health topic): it tells which prompt sentence holds the
    health request, and whether the response sentences that cover it are about health at all."""
    similarity = prompt @ response.T
    coverage = similarity.max(1)
    prompt_health = topic(prompt)
    health_unit, other_unit = prompt_health.argmax(), prompt_health.argmin()
    health = topic(response)
    stats = [
        coverage.min(), coverage.max(), similarity.mean(), len(response) / 10,
        health.max(), health.min(), health.mean(), float(np.mean(health > 0.5)),
        coverage[health_unit], coverage[other_unit],
        (similarity[health_unit] * health).max(), (similarity[other_unit] * (1 - health)).max(),
    ]  # fmt: skip
    stats = STATS_SCALE * np.asarray(stats, dtype=np.float32)
    pooled = [response.mean(0), response.max(0), response.min(0), (response * prompt[0]).mean(0)]
    return np.concatenate([stats, *pooled, prompt_dense(prompt)])


def prompt_features(vectorizers: Vectorizers, prompts: Sequence[str], embedded: Sequence[np.ndarray]) -> sp.csr_matrix:
    dense = np.stack([prompt_dense(p) for p in embedded])
    return sp.hstack([sp.csr_matrix(dense), vectorizers.prompt.transform(prompts)], format="csr")


def pair_features(
    vectorizers: Vectorizers,
    topic: Callable[[np.ndarray], np.ndarray],
    pairs: Sequence[tuple[str, str]],
    embedded: Embedded,
) -> sp.csr_matrix:
    """The prompt enters through its embeddings only: its n-grams would let a head memorise
    prompts (each labeled prompt has several responses) instead of reading the response."""
    dense = np.stack([pair_dense(p, r, topic) for p, r in zip(embedded.prompts, embedded.responses)])
    sentences = [response_sentences(r) for _, r in pairs]
    form = np.stack(
        [form_stats(p, s, e, embedded.system) for (p, _), s, e in zip(pairs, sentences, embedded.responses)]
    )
    responses = vectorizers.response.transform([response_text(s) for s in sentences])
    return sp.hstack([sp.csr_matrix(dense), sp.csr_matrix(form), responses], format="csr")
