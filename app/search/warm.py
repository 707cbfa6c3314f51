"""Each property's search structures read into PostgreSQL's shared buffers before questions do.

After the server starts (or a restore), a partition's HNSW graph and rows are on disk or in the
operating system's cache only: the first searches of a large property each read thousands of
pages the searches before them did not touch, 10-25 ms where a warm search takes 1-3 ms. No
extension that reads a relation into the buffers (``pg_prewarm``) ships with the embedded
server, so each partition is read by walking its whole graph: an index scan ordered by distance
that returns every chunk of the live version visits every node of the graph (iterative scans
go on past ``hnsw.ef_search``) and fetches every row, which also reads the stored tsvectors
the full-text half ranks. About 0.3 s of database time for a partition of 18k chunks.

It runs behind start-up, on one pooled connection, one partition at a time (largest first, as
they gain the most) and within a time budget: questions are answered meanwhile, only slower.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg

from app.db.pool import Connection, describe_error, stop_if_cancelled
from app.db.properties import PropertyState
from app.reading import unread_sql

log = logging.getLogger(__name__)

# Every live chunk in distance order from one of them: the planner is kept from answering by
# a sequential scan and a sort (cheaper for "every row", but it would not read the graph).
_WALK_SQL = """
SELECT count(*) AS chunks, coalesce(sum(length(tsv)), 0) AS lexemes,
       count(*) FILTER (
           WHERE $2::text IS NOT NULL AND {unread}
       ) AS unread
FROM (
    SELECT tsv, derived FROM {table}
    WHERE version_id = $1
    ORDER BY embedding <=> (SELECT embedding FROM {table} WHERE version_id = $1 LIMIT 1)
    LIMIT {limit}
) walked
"""

_SETTINGS = (
    "SET LOCAL enable_seqscan = off",
    "SET LOCAL enable_sort = off",
    "SET LOCAL hnsw.iterative_scan = relaxed_order",
    "SET LOCAL hnsw.ef_search = 40",
    # The walk returns every chunk: the scan's own bounds must not end it first.
    "SET LOCAL hnsw.max_scan_tuples = {tuples}",
    "SET LOCAL hnsw.scan_mem_multiplier = 16",
)


@dataclass(slots=True)
class WarmState:
    """How far the warm-up got: ``"off"``, ``"warming"``, ``"done"`` or ``"stopped"`` (the
    budget ran out or the database failed), with the partitions and chunks read so far, and
    how many of those chunks keep no reading the answer writer can use (see
    :mod:`app.reading`)."""

    status: str = "off"
    partitions: int = 0
    chunks: int = 0
    unread: int = 0
    seconds: float = 0.0


def _quoted(name: str) -> str:
    return '"' + name.strip('"').replace('"', '""') + '"'


async def warm_partition(
    conn: Connection, prop: PropertyState, timeout_s: float, reading_key: str | None = None
) -> tuple[int, int]:
    """Read ``prop``'s partition (graph, rows, tsvectors, kept readings) into the shared
    buffers; how many chunks the walk returned, and how many of them keep no reading named
    ``reading_key`` (0 when it is None)."""
    if prop.partition is None or prop.version_id is None or prop.chunk_count == 0:
        return 0, 0
    table = _quoted(prop.partition)
    limit = int(prop.chunk_count)
    async with conn.transaction():
        # Ends the statement on the server too, past the caller's timeout.
        await conn.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout_s * 1000))}")
        for setting in _SETTINGS:
            await conn.execute(setting.format(tuples=max(20_000, 2 * limit)))
        row = await conn.fetchrow(
            _WALK_SQL.format(table=table, limit=limit, unread=unread_sql("derived", "$2")),
            prop.version_id,
            reading_key,
            timeout=timeout_s + 1.0,
        )
    return (int(row["chunks"]), int(row["unread"])) if row is not None else (0, 0)


async def warm_partitions(
    pool: asyncpg.Pool,
    states: Iterable[PropertyState],
    budget_s: float,
    state: WarmState | None = None,
    reading_key: str | None = None,
) -> WarmState:
    """Warm every property's partition, largest first, until ``budget_s`` seconds have
    passed; progress in ``state`` (a new one if None). A failure stops the warm-up (logged):
    searches then read what they need themselves, as they would without it. Chunks without
    a kept reading named ``reading_key`` are counted and, if any, logged as a warning."""
    state = state or WarmState()
    props = sorted(
        (s for s in states if s.partition and s.version_id is not None and s.chunk_count),
        key=lambda s: -s.chunk_count,
    )
    began = time.perf_counter()
    state.status = "warming"
    for prop in props:
        left = budget_s - (time.perf_counter() - began)
        if left <= 0:
            state.status = "stopped"
            break
        try:
            async with pool.acquire() as conn:
                chunks, unread = await warm_partition(conn, prop, left, reading_key)
            state.chunks += chunks
            state.unread += unread
            state.partitions += 1
        except (asyncpg.PostgresError, OSError, TimeoutError, asyncpg.InterfaceError) as exc:
            stop_if_cancelled(exc)
            log.warning("search warm-up stopped at %s: %s", prop.id, describe_error(exc))
            state.status = "stopped"
            break
    else:
        state.status = "done"
    state.seconds = round(time.perf_counter() - began, 2)
    log.info(
        "search warm-up %s: %d partitions, %d chunks in %.2f s",
        state.status,
        state.partitions,
        state.chunks,
        state.seconds,
    )
    if state.unread:
        log.warning(
            "%d chunks keep no reading the answer writer can use (written before it was kept, "
            "or by other code): they are answered from their text, at more CPU per question, "
            "until 'scripts/ingest derive' writes them again",
            state.unread,
        )
    return state


def start_warming(
    pool: asyncpg.Pool,
    states: Iterable[PropertyState],
    budget_s: float,
    reading_key: str | None = None,
) -> tuple[WarmState, asyncio.Task[WarmState] | None]:
    """Warm the partitions behind start-up (nothing when ``budget_s`` is 0): the state to
    report and the task to cancel at shutdown."""
    state = WarmState()
    if budget_s <= 0:
        return state, None
    state.status = "warming"
    task = asyncio.create_task(
        warm_partitions(pool, list(states), budget_s, state, reading_key), name="search-warm-up"
    )
    return state, task
