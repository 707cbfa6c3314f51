"""Retrieval against the real embedded PostgreSQL + pgvector with the real packaged model."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import asyncpg
import numpy as np
import pytest

from app.config import Settings
from app.db.pool import create_pool
from app.db.properties import PropertyRegistry, PropertyState
from app.embedding.encoder import Encoder
from app.search.hybrid import hybrid_sql
from app.search.retriever import Retriever, nearest_sql
from app.search.types import SearchOptions

HYBRID = SearchOptions(mode="hybrid")

pytestmark = pytest.mark.integration

PLAIN_QUESTIONS = [
    ("harbour-grand", "What time is check-out?", "check-in-check-out.md"),
    ("harbour-grand", "How much does parking cost?", "parking.md"),
    ("harbour-grand", "Can I bring my dog?", "pets.md"),
    ("sunset-cove", "What are the kids club opening hours?", "kids-club.md"),
    ("sunset-cove", "Can I rent a paddle board?", "water-sports.md"),
    ("alpine-lodge", "Is there a shuttle to the ski lifts?", "shuttle-and-lifts.md"),
    ("alpine-lodge", "Where can I store my skis?", "ski-room-and-rentals.md"),
]


@pytest.mark.parametrize(("property_id", "question", "expected"), PLAIN_QUESTIONS)
async def test_plain_questions_find_their_document(
    pool: asyncpg.Pool,
    registry: PropertyRegistry,
    encoder: Encoder,
    property_id: str,
    question: str,
    expected: str,
) -> None:
    prop = await registry.get(property_id)
    hits = await Retriever(pool, 20_000).search(prop, encoder.encode([question])[0], 5)
    assert expected in [h.document_id for h in hits[:3]], [h.document_id for h in hits]


async def test_results_never_leave_the_property(
    pool: asyncpg.Pool, registry: PropertyRegistry, encoder: Encoder, sample_loaded: list[str]
) -> None:
    vector = encoder.encode(["What is the wifi password?"])[0]
    for property_id in sample_loaded:
        prop = await registry.get(property_id)
        for exact_limit in (20_000, 0):  # exact search and the HNSW path
            hits = await Retriever(pool, exact_limit).search(prop, vector, 20)
            owners = await pool.fetch(
                "SELECT DISTINCT property_id FROM chunks WHERE id = ANY($1::bigint[])",
                [h.chunk_id for h in hits],
            )
            assert [r["property_id"] for r in owners] == [property_id]


@pytest.mark.parametrize("k", [1, 5, 20, 50])
async def test_k_rows_come_back_on_both_paths(
    pool: asyncpg.Pool, registry: PropertyRegistry, encoder: Encoder, k: int
) -> None:
    prop = await registry.get("alpine-lodge")
    assert prop.chunk_count >= 50
    vector = encoder.encode(["breakfast"])[0]
    for exact_limit in (20_000, 0):
        hits = await Retriever(pool, exact_limit).search(prop, vector, k)
        assert len(hits) == k


async def test_a_large_partition_searches_with_its_own_ef_search_and_one_statement_a_search(
    db_url: str, settings: Settings, registry: PropertyRegistry, encoder: Encoder
) -> None:
    prop = await registry.get("alpine-lodge")
    vector = encoder.encode(["breakfast"])[0]
    steps = {prop.chunk_count + 1: 300, prop.chunk_count: 40, 0: 20}
    one = settings.model_copy(update={"db_pool_min": 1, "db_pool_max": 1})
    pool = await create_pool(db_url, one)
    sent: list[str] = []
    try:
        async with pool.acquire() as conn:  # the pool's only connection
            conn.add_query_logger(lambda q: sent.append(q.query))
        retriever = Retriever(pool, 0, ef_search_by_size=steps)
        default = Retriever(pool, 0)
        assert retriever.ef_search(prop) == 40
        assert default.ef_search(prop) is None
        assert Retriever(pool, prop.chunk_count, ef_search_by_size=steps).ef_search(prop) is None
        assert len(await retriever.search(prop, vector, 20)) == 20
        assert sent[0] == "SET hnsw.ef_search = 40"
        assert len(sent) == 2
        # The connection keeps the value: the next searches of that size are one statement
        # each, and no reset runs when the connection goes back to the pool.
        for _ in range(3):
            await retriever.search(prop, vector, 5)
        assert len(sent) == 5
        assert "SET" not in " ".join(sent[2:])
        assert await pool.fetchval("SHOW hnsw.ef_search") == "40"
        # A search that wants the configured value puts it back first.
        del sent[:]
        await default.search(prop, vector, 5)
        assert sent[0] == "RESET hnsw.ef_search"
        assert len(sent) == 2
        assert await pool.fetchval("SHOW hnsw.ef_search") == str(settings.hnsw_ef_search)
        # The setting is really sent: a value the server refuses fails the search, and the
        # connection keeps the value it had.
        with pytest.raises(asyncpg.InvalidParameterValueError):
            await Retriever(pool, 0, ef_search_by_size={0: 0}).search(prop, vector, 5)
        assert await pool.fetchval("SHOW hnsw.ef_search") == str(settings.hnsw_ef_search)
        del sent[:]
        await default.search(prop, vector, 5)
        assert len(sent) == 1
    finally:
        await pool.close()


def _statement(
    prop: PropertyState, vector: np.ndarray, exact: bool, hybrid: bool
) -> tuple[str, tuple[object, ...]]:
    """A search statement of ``prop``'s partition and its arguments, as the retriever sends."""
    table = '"' + (prop.partition or "") + '"'
    if hybrid:
        args: tuple[object, ...] = (prop.version_id, vector, prop.id, 60, 1.0, 1.0, ["breakfast"])
        return hybrid_sql(exact, table, 5, 40, 50), args
    return nearest_sql(exact, table, 5), (prop.version_id, vector, prop.id)


