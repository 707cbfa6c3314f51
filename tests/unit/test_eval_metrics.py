"""Ranking metrics against hand-computed values (BEIR definitions, binary relevance)."""

from __future__ import annotations

import math

import pytest

from evaluation.metrics import (
    ThresholdPoint,
    dedupe,
    hit_at,
    mean_metrics,
    mrr_at,
    ndcg_at,
    percentile,
    question_metrics,
    recall_at,
    recommend_threshold,
)

RANKING = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]


def test_dedupe_keeps_first_position_of_each_document() -> None:
    assert dedupe(["faq.md", "bar.md", "faq.md", "spa.md", "bar.md"]) == [
        "faq.md",
        "bar.md",
        "spa.md",
    ]


def test_recall_counts_relevant_documents_found() -> None:
    relevant = {"b", "e", "z"}
    assert recall_at(RANKING, relevant, 1) == 0.0
    assert recall_at(RANKING, relevant, 2) == pytest.approx(1 / 3)
    assert recall_at(RANKING, relevant, 5) == pytest.approx(2 / 3)
    assert recall_at(RANKING, relevant, 10) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="relevant"):
        recall_at(RANKING, set(), 5)


def test_hit_and_mrr() -> None:
    assert hit_at(RANKING, {"c"}, 2) == 0.0
    assert hit_at(RANKING, {"c"}, 3) == 1.0
    assert mrr_at(RANKING, {"c", "f"}, 10) == pytest.approx(1 / 3)
    assert mrr_at(RANKING, {"k"}, 10) == 0.0  # 11th: outside the cut-off
    assert mrr_at(RANKING, {"k"}, 11) == pytest.approx(1 / 11)


def test_ndcg_by_hand() -> None:
    # relevant at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); ideal = 1/log2(2) + 1/log2(3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3)
    assert ndcg_at(RANKING, {"b", "d"}, 10) == pytest.approx(dcg / ideal)
    assert ndcg_at(RANKING, {"a"}, 10) == 1.0
    assert ndcg_at(RANKING, {"z"}, 10) == 0.0
    # more relevant documents than the cut-off: the ideal has k gains
    assert ndcg_at(["a", "b"], {"a", "b", "c"}, 2) == 1.0


def test_question_metrics_and_mean() -> None:
    first = question_metrics(["x", "gold"], {"gold"})
    assert first["hit@1"] == 0.0
    assert first["hit@5"] == 1.0
    assert first["mrr@10"] == 0.5
    assert first["recall@1"] == 0.0
    assert first["ndcg@10"] == pytest.approx(1 / math.log2(3))
    second = question_metrics(["gold", "other"], {"gold", "other"})
    assert second["recall@1"] == 0.5
    assert second["ndcg@10"] == 1.0
    mean = mean_metrics([first, second])
    assert mean["mrr@10"] == pytest.approx(0.75)
    assert mean["recall@5"] == 1.0
    assert mean_metrics([])["hit@5"] == 0.0


def test_nearest_rank_percentile() -> None:
    sample = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(sample, 50) == 50.0
    assert percentile(sample, 99) == 99.0
    assert percentile(sample, 100) == 100.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)


def test_recommended_threshold_balances_both_errors() -> None:
    points = [
        ThresholdPoint(0.2, unanswerable_escalated=0.5, answerable_escalated=0.05),
        ThresholdPoint(0.3, unanswerable_escalated=0.9, answerable_escalated=0.10),
        ThresholdPoint(0.4, unanswerable_escalated=1.0, answerable_escalated=0.40),
    ]
    assert points[1].balanced_accuracy == pytest.approx(0.9)
    assert recommend_threshold(points).threshold == 0.3
    tie = [ThresholdPoint(0.5, 1.0, 0.2), ThresholdPoint(0.3, 0.9, 0.1)]
    assert recommend_threshold(tie).threshold == 0.3  # same accuracy, fewer false escalations
