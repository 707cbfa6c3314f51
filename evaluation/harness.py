"""Runs an evaluation set through the real retrieval service, once per retrieval variant.

Every question is embedded by the real model (once per distinct embedded text), searched in
PostgreSQL by :class:`app.search.retriever.Retriever` with each variant's options, and its
chunks are mapped to documents for the ranking metrics. The answer step (the extractive writer
on the first ``top_k`` chunks) is then replayed at several minimum-score thresholds to show how it
treats answerable and unanswerable questions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import asyncpg
import numpy as np

from app import languages
from app.answering.extractive import ExtractiveWriter
from app.answering.meanings import WordVectors
from app.answering.types import number_sources
from app.db.properties import PropertyRegistry
from app.embedding.encoder import Encoder, query_encoder
from app.search.rerank import Reranker, TermOverlapReranker
from app.search.retriever import Retriever
from app.search.types import Hit, SearchOptions
from evaluation.data import Question
from evaluation.metrics import (
    ThresholdPoint,
    dedupe,
    mean_metrics,
    percentile,
    question_metrics,
)

# 0.20 .. 0.70, and finer over 0.76 .. 0.95 where e5's similarities sit (much higher than
# MiniLM's).
THRESHOLDS = tuple(
    sorted(
        {round(0.20 + 0.05 * i, 2) for i in range(11)}
        | {round(0.76 + 0.01 * i, 2) for i in range(20)}
    )
)


@dataclass(frozen=True, slots=True)
class Variant:
    """A named retrieval configuration to measure."""

    name: str
    options: SearchOptions
    reranker: Reranker | None = None


def standard_variants(base: SearchOptions) -> list[Variant]:
    """Vector only (the plain baseline), full text, hybrid, their ablations and rerankers."""
    plain = replace(base, rewrite=False, synonyms=False)
    return [
        Variant("vector", replace(plain, mode="vector")),
        Variant("vector+query", replace(base, mode="vector")),
        Variant("fulltext", replace(base, mode="fulltext")),
        Variant("hybrid-plain", replace(plain, mode="hybrid")),
        Variant("hybrid", replace(base, mode="hybrid")),
        Variant("vector+rerank", replace(plain, mode="vector"), TermOverlapReranker()),
        Variant("hybrid+rerank", replace(base, mode="hybrid"), TermOverlapReranker()),
    ]


@dataclass(slots=True)
class VariantResult:
    """Metrics of one variant over the answerable questions, and its answer-step behaviour."""

    name: str
    metrics: dict[str, float]
    latency_p50_ms: float
    latency_p99_ms: float
    answerable: int
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    by_group: dict[str, dict[str, float]] = field(default_factory=dict)
    thresholds: list[ThresholdPoint] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    # Every question with the chunks the writer is given (the first ``top_k``).
    cases: list[tuple[Question, list[Hit]]] = field(default_factory=list)


async def run_variant(
    variant: Variant,
    pool: asyncpg.Pool,
    exact_max_chunks: int,
    registry: PropertyRegistry,
    questions: Sequence[tuple[Question, str]],
    vectors: dict[str, np.ndarray],
    depth: int,
    top_k: int,
    thresholds: Sequence[float] = THRESHOLDS,
    min_score: float = 0.16,
    handover_at: float | None = None,
    other_language_min_score: float | None = None,
    meanings: WordVectors | None = None,
    meaning_similarity: float = 1.0,
) -> VariantResult:
    """Search every question with ``variant``; ``questions`` pairs each with its property.

    With ``handover_at`` (a confident score), ``by_group`` also holds each group's share of
    answerable questions the extractive writer hands over (``handover``)."""
    writer = (
        ExtractiveWriter(
            min_score,
            confident_score=handover_at,
            other_language_min_score=other_language_min_score,
            meanings=meanings,
            meaning_similarity=meaning_similarity,
        )
        if handover_at is not None
        else None
    )
    handovers: dict[str, list[float]] = {}
    # Per group: best source similarity of answerable / unanswerable questions; unanswerable
    # questions handed over.
    best_answerable: dict[str, list[float]] = {}
    best_unanswerable: dict[str, list[float]] = {}
    refused: dict[str, list[float]] = {}
    retriever = Retriever(pool, exact_max_chunks, variant.options, variant.reranker)
    states = {pid: await registry.get(pid) for pid in {pid for _, pid in questions}}

    async def search(question: Question, property_id: str) -> list[Hit]:
        language = languages.detect(question.text)
        vector = vectors[retriever.embedding_text(question.text, language)]
        return await retriever.search(
            states[property_id], vector, depth, question=question.text, language=language
        )

    for question, pid in questions[: min(20, len(questions))]:  # warm-up, not timed
        await search(question, pid)
    latencies: list[float] = []
    rows: list[dict[str, float]] = []
    kinds: dict[str, list[dict[str, float]]] = {}
    groups: dict[str, list[dict[str, float]]] = {}
    answers: list[tuple[Question, Sequence[Hit]]] = []
    misses: list[str] = []
    for question, pid in questions:
        started = time.perf_counter()
        hits = await search(question, pid)
        latencies.append((time.perf_counter() - started) * 1000)
        answers.append((question, hits[:top_k]))
        group = question.group or question.language
        best = max((h.score for h in hits[:top_k]), default=0.0)
        if writer is not None and not question.gold:
            language = languages.detect(question.text)
            sources = number_sources(hits[:top_k])
            refused.setdefault(group, []).append(
                float(writer.compose(question.text, sources, language).escalate)
            )
            best_unanswerable.setdefault(group, []).append(best)
        if not question.gold:
            continue
        ranking = dedupe(h.document_id for h in hits)
        row = question_metrics(ranking, set(question.gold))
        rows.append(row)
        kinds.setdefault(question.kind or "all", []).append(row)
        groups.setdefault(group, []).append(row)
        best_answerable.setdefault(group, []).append(best)
        if writer is not None:
            language = languages.detect(question.text)
            sources = number_sources(hits[:top_k])
            escalated = writer.compose(question.text, sources, language).escalate
            handovers.setdefault(group, []).append(float(escalated))
        if not row["hit@5"]:
            misses.append(question.id)
    return VariantResult(
        name=variant.name,
        metrics=mean_metrics(rows),
        latency_p50_ms=percentile(latencies, 50),
        latency_p99_ms=percentile(latencies, 99),
        answerable=len(rows),
        by_kind={kind: mean_metrics(r) for kind, r in sorted(kinds.items())},
        by_group={
            group: mean_metrics(r)
            | (
                {
                    "handover": sum(handovers[group]) / len(handovers[group]),
                    "best_p10": percentile(best_answerable[group], 10),
                }
                if group in handovers
                else {}
            )
            | (
                {
                    "unanswerable_handover": sum(refused[group]) / len(refused[group]),
                    "unanswerable_best_p90": percentile(best_unanswerable[group], 90),
                }
                if group in refused
                else {}
            )
            for group, r in groups.items()
        },
        thresholds=answer_step(answers, thresholds, min_score, meanings, meaning_similarity),
        misses=misses,
        cases=[(q, list(h)) for q, h in answers],
    )


def answer_step(
    answers: Sequence[tuple[Question, Sequence[Hit]]],
    thresholds: Sequence[float],
    min_score: float = 0.16,
    meanings: WordVectors | None = None,
    meaning_similarity: float = 1.0,
) -> list[ThresholdPoint]:
    """Hand-over rates of the extractive writer at each confident-score threshold (below
    it, a subject word missing from the sources means a hand-over), with the model's word
    vectors ``meanings`` where given."""
    points = []
    unanswerable = [(q, h) for q, h in answers if not q.gold]
    answerable = [(q, h) for q, h in answers if q.gold]
    for threshold in thresholds:
        writer = ExtractiveWriter(
            min(min_score, threshold),
            confident_score=threshold,
            meanings=meanings,
            meaning_similarity=meaning_similarity,
        )
        points.append(
            ThresholdPoint(
                threshold,
                _escalation_rate(writer, unanswerable),
                _escalation_rate(writer, answerable),
            )
        )
    return points


def _escalation_rate(
    writer: ExtractiveWriter, items: Sequence[tuple[Question, Sequence[Hit]]]
) -> float:
    if not items:
        return 0.0
    escalated = sum(writer.hands_over(q.text, number_sources(hits)) for q, hits in items)
    return escalated / len(items)


def embed_all(encoder: Encoder, texts: Sequence[str], batch: int = 64) -> dict[str, np.ndarray]:
    """Vectors of the distinct question ``texts`` by the real model (its query role)."""
    encode = query_encoder(encoder)
    distinct = list(dict.fromkeys(texts))
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(distinct), batch):
        part = distinct[start : start + batch]
        for text, vector in zip(part, encode(part), strict=True):
            out[text] = vector
    return out