async def _generic_plan(conn: asyncpg.Connection, sql: str, args: tuple[object, ...]) -> str:
    """The plan PostgreSQL keeps for ``sql`` prepared once and run with any arguments."""
    async with conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE probe AS {sql}")
        try:
            # A generic plan does not depend on the values: none are given.
            nulls = ", ".join("NULL" for _ in args)
            rows = await conn.fetch(f"EXPLAIN EXECUTE probe({nulls})")
        finally:
            await conn.execute("DEALLOCATE probe")
    return "\n".join(r[0] for r in rows)


@pytest.mark.parametrize("hybrid", [False, True])
async def test_a_small_partition_is_read_through_its_index_on_the_hnsw_path_only(
    pool: asyncpg.Pool, registry: PropertyRegistry, encoder: Encoder, hybrid: bool
) -> None:
    # The partition is small enough that pgvector costs its index scan as the whole index's:
    # only the distance's planner cost (migration denser_hnsw) keeps the planner from
    # computing every chunk's distance and sorting them instead.
    prop = await registry.get("alpine-lodge")
    vector = encoder.encode(["breakfast"])[0]

    async def plan(exact: bool) -> str:
        sql, args = _statement(prop, vector, exact, hybrid)
        rows = await pool.fetch("EXPLAIN " + sql, *args)
        return "\n".join(r[0] for r in rows)

    await pool.execute(f'ANALYZE "{prop.partition}"')  # as autovacuum would: every row's estimates
    index = f"Index Scan using {prop.partition}_embedding_idx"
    assert index in await plan(exact=False)
    assert index not in await plan(exact=True)


@pytest.mark.parametrize("hybrid", [False, True])
@pytest.mark.parametrize("exact", [False, True])
async def test_the_generic_plan_reads_the_partition_as_the_search_intends(
    pool: asyncpg.Pool, registry: PropertyRegistry, encoder: Encoder, hybrid: bool, exact: bool
) -> None:
    # The plan a connection keeps for the statement after its first calls is made without the
    # arguments: it must still read the property's partition alone, through its HNSW index on
    # the index path and by a sort of the version's rows on the exact one.
    prop = await registry.get("alpine-lodge")
    await pool.execute(f'ANALYZE "{prop.partition}"')
    sql, args = _statement(prop, encoder.encode(["breakfast"])[0], exact, hybrid)
    async with pool.acquire() as conn:
        plan = await _generic_plan(conn, sql, args)
    # Made without the arguments' values.
    assert "$1" in plan, plan
    assert "$2" in plan, plan
    scans = re.findall(r"Scan(?: using \S+)? on (\S+)", plan)
    assert {s for s in scans if s.startswith("chunks")} == {prop.partition}, plan
    index = f"Index Scan using {prop.partition}_embedding_idx"
    if exact:
        assert index not in plan
        assert f"Seq Scan on {prop.partition}" in plan or "Bitmap" in plan, plan
    else:
        assert index in plan, plan


