"""Retrieval quality on the public evaluation set cannot silently drop.

Measured with ``scripts/eval`` on the sample hotels (see README, "Retrieval quality"): the
default (hybrid) reaches hit@5 0.989, MRR@10 0.938, nDCG@10 0.934, recall@10 0.971, and
vector-only MRR@10 0.861. The floors leave a margin of two to three questions (of 176) for
model or platform noise.
"""

from __future__ import annotations

import asyncpg
import pytest

from app.config import PROJECT_ROOT, Settings
from app.db.properties import PropertyRegistry
from app.embedding.encoder import Encoder
from app.search.rerank import build_reranker
from app.search.retriever import embedding_text, search_options
from app.search.types import SearchOptions
from evaluation.data import load_questions
from evaluation.harness import Variant, VariantResult, embed_all, run_variant

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FLOORS = {"hit@5": 0.97, "mrr@10": 0.92, "ndcg@10": 0.915, "recall@10": 0.955}


async def _evaluate(
    pool: asyncpg.Pool, db_url: str, encoder: Encoder, variant: Variant, settings: Settings
) -> VariantResult:
    questions = load_questions(PROJECT_ROOT / "data" / "eval" / "questions.jsonl")
    asked = [(q, q.property_id or "") for q in questions]
    vectors = embed_all(encoder, [embedding_text(variant.options, q.text) for q in questions])
    registry = PropertyRegistry(pool, db_url)
    await registry.reload()
    return await run_variant(
        variant,
        pool,
        settings.exact_search_max_chunks,
        registry,
        asked,
        vectors,
        depth=10,
        top_k=settings.top_k,
    )


async def test_default_mode_keeps_its_measured_quality(
    pool: asyncpg.Pool,
    db_url: str,
    encoder: Encoder,
    settings: Settings,
    sample_loaded: list[str],
) -> None:
    options = search_options(settings)
    assert options.mode == "hybrid"
    result = await _evaluate(
        pool,
        db_url,
        encoder,
        Variant("default", options, build_reranker(settings.reranker)),
        settings,
    )
    assert result.answerable == 176
    below = {
        m: round(result.metrics[m], 3) for m, floor in FLOORS.items() if result.metrics[m] < floor
    }
    assert not below, f"below the floors {FLOORS}: {below}; misses at 5: {result.misses}"


async def test_default_mode_beats_vector_only(
    pool: asyncpg.Pool,
    db_url: str,
    encoder: Encoder,
    settings: Settings,
    sample_loaded: list[str],
) -> None:
    plain = SearchOptions(mode="vector", rewrite=False, synonyms=False)
    vector = await _evaluate(pool, db_url, encoder, Variant("vector", plain), settings)
    default = await _evaluate(
        pool, db_url, encoder, Variant("default", search_options(settings)), settings
    )
    assert default.metrics["mrr@10"] >= vector.metrics["mrr@10"] + 0.04
    assert default.metrics["hit@5"] >= vector.metrics["hit@5"] + 0.03
