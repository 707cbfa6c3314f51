"""Opening hours are looked up by property through the unique constraint's index once the
migration ``facility_hours_index`` has dropped the redundant one; the migration round-trips."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from app.config import Settings
from tests.migrations import migrate, own_database

pytestmark = pytest.mark.integration

BEFORE = "chunk_derived"
INDEXES = "SELECT indexname FROM pg_indexes WHERE tablename = 'facility_hours' ORDER BY 1"
BY_PROPERTY = "SELECT facility FROM facility_hours WHERE property_id = 'harbour' ORDER BY facility"


@pytest_asyncio.fixture
async def empty_db(settings: Settings) -> AsyncIterator[str]:
    async with own_database(settings, "hours_idx") as url:
        yield url


async def _plan(conn: asyncpg.Connection) -> str:
    rows = await conn.fetch("EXPLAIN (COSTS OFF) " + BY_PROPERTY)
    return "\n".join(r[0] for r in rows)


async def test_hours_by_property_use_the_unique_index_and_the_migration_round_trips(
    empty_db: str,
) -> None:
    await asyncio.to_thread(migrate, empty_db, BEFORE)
    conn = await asyncpg.connect(empty_db)
    try:
        await conn.execute("INSERT INTO properties (id, name) VALUES ('harbour', 'Harbour')")
        for facility in ("pool", "spa", "gym"):
            await conn.execute(
                "INSERT INTO facility_hours (property_id, doc_key, chunk_hash, facility, hours,"
                " source_text, source_hash) VALUES ('harbour', 'a.md', 'c', $1, '{}', 't', 's')",
                facility,
            )
        assert "facility_hours_property_idx" in [r[0] for r in await conn.fetch(INDEXES)]

        await asyncio.to_thread(migrate, empty_db, "head")
        kept = [r[0] for r in await conn.fetch(INDEXES)]
        assert "facility_hours_property_idx" not in kept
        assert len(kept) == 2  # the primary key and the unique constraint
        await conn.execute("SET enable_seqscan = off")
        plan = await _plan(conn)
        unique = next(name for name in kept if not name.endswith("_pkey"))
        assert unique in plan
        assert [r[0] for r in await conn.fetch(BY_PROPERTY)] == ["gym", "pool", "spa"]

        await asyncio.to_thread(migrate, empty_db, BEFORE, True)
        assert "facility_hours_property_idx" in [r[0] for r in await conn.fetch(INDEXES)]
        await asyncio.to_thread(migrate, empty_db, "head")
        assert [r[0] for r in await conn.fetch(INDEXES)] == kept
        assert [r[0] for r in await conn.fetch(BY_PROPERTY)] == ["gym", "pool", "spa"]
    finally:
        await conn.close()
