"""Ingestion keeps with each chunk what the answer writer reads from it; the search reads it
with the chunk; a chunk without it is answered from its text and ``derive`` fills it."""

from __future__ import annotations

import uuid
from dataclasses import replace

import asyncpg
import pytest

from app.answering.extractive import ExtractiveWriter
from app.answering.types import number_sources
from app.db.properties import PropertyRegistry
from app.reading import derived_form
from app.search.retriever import Retriever
from ingestion import derive
from ingestion.chunking import TokenCounter
from ingestion.documents import Document
from ingestion.pipeline import Ingestor
from tests.fakes import HashingEncoder

pytestmark = pytest.mark.integration

DOCUMENTS = [
    Document(
        doc_key="spa.md",
        title="Spa",
        text="# Spa\n## Sauna\nThe sauna opens at 09:00. It closes at 21:00.\n"
        "Our wellness area includes:\n- a steam bath\n- a heated pool",
        source="spa.md",
    ),
    Document(
        doc_key="bar.md",
        title="Rooftop bar",
        text="# Rooftop bar\nThe rooftop bar opens at 17:00. We accept American Express.",
        source="bar.md",
    ),
]
_CHUNKS_SQL = """
SELECT d.title, c.heading, c.text, c.derived
FROM chunks c JOIN documents d ON d.id = c.document_id
WHERE c.property_id = $1
ORDER BY c.id
"""


async def _loaded(pool: asyncpg.Pool, count_tokens: TokenCounter) -> str:
    property_id = f"test-{uuid.uuid4().hex[:10]}"
    await Ingestor(pool, HashingEncoder(), count_tokens).ingest(property_id, DOCUMENTS, name="K")
    return property_id


async def test_ingested_chunks_keep_their_reading_and_the_search_returns_it(
    pool: asyncpg.Pool, registry: PropertyRegistry, count_tokens: TokenCounter
) -> None:
    property_id = await _loaded(pool, count_tokens)
    async with pool.acquire() as conn:
        rows = await conn.fetch(_CHUNKS_SQL, property_id)
    assert len(rows) >= 2
    for r in rows:
        assert r["derived"] == derived_form(r["title"], r["heading"], r["text"])
    prop = await registry.get(property_id)
    question = "when does the sauna open"
    vector = HashingEncoder().encode([question])[0]
    for hits in (
        await Retriever(pool, 20_000).search(prop, vector, 5),
        await Retriever(pool, 20_000).search(prop, vector, 5, question=question),
    ):
        assert hits
        assert all(h.derived == derived_form(h.title, h.heading, h.text) for h in hits)


async def test_chunks_without_their_reading_answer_the_same_and_are_filled(
    pool: asyncpg.Pool, registry: PropertyRegistry, count_tokens: TokenCounter
) -> None:
    property_id = await _loaded(pool, count_tokens)
    prop = await registry.get(property_id)
    retriever = Retriever(pool, 20_000)
    writer = ExtractiveWriter(min_score=0.05, confident_score=0.1)
    questions = ["when does the sauna open", "do you take amex", "is there a steam bath"]
    kept = {}
    for question in questions:
        vector = HashingEncoder().encode([question])[0]
        hits = await retriever.search(prop, vector, 5, question=question)
        kept[question] = writer.compose(question, number_sources(hits))
        read = [replace(h, derived=None) for h in hits]
        assert writer.compose(question, number_sources(read)) == kept[question]
    assert not kept["when does the sauna open"].escalate
    async with pool.acquire() as conn:
        await conn.execute("UPDATE chunks SET derived = NULL WHERE property_id = $1", property_id)
        for question in questions:  # written before the column: read from the text
            vector = HashingEncoder().encode([question])[0]
            hits = await retriever.search(prop, vector, 5, question=question)
            assert all(h.derived is None for h in hits)
            assert writer.compose(question, number_sources(hits)) == kept[question]
        rows = await conn.fetch(_CHUNKS_SQL, property_id)
        assert await derive.fill(conn, property_id, batch=1) == len(rows)
        assert await derive.fill(conn, property_id) == 0
        vacuums = (
            "SELECT vacuum_count FROM pg_stat_user_tables "
            "WHERE relid = chunk_partition($1)::regclass"
        )
        before = await conn.fetchval(vacuums, property_id)
        await derive.settle(conn, property_id)  # the replaced versions leave the graph
        assert await conn.fetchval(vacuums, property_id) == before + 1
        await derive.settle(conn, "no-such-property")  # nothing to vacuum
        for r in await conn.fetch(_CHUNKS_SQL, property_id):
            assert r["derived"] == derived_form(r["title"], r["heading"], r["text"])
