"""Follow-up sessions kept in PostgreSQL: every worker and replica sees the same conversation,
so a guest's next question may land on any of them (no sticky routing).

Bounded like the in-memory store: at most ``max_turns`` standalone questions per session (the
array is trimmed in the same statement that appends), each session expires ``ttl_s`` after its
last turn (an expired row is never read, and a sweep deletes such rows), and the sweep also
deletes the sessions closest to expiry beyond ``max_sessions``. A database failure loses the
context of a follow-up, never the answer: reads then return no history and writes are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from app.rag.sessions import Turn
from app.search.retriever import CONNECTION_ERRORS

log = logging.getLogger(__name__)

_HISTORY_SQL = """
SELECT turns FROM follow_up_sessions
WHERE property_id = $1 AND session_id = $2 AND expires_at > now()
"""

# A new turn renews the session; an expired session starts again from this turn.
_RECORD_SQL = """
INSERT INTO follow_up_sessions AS s (property_id, session_id, turns, expires_at)
VALUES ($1, $2, ARRAY[$3::text], now() + make_interval(secs => $4))
ON CONFLICT (property_id, session_id) DO UPDATE SET
    turns = CASE WHEN s.expires_at <= now() THEN ARRAY[$3::text]
                 ELSE (s.turns || $3::text)[greatest(1, cardinality(s.turns) + 2 - $5):]
            END,
    expires_at = excluded.expires_at
"""

_SWEEP_SQL = """
WITH expired AS (
    DELETE FROM follow_up_sessions WHERE expires_at <= now() RETURNING 1
), surplus AS (
    DELETE FROM follow_up_sessions WHERE ctid IN (
        SELECT ctid FROM follow_up_sessions WHERE expires_at > now()
        ORDER BY expires_at
        LIMIT greatest(0, (SELECT count(*) FROM follow_up_sessions WHERE expires_at > now()) - $1)
    ) RETURNING 1
)
SELECT (SELECT count(*) FROM expired) + (SELECT count(*) FROM surplus)
"""


class PostgresSessionStore:
    """The :class:`~app.rag.sessions.SessionStore` of every process, in one table."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        max_sessions: int,
        max_turns: int,
        ttl_s: float,
        sweep_every_s: float = 60.0,
    ) -> None:
        self._pool = pool
        self._max_sessions = max_sessions
        self._max_turns = max_turns
        self._ttl_s = ttl_s
        self._sweep_every_s = sweep_every_s
        self._sweeper: asyncio.Task[None] | None = None

    async def history(self, property_id: str, session_id: str) -> list[Turn]:
        try:
            async with self._pool.acquire() as conn:
                turns = await conn.fetchval(_HISTORY_SQL, property_id, session_id)
        except CONNECTION_ERRORS as exc:
            log.warning("session history unavailable (%r): answering without it", exc)
            return []
        return [Turn(q) for q in turns or ()]

    async def record(self, property_id: str, session_id: str, turn: Turn) -> None:
        try:
            async with self._pool.acquire() as conn:
                await conn.execute(
                    _RECORD_SQL,
                    property_id,
                    session_id,
                    turn.question,
                    self._ttl_s,
                    self._max_turns,
                )
        except CONNECTION_ERRORS as exc:
            log.warning("session turn not recorded (%r)", exc)

    async def sweep(self) -> int:
        """Delete expired sessions and the surplus over ``max_sessions``; how many went."""
        async with self._pool.acquire() as conn:
            deleted: int = await conn.fetchval(_SWEEP_SQL, self._max_sessions)
        return deleted

    def start(self) -> None:
        """Sweep every ``sweep_every_s`` until :meth:`close`."""
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever())

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_every_s)
            try:
                await self.sweep()
            except (*CONNECTION_ERRORS, asyncpg.PostgresError) as exc:
                log.warning("session sweep failed (%r); retrying later", exc)
