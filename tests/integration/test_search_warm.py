"""The search warm-up reads each partition's HNSW graph into PostgreSQL's shared buffers."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from app import reading
from app.db.properties import PropertyRegistry
from app.search.warm import start_warming, warm_partition, warm_partitions
from ingestion import derive
from ingestion.chunking import TokenCounter
from ingestion.documents import Document
from ingestion.pipeline import Ingestor
from tests.fakes import HashingEncoder

pytestmark = pytest.mark.integration


async def _index_reads(conn: asyncpg.Connection, index: str) -> int:
    """Blocks of ``index`` this server has read, from its buffers or not."""
    await conn.execute("SELECT pg_stat_force_next_flush()")
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    value = await conn.fetchval(
        "SELECT idx_blks_hit + idx_blks_read FROM pg_statio_user_indexes WHERE indexrelname = $1",
        index,
    )
    return int(value)


async def test_the_walk_reads_every_page_of_the_graph_and_every_chunk(
    db_url: str, registry: PropertyRegistry
) -> None:
    prop = await registry.get("alpine-lodge")
    index = f"{prop.partition}_embedding_idx"
    conn = await asyncpg.connect(db_url)
    try:
        pages = await conn.fetchval("SELECT pg_relation_size($1::regclass) / 8192", index)
        before = await _index_reads(conn, index)
        assert await warm_partition(conn, prop, 10.0) == (prop.chunk_count, 0)
        read = await _index_reads(conn, index) - before
        # Every page but the metapage holds nodes, and the walk visits every node.
        assert read >= pages - 1, (read, pages)
        # The settings it needs end with it.
        assert await conn.fetchval("SHOW enable_seqscan") == "on"
    finally:
        await conn.close()


async def test_every_partition_is_warmed_within_the_budget(
    pool: asyncpg.Pool, registry: PropertyRegistry, sample_loaded: list[str]
) -> None:
    states = [s for s in registry.snapshot().values() if s.chunk_count]
    assert states
    done = await warm_partitions(pool, states, 30.0)
    assert done.status == "done"
    assert done.partitions == len(states)
    # A graph can leave some of many identical vectors out of reach (a hostile upload test
    # makes a thousand chunks of one repeated letter), so the walk is exact on real text only.
    assert done.chunks <= sum(s.chunk_count for s in states)
    async with pool.acquire() as conn:
        for s in states:
            if s.id in sample_loaded:
                assert await warm_partition(conn, s, 10.0) == (s.chunk_count, 0), s.id
    # A budget already spent reads nothing and says so.
    stopped = await warm_partitions(pool, states, 1e-9)
    assert (stopped.status, stopped.partitions, stopped.chunks) == ("stopped", 0, 0)


async def test_chunks_without_a_usable_kept_reading_are_counted(
    pool: asyncpg.Pool, registry: PropertyRegistry, count_tokens: TokenCounter
) -> None:
    property_id = f"test-{uuid.uuid4().hex[:10]}"
    documents = [Document(doc_key=f"d{i}.md", title=f"D{i}", text=f"Room {i} has a view.",
                          source=f"d{i}.md") for i in range(3)]  # fmt: skip
    await Ingestor(pool, HashingEncoder(), count_tokens).ingest(property_id, documents, name="W")
    prop = await registry.get(property_id)
    async with pool.acquire() as conn:
        assert await warm_partition(conn, prop, 10.0, reading.KEY) == (prop.chunk_count, 0)
        first = await conn.fetchval(
            "SELECT min(id) FROM chunks WHERE property_id = $1", property_id
        )
        await conn.execute("UPDATE chunks SET derived = NULL WHERE id = $1", first)
        await conn.execute(
            "UPDATE chunks SET derived = 'w0:other' || derived WHERE property_id = $1 AND id > $2",
            property_id,
            first,
        )
        assert await warm_partition(conn, prop, 10.0, reading.KEY) == (
            prop.chunk_count,
            prop.chunk_count,
        )
        assert await derive.fill(conn, property_id) == prop.chunk_count
        assert await warm_partition(conn, prop, 10.0, reading.KEY) == (prop.chunk_count, 0)
    state = await warm_partitions(pool, [prop], 30.0, reading_key=reading.KEY)
    assert (state.status, state.unread) == ("done", 0)


async def test_no_budget_means_no_warm_up(pool: asyncpg.Pool, registry: PropertyRegistry) -> None:
    state, task = start_warming(pool, registry.snapshot().values(), 0)
    assert task is None
    assert state.status == "off"
    state, task = start_warming(pool, registry.snapshot().values(), 30)
    assert task is not None
    assert (await task).status == "done"
    assert state.status == "done"
