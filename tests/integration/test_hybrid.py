"""Hybrid and full-text search against the real embedded PostgreSQL with the real model."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import asyncpg
import pytest

from app.config import Settings
from app.db.pool import create_pool
from app.db.properties import PropertyRegistry
from app.db.turns import Turns
from app.embedding.encoder import Encoder
from app.errors import DependencyUnavailable
from app.search.hybrid import text_stopwords
from app.search.rerank import TermOverlapReranker
from app.search.retriever import Retriever
from app.search.types import SearchOptions
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

HYBRID = SearchOptions(mode="hybrid")
FULLTEXT = SearchOptions(mode="fulltext")

# Names the hotels use: a dish, a room type, a drink, a spa, a network name.
EXACT_TERMS = [
    ("harbour-grand", "Bouillabaisse du Port", "restaurant-menu.md"),
    ("harbour-grand", "does the Admiral Suite have a terrace", "rooms.md"),
    ("harbour-grand", "Harbour Mule price", "bar.md"),
    ("sunset-cove", "Dorada a la Sal", "restaurant-menu.md"),
    ("sunset-cove", "does the Beachfront Villa have a plunge pool", "rooms.md"),
    ("alpine-lodge", "Tiroler Gröstl price", "restaurant-menu.md"),
    ("alpine-lodge", "Gipfel Family Room beds", "rooms.md"),
]


@pytest.mark.parametrize(("property_id", "question", "expected"), EXACT_TERMS)
async def test_exact_terms_find_their_document(
    pool: asyncpg.Pool,
    registry: PropertyRegistry,
    encoder: Encoder,
    property_id: str,
    question: str,
    expected: str,
) -> None:
    prop = await registry.get(property_id)
    retriever = Retriever(pool, 20_000, HYBRID)
    vector = encoder.encode([retriever.embedding_text(question)])[0]
    hits = await retriever.search(prop, vector, 5, question=question)
    assert expected in [h.document_id for h in hits[:3]], [h.document_id for h in hits]


@pytest.mark.parametrize("options", [HYBRID, FULLTEXT], ids=["hybrid", "fulltext"])
async def test_hybrid_never_leaves_the_property(
    pool: asyncpg.Pool,
    registry: PropertyRegistry,
    encoder: Encoder,
    sample_loaded: list[str],
    options: SearchOptions,
) -> None:
    # Words that other properties' documents hold: their chunks must still not come back.
    question = "wifi password Bouillabaisse Kaiserschmarrn Cove Colada kids club ski room"
    vector = encoder.encode([question])[0]
    for property_id in sample_loaded:
        prop = await registry.get(property_id)
        for exact_limit in (20_000, 0):  # exact search and the HNSW path
            retriever = Retriever(pool, exact_limit, options)
            hits = await retriever.search(prop, vector, 30, question=question)
            owners = await pool.fetch(
                "SELECT DISTINCT property_id, version_id FROM chunks WHERE id = ANY($1::bigint[])",
                [h.chunk_id for h in hits],
            )
            assert [(r["property_id"], r["version_id"]) for r in owners] == [
                (property_id, prop.version_id)
            ]


@pytest.mark.parametrize("k", [1, 5, 20, 50])
@pytest.mark.parametrize(
    "question", ["breakfast", "helipad", "the of and", ""], ids=["match", "miss", "stop", "empty"]
)
async def test_k_rows_in_every_mode(
    pool: asyncpg.Pool, registry: PropertyRegistry, encoder: Encoder, k: int, question: str
) -> None:
    prop = await registry.get("alpine-lodge")
    assert prop.chunk_count >= 50
    vector = encoder.encode([question or "?"])[0]
    for options in (HYBRID, FULLTEXT, replace(HYBRID, depth=3)):
        for exact_limit in (20_000, 0):
            hits = await Retriever(pool, exact_limit, options).search(
                prop, vector, k, question=question
            )
            assert len(hits) == k
            assert len({h.chunk_id for h in hits}) == k


async def test_fulltext_ranks_matching_chunks_first_and_scores_stay_cosine(
    pool: asyncpg.Pool, registry: PropertyRegistry, encoder: Encoder
) -> None:
    prop = await registry.get("sunset-cove")
    question = "Cove Colada"
    vector = encoder.encode([question])[0]
    hits = await Retriever(pool, 20_000, FULLTEXT).search(prop, vector, 5, question=question)
    assert "colada" in hits[0].text.lower()
    cosine = await pool.fetchval(
        "SELECT 1 - (embedding <=> $2) FROM chunks WHERE id = $1", hits[0].chunk_id, vector
    )
    assert hits[0].score == pytest.approx(float(cosine), abs=1e-6)


async def test_hostile_text_is_only_words(
    pool: asyncpg.Pool, registry: PropertyRegistry, encoder: Encoder
) -> None:
    prop = await registry.get("harbour-grand")
    question = "parking' | !(x <-> y:*) & ) ; DROP TABLE chunks; --"
    vector = encoder.encode([question])[0]
    hits = await Retriever(pool, 20_000, HYBRID).search(prop, vector, 5, question=question)
    assert len(hits) == 5
    assert await pool.fetchval("SELECT count(*) FROM chunks") > 0


async def test_reranker_orders_the_deeper_candidate_list(
    pool: asyncpg.Pool, registry: PropertyRegistry, encoder: Encoder
) -> None:
    prop = await registry.get("harbour-grand")
    question = "where do i charge my electric car"
    vector = encoder.encode([question])[0]
    options = replace(HYBRID, rerank_depth=20)
    plain = await Retriever(pool, 20_000, options).search(prop, vector, 20, question=question)
    reranked = await Retriever(pool, 20_000, options, TermOverlapReranker()).search(
        prop, vector, 5, question=question
    )
    assert len(reranked) == 5
    expected = TermOverlapReranker().order(question, plain)[:5]
    assert [h.chunk_id for h in reranked] == [h.chunk_id for h in expected]


async def test_a_wait_for_a_busy_pool_ends_at_the_acquire_timeout(
    db_url: str, settings: Settings, registry: PropertyRegistry, encoder: Encoder
) -> None:
    one = settings.model_copy(update={"db_pool_min": 1, "db_pool_max": 1})
    small = await create_pool(db_url, one)
    try:
        prop = await registry.get("harbour-grand")
        retriever = Retriever(small, 20_000, HYBRID, acquire_timeout_s=0.2)
        vector = encoder.encode([retriever.embedding_text("breakfast")])[0]
        async with small.acquire():  # the pool's only connection is busy
            with pytest.raises(DependencyUnavailable):
                await asyncio.wait_for(retriever.search(prop, vector, 5, question="x"), 5)
        assert await retriever.search(prop, vector, 5, question="breakfast")
    finally:
        await small.close()


async def test_searches_beyond_the_turns_wait_and_a_wait_past_the_timeout_is_unavailable(
    pool: asyncpg.Pool, registry: PropertyRegistry, encoder: Encoder
) -> None:
    prop = await registry.get("harbour-grand")
    turns = Turns(1)
    retriever = Retriever(pool, 20_000, HYBRID, acquire_timeout_s=0.2, turns=turns)
    vector = encoder.encode([retriever.embedding_text("breakfast")])[0]
    async with turns.take():  # the only turn is held: the pool has free connections
        with pytest.raises(DependencyUnavailable):
            await asyncio.wait_for(retriever.search(prop, vector, 5, question="breakfast"), 5)
        assert turns.waiting == 0
        waiting = asyncio.create_task(retriever.search(prop, vector, 5, question="breakfast"))
        await wait_until(lambda: turns.waiting == 1, 5.0, "the search waiting for a turn")
        assert not waiting.done()
    hits = await asyncio.wait_for(waiting, 5)
    assert hits == await retriever.search(prop, vector, 5, question="breakfast")
    assert turns.held == 0


async def test_the_stopwords_left_out_are_the_configurations_own(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        dropped = await text_stopwords(conn)
        assert {"the", "is", "at", "i", "in", "do", "s", "t"} <= dropped
        # Words the answer writer ignores but the text search keeps are still sent.
        assert not {"hotel", "hi", "please", "thanks"} & dropped
        assert await text_stopwords(conn, ["gym", "the", "breakfast"]) == {"the"}


@pytest.mark.parametrize("options", [HYBRID, FULLTEXT], ids=["hybrid", "fulltext"])
@pytest.mark.parametrize("exact_limit", [20_000, 0])
async def test_leaving_out_stopwords_changes_no_result(
    pool: asyncpg.Pool,
    registry: PropertyRegistry,
    encoder: Encoder,
    options: SearchOptions,
    exact_limit: int,
) -> None:
    async with pool.acquire() as conn:
        dropped = await text_stopwords(conn)
    plain = Retriever(pool, exact_limit, options)
    lean = Retriever(pool, exact_limit, options, text_stopwords=dropped)
    questions = [
        ("harbour-grand", "Hi, is the gym open at night? I'm in room 412."),
        ("sunset-cove", "what are the kids club opening hours"),
        ("alpine-lodge", "Can I do the ski room and the shuttle before I check out?"),
        ("alpine-lodge", "the a an of"),  # nothing but stopwords: the vector order alone
    ]
    for property_id, question in questions:
        prop = await registry.get(property_id)
        vector = encoder.encode([plain.embedding_text(question)])[0]
        expected = await plain.search(prop, vector, 10, question=question)
        assert len(expected) == 10
        assert await lean.search(prop, vector, 10, question=question) == expected
