"""Migrations from code (``python -m app migrate``) and the start-up check of the schema."""

from __future__ import annotations

import re

import asyncpg

from app.config import PROJECT_ROOT, Settings
from app.db.pool import Connection
from app.db.server import redact, server_url, with_database
from app.errors import SchemaMismatch

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
MIGRATE_HINT = "run `make migrate` (or `.venv/bin/python -m app migrate`)"


_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.*)$", re.MULTILINE)


def head_revision() -> str:
    """The newest revision among the migration scripts.

    Read straight from the scripts when they form a simple chain: importing alembic (and
    SQLAlchemy with it) would add a third of a second to every start of the server.
    """
    quick = _head_from_sources()
    return quick if quick is not None else _head_from_alembic()


def _head_from_sources() -> str | None:
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = script.read_text()
        found = _REVISION.search(text)
        down = _DOWN_REVISION.search(text)
        if found is None or down is None:
            return None  # unusual layout: let alembic decide
        revisions.add(found.group(1))
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _head_from_alembic() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise SchemaMismatch("no migrations found in " + str(MIGRATIONS_DIR))
    return head


async def ensure_database(settings: Settings) -> None:
    """Create the application database on the embedded server if it does not exist yet."""
    if settings.database_url is not None:
        return
    conn = await asyncpg.connect(with_database(server_url(settings), "postgres"))
    try:
        exists = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", settings.database_name
        )
        if not exists:
            await conn.execute(f'CREATE DATABASE "{settings.database_name}"')
    finally:
        await conn.close()


async def drop_database(settings: Settings) -> None:
    """Drop the application database from the embedded server (scratch databases of tests,
    benchmarks and evaluations), closing its connections first."""
    if settings.database_url is not None:
        raise ValueError("only a database on the embedded server is dropped")
    conn = await asyncpg.connect(with_database(server_url(settings), "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{settings.database_name}" WITH (FORCE)')
    finally:
        await conn.close()


def upgrade_to_head(url: str) -> None:
    """Apply every pending migration to the database at ``url``."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")


async def current_revision(conn: Connection) -> str | None:
    """The revision the database is at, or None for an empty database."""
    try:
        value = await conn.fetchval("SELECT version_num FROM alembic_version LIMIT 1")
    except asyncpg.UndefinedTableError:
        return None
    return str(value) if value is not None else None


async def embedding_dim(conn: Connection) -> int:
    """The dimension of the stored vectors (``chunks.embedding``), as the schema declares it."""
    return int(
        await conn.fetchval(
            "SELECT atttypmod FROM pg_attribute "
            "WHERE attrelid = 'chunks'::regclass AND attname = 'embedding'"
        )
    )


async def check_schema(conn: Connection, expected_dim: int, url: str) -> str:
    """Refuse to run against a schema that is behind, ahead, or built for another model size."""
    head = head_revision()
    current = await current_revision(conn)
    if current != head:
        raise SchemaMismatch(
            f"database {redact(url)} is at schema revision {current or '(empty)'}, "
            f"this code needs {head}: {MIGRATE_HINT}"
        )
    dim = await embedding_dim(conn)
    if dim != expected_dim:
        raise SchemaMismatch(
            f"chunks.embedding has dimension {dim} but the embedding model produces "
            f"{expected_dim}: re-index with a matching model or add a migration for the new size"
        )
    return head