@pytest.mark.parametrize("hybrid", [False, True])
@pytest.mark.parametrize("exact_limit", [20_000, 0])
async def test_a_connection_stops_planning_the_search_after_its_first_calls(
    db_url: str,
    settings: Settings,
    registry: PropertyRegistry,
    encoder: Encoder,
    hybrid: bool,
    exact_limit: int,
) -> None:
    # PostgreSQL plans a prepared statement anew for its first five calls, then keeps its
    # generic plan when that costs no more: with every row count written into the statement
    # it does, so later searches are not planned at all.
    prop = await registry.get("alpine-lodge")
    assert prop.chunk_count >= 20
    one = settings.model_copy(update={"db_pool_min": 1, "db_pool_max": 1})
    pool = await create_pool(db_url, one)
    try:
        options = SearchOptions(mode="hybrid" if hybrid else "vector", depth=1, pool=1)
        retriever = Retriever(pool, exact_limit, options)
        vector = encoder.encode(["breakfast"])[0]
        expected = await retriever.search(prop, vector, 1, "breakfast hours")
        assert len(expected) == 1
        for _ in range(7):
            assert await retriever.search(prop, vector, 1, "breakfast hours") == expected
        rows = await pool.fetch(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%' || $1 || '%' AND statement NOT LIKE '%pg_prepared%'",
            prop.partition,
        )
        assert len(rows) == 1, rows
        assert rows[0]["custom_plans"] == 5
        assert rows[0]["generic_plans"] == 3
    finally:
        await pool.close()


@pytest.mark.parametrize("exact_limit", [20_000, 0])
async def test_searching_the_partition_by_name_finds_what_the_partitioned_table_finds(
    pool: asyncpg.Pool, registry: PropertyRegistry, encoder: Encoder, exact_limit: int
) -> None:
    prop = await registry.get("sunset-cove")
    table = await pool.fetchval(
        "SELECT tableoid::regclass::text FROM chunks WHERE property_id = $1 LIMIT 1", prop.id
    )
    assert prop.partition == table
    whole = dataclasses.replace(prop, partition=None)
    gone = dataclasses.replace(prop, partition="chunks_no_such_partition")
    retriever = Retriever(pool, exact_limit, HYBRID)
    vector = encoder.encode(["kids club opening hours"])[0]
    for question in (None, "kids club opening hours"):
        expected = [h.chunk_id for h in await retriever.search(whole, vector, 10, question)]
        assert len(expected) == 10
        for state in (prop, prop, gone):  # again: the prepared statement's cached plan
            hits = await retriever.search(state, vector, 10, question)
            assert [h.chunk_id for h in hits] == expected


async def test_search_equals_brute_force_over_the_property(
    pool: asyncpg.Pool, registry: PropertyRegistry, encoder: Encoder
) -> None:
    prop = await registry.get("harbour-grand")
    rows = await pool.fetch(
        "SELECT id, embedding FROM chunks WHERE version_id = $1", prop.version_id
    )
    ids = np.array([r["id"] for r in rows])
    matrix = np.stack([r["embedding"].to_numpy().astype(np.float32) for r in rows])
    retriever = Retriever(pool, 20_000)
    assert retriever.uses_exact(prop)
    for question in ("late check-out", "vegetarian dishes", "airport train", "spa massage"):
        vector = encoder.encode([question])[0]
        expected = ids[np.argsort(-(matrix @ vector))[:10]].tolist()
        hits = await retriever.search(prop, vector, 10)
        assert [h.chunk_id for h in hits] == expected
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)


async def test_a_burst_of_notifications_is_one_reload_after_another(
    registry: PropertyRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    reloaded: list[set[str]] = []
    started, release = asyncio.Event(), asyncio.Event()
    refresh = registry.refresh

    async def gated_refresh(ids: set[str]) -> None:
        reloaded.append(set(ids))
        started.set()
        await release.wait()
        await refresh(ids)

    async def no_full_reload() -> None:
        raise AssertionError("a notification naming its property reloads only that one")

    monkeypatch.setattr(registry, "refresh", gated_refresh)
    monkeypatch.setattr(registry, "reload", no_full_reload)
    registry._on_notify(None, 0, "concierge_index", "harbour-grand")
    await started.wait()  # the first reload is running
    for n in range(49):
        named = "harbour-grand" if n % 2 else "alpine-lodge"
        registry._on_notify(None, 0, "concierge_index", named)
    release.set()
    assert registry._reloader is not None
    await registry._reloader
    # The 49 notifications that arrived during the first reload fold into one more, which
    # reads only the properties they named.
    assert reloaded == [{"harbour-grand"}, {"harbour-grand", "alpine-lodge"}]
    assert (await registry.get("harbour-grand")).chunk_count > 0
    await registry.close()
