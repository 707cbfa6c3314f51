"""Each index version's ``chunk_count`` (migration ``chunk_counts``) equals the number of its
chunks through ingestion, updates, deletions and cascades, and is what the property registry
reads; the migration counts the chunks already stored and can be undone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import numpy as np
import pytest
import pytest_asyncio

from app.config import Settings
from app.db.properties import PropertyRegistry
from ingestion import store
from ingestion.chunking import TokenCounter
from ingestion.documents import Document
from ingestion.pipeline import Ingestor
from tests.fakes import HashingEncoder
from tests.migrations import add_version, connected_at, migrate, own_database

pytestmark = pytest.mark.integration

BEFORE = "partition_lock_order"
# Versions whose stored count is not the number of their chunks.
WRONG = """
SELECT v.id, v.chunk_count, (SELECT count(*) FROM chunks c WHERE c.version_id = v.id) AS real
FROM index_versions v
WHERE v.chunk_count <> (SELECT count(*) FROM chunks c WHERE c.version_id = v.id)
"""
COUNTS = "SELECT id, chunk_count FROM index_versions ORDER BY id"


def doc(key: str, text: str) -> Document:
    return Document(doc_key=key, title=key.removesuffix(".md").title(), text=text, source=key)


async def _count(conn: asyncpg.Connection, version: int) -> tuple[int, int]:
    """(stored count, chunks) of ``version``."""
    row = await conn.fetchrow(
        "SELECT chunk_count, (SELECT count(*) FROM chunks WHERE version_id = $1) AS real "
        "FROM index_versions WHERE id = $1",
        version,
    )
    assert row is not None
    return int(row["chunk_count"]), int(row["real"])


async def test_ingestion_updates_and_deletions_keep_the_count(
    pool: asyncpg.Pool, count_tokens: TokenCounter, settings: Settings
) -> None:
    property_id = f"count-{uuid.uuid4().hex[:10]}"
    ingestor = Ingestor(pool, HashingEncoder(), count_tokens)
    long_text = " ".join(f"Sentence {i} about the spa's treatments and hours." for i in range(300))
    await ingestor.ingest(
        property_id,
        [doc("spa.md", long_text), doc("bar.md", "The bar opens at 17:00.")],
        name="Counted",
    )
    async with pool.acquire() as conn:
        version = await store.live_version_id(conn, property_id)
        first = await _count(conn, version)
        assert first[0] == first[1] > 2  # the long document made several chunks
        # A changed document replaces its chunks; a new one adds its own.
        await ingestor.ingest(
            property_id,
            [doc("spa.md", "The spa opens at 09:00."), doc("pool.md", "The pool is heated.")],
        )
        second = await _count(conn, version)
        assert second[0] == second[1] < first[1]
        async with conn.transaction():
            await store.delete_live_documents(conn, property_id, ["bar.md"])
        third = await _count(conn, version)
        assert third[0] == third[1] == second[1] - 1
        registry = PropertyRegistry(pool, "unused", settings.registry_refresh_s)
        assert (await registry.get(property_id)).chunk_count == third[1]
        async with conn.transaction():
            assert await store.delete_property(conn, property_id)
        assert await conn.fetch(WRONG) == []


@pytest_asyncio.fixture
async def empty_db(settings: Settings) -> AsyncIterator[str]:
    async with own_database(settings, "counts") as url:
        yield url


def _rows(
    document: int, prop: str, version: int, n: int, start: int = 0
) -> list[tuple[object, ...]]:
    rng = np.random.default_rng(version * 100 + start)
    vectors = rng.normal(size=(n, 384)).astype(np.float32)
    return [
        (document, prop, version, start + i, f"chunk {start + i}", f"h{start + i}", vector)
        for i, vector in enumerate(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    ]


COLUMNS = ["document_id", "property_id", "version_id", "ord", "text", "content_hash", "embedding"]


async def test_triggers_count_every_kind_of_write_and_the_migration_round_trips(
    empty_db: str,
) -> None:
    async with connected_at(empty_db, BEFORE) as conn:
        await conn.execute("INSERT INTO properties (id, name) VALUES ('a', 'A'), ('b', 'B')")
        live, doc_live = await add_version(conn, "a", "live")
        old, doc_old = await add_version(conn, "a", "retired")
        other, doc_other = await add_version(conn, "b", "live")
        # Stored before the column existed: counted by the migration.
        await conn.copy_records_to_table(
            "chunks", records=_rows(doc_live, "a", live, 7), columns=COLUMNS
        )
        await conn.copy_records_to_table(
            "chunks", records=_rows(doc_old, "a", old, 3), columns=COLUMNS
        )
        await asyncio.to_thread(migrate, empty_db, "head")
        assert await conn.fetch(COUNTS) == [(live, 7), (old, 3), (other, 0)]
        # One statement writing two versions of two properties (two partitions).
        records = _rows(doc_live, "a", live, 2, start=7) + _rows(doc_other, "b", other, 4)
        await conn.copy_records_to_table("chunks", records=records, columns=COLUMNS)
        assert await conn.fetch(COUNTS) == [(live, 9), (old, 3), (other, 4)]
        await conn.execute(
            "INSERT INTO chunks (document_id, property_id, version_id, ord, text, content_hash, "
            "embedding) SELECT document_id, property_id, version_id, ord + 100, text, "
            "content_hash, embedding FROM chunks WHERE version_id = $1",
            other,
        )
        await conn.execute("DELETE FROM chunks WHERE version_id = $1 AND ord < 2", live)
        assert await conn.fetch(COUNTS) == [(live, 7), (old, 3), (other, 8)]

        # A rolled-back write leaves the count as it was.
        async def delete_then_fail() -> None:
            async with conn.transaction():
                await conn.execute("DELETE FROM chunks WHERE version_id = $1", other)
                await conn.execute("INSERT INTO properties (id, name) VALUES ('a', 'again')")

        with pytest.raises(asyncpg.UniqueViolationError):
            await delete_then_fail()
        assert await conn.fetch(COUNTS) == [(live, 7), (old, 3), (other, 8)]
        # A document's chunks go by cascade; a version's documents and chunks with it.
        await conn.execute("DELETE FROM documents WHERE id = $1", doc_other)
        await conn.execute("DELETE FROM index_versions WHERE id = $1", old)
        assert await conn.fetch(COUNTS) == [(live, 7), (other, 0)]
        assert await conn.fetch(WRONG) == []
        await asyncio.to_thread(migrate, empty_db, BEFORE, True)
        columns = await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'index_versions' AND column_name = 'chunk_count'"
        )
        assert columns == 0
        await conn.copy_records_to_table(
            "chunks", records=_rows(doc_live, "a", live, 1, start=50), columns=COLUMNS
        )
        await asyncio.to_thread(migrate, empty_db, "head")
        assert await conn.fetch(COUNTS) == [(live, 8), (other, 0)]
