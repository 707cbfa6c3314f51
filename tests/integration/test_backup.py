"""A backup of the database (pg_dump) restored into an empty database (pg_restore) holds the
same properties, documents and chunks, and answers the same vector query."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest

from app.config import Settings
from app.db.backup import backup, restore
from app.db.migrate import drop_database
from app.db.server import database_url

pytestmark = pytest.mark.integration

SNAPSHOT = """
SELECT (SELECT array_agg(id || ':' || revision ORDER BY id) FROM properties) AS properties,
       (SELECT count(*) FROM documents) AS documents,
       (SELECT count(*) FROM chunks) AS chunks,
       (SELECT sum(chunk_count) FROM index_versions) AS counted,
       (SELECT version_num FROM alembic_version) AS schema,
       (SELECT procost FROM pg_proc
        WHERE oid = 'cosine_distance(vector, vector)'::regprocedure) AS distance_cost
"""

FIRST_VECTOR = "SELECT embedding::text FROM chunks ORDER BY id LIMIT 1"


async def test_backup_restores_into_an_empty_database(
    settings: Settings, pool: asyncpg.Pool, sample_loaded: list[str], tmp_path: Path
) -> None:
    dump = await asyncio.to_thread(backup, settings, tmp_path / "concierge.dump")
    assert dump.stat().st_size > 10_000
    copy = settings.model_copy(update={"database_name": f"restored_{uuid.uuid4().hex[:8]}"})
    try:
        await asyncio.to_thread(restore, copy, dump, clean=False)
        conn = await asyncpg.connect(database_url(copy))
        try:
            restored = dict(await conn.fetchrow(SNAPSHOT))
            nearest = await conn.fetchval(FIRST_VECTOR)
        finally:
            await conn.close()
        async with pool.acquire() as live:
            original = dict(await live.fetchrow(SNAPSHOT))
            first = await live.fetchval(FIRST_VECTOR)
        assert restored == original
        assert nearest == first
        assert restored["chunks"] > 0
        # The versions' kept chunk counts come back as they were, not counted again.
        assert restored["counted"] == restored["chunks"]
    finally:
        await drop_database(copy)
