"""A test's own database, and moving it to a given migration, up or down."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from pgvector.asyncpg import register_vector

from app.config import Settings
from app.db.migrate import MIGRATIONS_DIR, drop_database, ensure_database
from app.db.server import database_url


@asynccontextmanager
async def own_database(settings: Settings, prefix: str) -> AsyncIterator[str]:
    """A new empty database on the test server (its URL), dropped afterwards."""
    own = settings.model_copy(update={"database_name": f"{prefix}_{uuid.uuid4().hex[:8]}"})
    await ensure_database(own)
    try:
        yield database_url(own)
    finally:
        await drop_database(own)


def migrate(url: str, target: str, down: bool = False) -> None:
    """Upgrade (or, with ``down``, downgrade) the database at ``url`` to ``target``."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = url
    (command.downgrade if down else command.upgrade)(config, target)


@asynccontextmanager
async def connected_at(url: str, revision: str) -> AsyncIterator[asyncpg.Connection]:
    """The database at ``url`` moved to ``revision``, and a connection to it that knows the
    vector type, closed afterwards."""
    await asyncio.to_thread(migrate, url, revision)
    conn = await asyncpg.connect(url)
    try:
        await register_vector(conn)
        yield conn
    finally:
        await conn.close()


async def add_version(conn: asyncpg.Connection, prop: str, state: str = "live") -> tuple[int, int]:
    """A new version of ``prop`` in ``state`` (the property's live one if ``live``) holding one
    document, written row by row as a schema of any revision takes it: (version, document)."""
    version = await conn.fetchval(
        "INSERT INTO index_versions (property_id, state, model, dim) "
        "VALUES ($1, $2, 'm', 384) RETURNING id",
        prop,
        state,
    )
    if state == "live":
        await conn.execute("UPDATE properties SET live_version = $2 WHERE id = $1", prop, version)
    document = await conn.fetchval(
        "INSERT INTO documents (property_id, version_id, doc_key, title, content_hash) "
        "VALUES ($1, $2, $3, 'A', 'h') RETURNING id",
        prop,
        version,
        f"doc-{version}.md",
    )
    return int(version), int(document)
