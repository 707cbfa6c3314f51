"""The deterministic reranker and the reranker factory."""

from __future__ import annotations

import pytest

from app.search.rerank import TermOverlapReranker, build_reranker
from app.search.types import Hit


def _hit(chunk_id: int, heading: str, text: str) -> Hit:
    return Hit(chunk_id, f"doc{chunk_id}.md", "Hotel", heading, text, 0.5)


HITS = [
    _hit(1, "Breakfast", "Breakfast is served from 7:00 to 10:30 in the Orangery."),
    _hit(2, "Spa", "The spa opens at 9:00."),
    _hit(3, "Parking", "The garage costs 25 EUR per night; electric car chargers on level -1."),
]


async def test_term_overlap_moves_the_matching_chunk_up() -> None:
    ordered = await TermOverlapReranker().rerank("where do i charge my electric car", HITS)
    assert [h.chunk_id for h in ordered] == [3, 1, 2]
    assert ordered[0].score == HITS[2].score  # scores stay cosine similarities


async def test_no_overlap_keeps_the_retrieval_order() -> None:
    ordered = await TermOverlapReranker().rerank("helipad", HITS)
    assert [h.chunk_id for h in ordered] == [1, 2, 3]
    assert await TermOverlapReranker().rerank("car", []) == []


def test_factory() -> None:
    assert build_reranker("none") is None
    reranker = build_reranker("term-overlap")
    assert reranker is not None
    assert reranker.name == "term-overlap"
    with pytest.raises(ValueError, match="unknown reranker"):
        build_reranker("cross-encoder")
