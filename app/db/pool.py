"""The asyncpg pool: pgvector codecs registered on every connection, latency-friendly settings."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
from pgvector.asyncpg import register_vector

from app.config import Settings

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # What repository functions take: a plain connection or one borrowed from the pool.
    Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy
    _BaseConnection = asyncpg.Connection[asyncpg.Record]
else:
    Connection = asyncpg.Connection
    _BaseConnection = asyncpg.Connection


class _Connection(_BaseConnection):
    """A statement past its timeout (or abandoned by a cancelled caller) closes the connection
    instead of asking the server to cancel it.

    The driver's cancel request is a new connection to the server, and the connection is only
    released once the server has answered it: a frozen server (stopped, swapped out, its host
    unreachable without a reset) never answers, so each timed-out statement would then hold
    its caller for another timeout. Dropping the socket frees the caller at once; the pool
    opens a new connection when one is needed, and the server ends the statement itself
    (``statement_timeout``) or when it finds the client gone.
    """

    def _cancel_current_command(self, waiter: Any, cancel_waiter: Any = None) -> None:
        # Called from inside the protocol's timeout handling: terminate right after it.
        self._loop.call_soon(self.terminate)  # type: ignore[attr-defined]

    async def use_ef_search(self, value: int | None) -> None:
        """Give ``hnsw.ef_search`` this value (None: the connection's configured one) for the
        statements that follow; a statement only when the connection's current value differs.

        The pool keeps a connection's session as it is between uses (see :func:`_keep_session`),
        so a connection remembers what it was last set to; a setting the server refuses (or a
        statement cut short, which drops the connection) leaves the remembered value as it was.
        """
        if getattr(self, "_ef_search", None) == value:
            return
        if value is None:
            await self.execute("RESET hnsw.ef_search")
        else:
            await self.execute(f"SET hnsw.ef_search = {int(value)}")
        self._ef_search = value


async def use_ef_search(conn: Connection, value: int | None) -> None:
    """``hnsw.ef_search`` for the statements that follow on ``conn`` (None: the configured
    one). On a connection of :func:`create_pool`'s pool, a statement only when its value
    changes; on any other (a plain pool resets every connection it takes back), a ``SET``
    whenever a value is given."""
    tracked = getattr(conn, "use_ef_search", None)  # a pool's proxy hands it on
    if tracked is not None:
        await tracked(value)
    elif value is not None:
        await conn.execute(f"SET hnsw.ef_search = {int(value)}")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """A connection goes back to the pool without the driver's default reset (``RESET ALL``,
    ``CLOSE ALL``, ``UNLISTEN *``, advisory locks released: one more round trip and statement
    per request). The hot path changes no session state but ``hnsw.ef_search``, which
    :meth:`_Connection.use_ef_search` tracks; an open transaction is still rolled back by the
    pool before this runs, and no pooled connection listens, locks or keeps a cursor."""


async def _init_connection(conn: asyncpg.Connection) -> None:
    await register_vector(conn)


def server_settings(settings: Settings, command_timeout_s: float | None = None) -> dict[str, str]:
    """Per-connection settings: iterative HNSW scans so a property filter still yields k rows,
    no parallel workers (a scoped query reads one property's partition; starting workers for it
    cost more than the scan, and a request's query should not take more than one core), and a
    server-side statement timeout a little past the client's (see :class:`_Connection`)."""
    timeout_ms = int(((command_timeout_s or settings.db_command_timeout_s) + 1.0) * 1000)
    return {
        "application_name": "concierge",
        "statement_timeout": str(timeout_ms),
        "jit": "off",
        "max_parallel_workers_per_gather": "0",
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
        reset=_keep_session,
        connection_class=_Connection,
        server_settings=server_settings(settings, command_timeout_s),
    )
    assert pool is not None
    return pool


def describe_error(exc: BaseException) -> str:
    """An error for a log line or a job's message, never empty (a timeout has no text)."""
    if isinstance(exc, TimeoutError):
        return "the database did not answer in time (TimeoutError)"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def stop_if_cancelled(exc: Exception) -> None:
    """Re-raise a pending cancel that surfaced as another error, for the background loops
    that log errors and go on: asyncpg's clean-up can fail under a cancelled query (e.g.
    "release() called on a free connection holder"), and a loop that logged that and went
    on would never stop, leaving whoever closes it waiting forever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from exc
