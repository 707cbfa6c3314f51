"""Chunks live in one partition per property; the migration that made them so can be undone
and applied again without losing a row, and a scoped search reads only its property's
partition. Every partition's HNSW index, including those of properties created later, is built
with m 32 and ef_construction 200 (migration ``denser_hnsw``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import numpy as np
import pytest
import pytest_asyncio
from pgvector.asyncpg import register_vector

from app.config import Settings
from tests.migrations import add_version, connected_at, migrate, own_database

pytestmark = pytest.mark.integration

BEFORE = "follow_up_sessions"
PARTITIONS = """
SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'chunks'::regclass ORDER BY c.relname
"""
KIND = "SELECT relkind::text FROM pg_class WHERE relname = 'chunks'"
ROWS = "SELECT id, property_id, version_id, ord, text, embedding::text FROM chunks ORDER BY id"


@pytest_asyncio.fixture
async def empty_db(settings: Settings) -> AsyncIterator[str]:
    async with own_database(settings, "partitions") as url:
        yield url


async def _add_property(conn: asyncpg.Connection, prop: str, chunks: int, seed: int) -> None:
    await conn.execute("INSERT INTO properties (id, name) VALUES ($1, $1)", prop)
    version, doc = await add_version(conn, prop)
    rng = np.random.default_rng(seed)
    for ord_ in range(chunks):
        vector = rng.normal(size=384).astype(np.float32)
        await conn.execute(
            "INSERT INTO chunks (document_id, property_id, version_id, ord, text, content_hash,"
            " embedding) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            doc,
            prop,
            version,
            ord_,
            f"{prop} chunk {ord_} about breakfast",
            f"{prop}-{ord_}",
            vector / np.linalg.norm(vector),
        )


async def test_each_property_gets_its_partition_and_the_migration_round_trips(
    empty_db: str,
) -> None:
    async with connected_at(empty_db, BEFORE) as conn:
        await _add_property(conn, "old-hotel", 3, seed=1)
        before = [tuple(r) for r in await conn.fetch(ROWS)]
        await asyncio.to_thread(migrate, empty_db, "head")
        assert await conn.fetchval(KIND) == "p"
        # Rows written before the migration moved into the property's partition.
        assert [tuple(r) for r in await conn.fetch(ROWS)] == before
        await _add_property(conn, "new-hotel", 4, seed=2)
        partitions = await conn.fetch(PARTITIONS)
        bounds = {r["bound"]: r["relname"] for r in partitions}
        assert set(bounds) == {"FOR VALUES IN ('new-hotel')", "FOR VALUES IN ('old-hotel')"}
        per_partition = await conn.fetch(
            "SELECT tableoid::regclass::text AS part, count(*) AS n FROM chunks GROUP BY 1"
        )
        assert {r["part"]: r["n"] for r in per_partition} == {
            bounds["FOR VALUES IN ('old-hotel')"]: 3,
            bounds["FOR VALUES IN ('new-hotel')"]: 4,
        }
        # A property's scoped search plans a scan of its own partition only.
        plan = "\n".join(
            r[0]
            for r in await conn.fetch(
                "EXPLAIN SELECT id FROM chunks WHERE property_id = 'new-hotel' "
                "ORDER BY embedding <=> $1 LIMIT 5",
                np.ones(384, dtype=np.float32),
            )
        )
        assert bounds["FOR VALUES IN ('new-hotel')"] in plan
        assert bounds["FOR VALUES IN ('old-hotel')"] not in plan
        # Deleting a property removes its rows; creating it again reuses its partition.
        await conn.execute("DELETE FROM properties WHERE id = 'new-hotel'")
        await _add_property(conn, "new-hotel", 2, seed=3)
        count = "SELECT count(*) FROM chunks WHERE property_id = 'new-hotel'"
        assert await conn.fetchval(count) == 2
        after = [tuple(r) for r in await conn.fetch(ROWS)]
        await asyncio.to_thread(migrate, empty_db, BEFORE, True)
        assert await conn.fetchval(KIND) == "r"
        assert [tuple(r) for r in await conn.fetch(ROWS)] == after
        await asyncio.to_thread(migrate, empty_db, "head")
        assert [tuple(r) for r in await conn.fetch(ROWS)] == after
        assert len(await conn.fetch(PARTITIONS)) == 2


DENSER_BEFORE = "partitioned_chunks"
OPTIONS = """
SELECT c.relname AS partition, i.reloptions
FROM pg_inherits h
JOIN pg_class c ON c.oid = h.inhrelid
JOIN pg_index x ON x.indrelid = c.oid
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_am a ON a.oid = i.relam
WHERE h.inhparent = 'chunks'::regclass AND a.amname = 'hnsw'
ORDER BY c.relname
"""


async def _options(conn: asyncpg.Connection) -> list[list[str]]:
    return [sorted(r["reloptions"]) for r in await conn.fetch(OPTIONS)]


async def test_partitions_get_the_denser_graph_and_the_migration_round_trips(
    empty_db: str,
) -> None:
    async with connected_at(empty_db, DENSER_BEFORE) as conn:
        await _add_property(conn, "old-hotel", 3, seed=1)
        assert await _options(conn) == [["ef_construction=64", "m=16"]]
        await asyncio.to_thread(migrate, empty_db, "head")
        denser = ["ef_construction=200", "m=32"]
        assert await _options(conn) == [denser]
        # A property created afterwards gets its partition's index from the new definition.
        await _add_property(conn, "new-hotel", 4, seed=2)
        assert await _options(conn) == [denser, denser]
        # Each partition's rows are in its rebuilt index: an index scan finds them all.
        await conn.execute("SET enable_seqscan = off")
        await conn.execute("SET enable_sort = off")
        found = await conn.fetch(
            "SELECT id FROM chunks WHERE property_id = 'new-hotel' "
            "ORDER BY embedding <=> (SELECT embedding FROM chunks LIMIT 1) LIMIT 10"
        )
        assert len(found) == 4
        await asyncio.to_thread(migrate, empty_db, DENSER_BEFORE, True)
        assert await _options(conn) == [["ef_construction=64", "m=16"]] * 2
        await asyncio.to_thread(migrate, empty_db, "head")
        assert await _options(conn) == [denser, denser]


LOCK_ORDER_BEFORE = "facility_hours_index"
WAITING = "SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted"


async def _ingestion_started(conn: asyncpg.Connection, prop: str) -> int:
    """In an open transaction, what an ingestion writes first: a version and a document (the
    document's lock is held until the transaction ends). Returns the version."""
    await conn.execute("INSERT INTO properties (id, name) VALUES ($1, $1)", prop)
    await conn.execute("BEGIN")
    version, _ = await add_version(conn, prop, "building")
    return version


async def _write_chunk(conn: asyncpg.Connection, prop: str, version: int) -> None:
    doc = await conn.fetchval(
        "SELECT id FROM documents WHERE property_id = $1 AND version_id = $2", prop, version
    )
    await conn.execute(
        "INSERT INTO chunks (document_id, property_id, version_id, ord, text, content_hash,"
        " embedding) VALUES ($1, $2, $3, 0, 'breakfast', 'c', $4)",
        doc,
        prop,
        version,
        np.ones(384, dtype=np.float32) / np.sqrt(384),
    )


async def _new_property_while_another_ingests(url: str) -> tuple[int, int]:
    """One connection ingests a property (its document written, its chunks not yet) while
    another creates a new property, whose partition is created then; the first then writes its
    chunk and commits. Returns the ingested property's chunks and the partitions afterwards."""
    ingesting = await asyncpg.connect(url)
    creating = await asyncpg.connect(url)
    await register_vector(ingesting)
    try:
        version = await _ingestion_started(ingesting, "busy-hotel")
        created = asyncio.create_task(
            creating.execute("INSERT INTO properties (id, name) VALUES ('new-hotel', 'New')")
        )
        # Until the new property's statement waits for a lock the ingestion holds.
        pid = creating.get_server_pid()
        while not await ingesting.fetchval(WAITING, pid):
            assert not created.done(), created.result()
            await asyncio.sleep(0.01)
        # Meanwhile a guest's search of another property is answered.
        reading = await asyncpg.connect(url)
        try:
            read = "SELECT count(*) FROM chunks WHERE property_id = 'busy-hotel'"
            assert await asyncio.wait_for(reading.fetchval(read), timeout=10) == 0
        finally:
            await reading.close()
        await _write_chunk(ingesting, "busy-hotel", version)
        await ingesting.execute("COMMIT")
        await asyncio.wait_for(created, timeout=30)
        chunks = "SELECT count(*) FROM chunks WHERE property_id = $1"
        return (
            await ingesting.fetchval(chunks, "busy-hotel"),
            len(await ingesting.fetch(PARTITIONS)),
        )
    finally:
        await ingesting.close()
        await creating.close()


async def test_a_new_property_waits_for_a_running_ingestion_without_a_deadlock(
    empty_db: str,
) -> None:
    await asyncio.to_thread(migrate, empty_db, "head")
    # The migration undoes and applies again.
    await asyncio.to_thread(migrate, empty_db, LOCK_ORDER_BEFORE, True)
    await asyncio.to_thread(migrate, empty_db, "head")
    assert await _new_property_while_another_ingests(empty_db) == (1, 2)
