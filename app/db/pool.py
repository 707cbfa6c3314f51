"""The asyncpg pool: pgvector codecs registered on every connection, latency-friendly settings."""

from __future__ import annotations

import asyncpg
from pgvector.asyncpg import register_vector

from app.config import Settings


async def _init_connection(conn: asyncpg.Connection) -> None:
    await register_vector(conn)


def server_settings(settings: Settings) -> dict[str, str]:
    """Per-connection settings: iterative HNSW scans so a property filter still yields k rows."""
    return {
        "application_name": "concierge",
        "jit": "off",
        "hnsw.ef_search": str(settings.hnsw_ef_search),
        "hnsw.iterative_scan": "relaxed_order",
    }


async def create_pool(
    url: str, settings: Settings, command_timeout_s: float | None = None
) -> asyncpg.Pool:
    """Open the connection pool used by the hot path (``command_timeout_s`` replaces the
    per-statement timeout, e.g. for the bulk writes of the staff command)."""
    pool = await asyncpg.create_pool(
        url,
        min_size=settings.db_pool_min,
        max_size=max(settings.db_pool_min, settings.db_pool_max),
        command_timeout=command_timeout_s or settings.db_command_timeout_s,
        timeout=settings.db_acquire_timeout_s,
        init=_init_connection,
        server_settings=server_settings(settings),
    )
    assert pool is not None
    return pool
