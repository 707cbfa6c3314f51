"""Chunks live in one partition per property; the migration that made them so can be undone
and applied again without losing a row, and a scoped search reads only its property's
partition."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import numpy as np
import pytest
import pytest_asyncio
from pgvector.asyncpg import register_vector

from app.config import Settings
from app.db.migrate import MIGRATIONS_DIR, drop_database, ensure_database
from app.db.server import database_url

pytestmark = pytest.mark.integration

BEFORE = "follow_up_sessions"
PARTITIONS = """
SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'chunks'::regclass ORDER BY c.relname
"""
KIND = "SELECT relkind::text FROM pg_class WHERE relname = 'chunks'"
ROWS = "SELECT id, property_id, version_id, ord, text, embedding::text FROM chunks ORDER BY id"


def _migrate(url: str, target: str, down: bool = False) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = url
    (command.downgrade if down else command.upgrade)(config, target)


@pytest_asyncio.fixture
async def empty_db(settings: Settings) -> AsyncIterator[str]:
    own = settings.model_copy(update={"database_name": f"partitions_{uuid.uuid4().hex[:8]}"})
    await ensure_database(own)
    yield database_url(own)
    await drop_database(own)


async def _add_property(conn: asyncpg.Connection, prop: str, chunks: int, seed: int) -> None:
    await conn.execute("INSERT INTO properties (id, name) VALUES ($1, $1)", prop)
    version = await conn.fetchval(
        "INSERT INTO index_versions (property_id, state, model, dim) "
        "VALUES ($1, 'live', 'm', 384) RETURNING id",
        prop,
    )
    await conn.execute("UPDATE properties SET live_version = $2 WHERE id = $1", prop, version)
    doc = await conn.fetchval(
        "INSERT INTO documents (property_id, version_id, doc_key, title, content_hash) "
        "VALUES ($1, $2, 'a.md', 'A', 'h') RETURNING id",
        prop,
        version,
    )
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
    await asyncio.to_thread(_migrate, empty_db, BEFORE)
    conn = await asyncpg.connect(empty_db)
    await register_vector(conn)
    try:
        await _add_property(conn, "old-hotel", 3, seed=1)
        before = [tuple(r) for r in await conn.fetch(ROWS)]
        await asyncio.to_thread(_migrate, empty_db, "head")
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
        await asyncio.to_thread(_migrate, empty_db, BEFORE, True)
        assert await conn.fetchval(KIND) == "r"
        assert [tuple(r) for r in await conn.fetch(ROWS)] == after
        await asyncio.to_thread(_migrate, empty_db, "head")
        assert [tuple(r) for r in await conn.fetch(ROWS)] == after
        assert len(await conn.fetch(PARTITIONS)) == 2
    finally:
        await conn.close()
