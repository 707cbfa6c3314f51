"""Ranking metrics with BEIR's definitions (binary relevance), over ranked document ids.

A ranking is a list of document ids, best first, without duplicates (chunks are mapped to
their documents and each document kept at its first position: :func:`dedupe`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def dedupe(doc_ids: Iterable[str]) -> list[str]:
    """Document ids in rank order, each at its first occurrence."""
    return list(dict.fromkeys(doc_ids))


def recall_at(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the relevant documents found in the first ``k``."""
    if not relevant:
        raise ValueError("recall needs at least one relevant document")
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def hit_at(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    """1.0 when any relevant document is in the first ``k`` (BEIR's top-k accuracy)."""
    return 1.0 if relevant.intersection(ranking[:k]) else 0.0


def mrr_at(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    """Reciprocal rank of the first relevant document within the first ``k``, else 0."""
    for position, doc in enumerate(ranking[:k], start=1):
        if doc in relevant:
            return 1.0 / position
    return 0.0


def ndcg_at(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    """Normalised discounted cumulative gain: sum(rel_i / log2(i + 1)) over the ideal one."""
    dcg = sum(
        1.0 / math.log2(position + 1)
        for position, doc in enumerate(ranking[:k], start=1)
        if doc in relevant
    )
    ideal = sum(1.0 / math.log2(position + 1) for position in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of a non-empty sample."""
    if not values:
        raise ValueError("percentile of an empty sample")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


METRIC_NAMES = ("recall@1", "recall@5", "recall@10", "hit@1", "hit@5", "mrr@10", "ndcg@10")


def question_metrics(ranking: Sequence[str], relevant: set[str]) -> dict[str, float]:
    """Every reported metric for one answerable question."""
    return {
        "recall@1": recall_at(ranking, relevant, 1),
        "recall@5": recall_at(ranking, relevant, 5),
        "recall@10": recall_at(ranking, relevant, 10),
        "hit@1": hit_at(ranking, relevant, 1),
        "hit@5": hit_at(ranking, relevant, 5),
        "mrr@10": mrr_at(ranking, relevant, 10),
        "ndcg@10": ndcg_at(ranking, relevant, 10),
    }


def mean_metrics(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """Per-metric mean over questions (0 for an empty set)."""
    if not rows:
        return dict.fromkeys(METRIC_NAMES, 0.0)
    return {name: sum(r[name] for r in rows) / len(rows) for name in METRIC_NAMES}


@dataclass(frozen=True, slots=True)
class ThresholdPoint:
    """How the answer step treats the questions at one minimum-score threshold."""

    threshold: float
    unanswerable_escalated: float  # share of unanswerable questions escalated (good)
    answerable_escalated: float  # share of answerable questions escalated (false escalations)

    @property
    def balanced_accuracy(self) -> float:
        return (self.unanswerable_escalated + 1 - self.answerable_escalated) / 2


def recommend_threshold(points: Sequence[ThresholdPoint]) -> ThresholdPoint:
    """The threshold with the best balanced accuracy; ties go to fewer false escalations."""
    if not points:
        raise ValueError("no thresholds to choose from")
    return max(points, key=lambda p: (round(p.balanced_accuracy, 9), -p.answerable_escalated))
