"""Live state of every property (live index version, content revision), kept current by NOTIFY.

The hot path reads it from memory; ingestion announces changes on the ``concierge_index``
channel after it commits, and a periodic reload covers missed notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import asyncpg

from app.db.pool import Connection, describe_error, stop_if_cancelled
from app.errors import PropertyNotFound

log = logging.getLogger(__name__)

CHANNEL = "concierge_index"

_LOAD_SQL = """
SELECT p.id, p.name, p.live_version, p.revision, p.timezone, p.locale,
       CASE WHEN to_regclass(chunk_partition(p.id)) IS NOT NULL
            THEN chunk_partition(p.id) END AS partition,
       coalesce(v.chunk_count, 0) AS chunk_count
FROM properties p LEFT JOIN index_versions v ON v.id = p.live_version
"""
_LOAD_ONE_SQL = _LOAD_SQL + " WHERE p.id = $1"
_LOAD_SOME_SQL = _LOAD_SQL + " WHERE p.id = ANY($1::text[])"


@dataclass(frozen=True, slots=True)
class PropertyState:
    """What the hot path needs to know about a property, as of its last change."""

    id: str
    name: str
    version_id: int | None
    revision: int
    chunk_count: int
    timezone: str = "UTC"
    locale: str = "en"
    # The table holding the property's chunks (its partition of ``chunks``); None: unknown.
    partition: str | None = None


class PropertyRegistry:
    """In-memory map of property id to :class:`PropertyState`, touched only on the event loop."""

    def __init__(self, pool: asyncpg.Pool, listen_url: str, refresh_s: float = 30.0) -> None:
        self._pool = pool
        self._listen_url = listen_url
        # Properties named by notifications not reloaded yet; None: reload every property.
        self._changed_ids: set[str] | None = set()
        self._reloader: asyncio.Task[None] | None = None
        self._refresh_s = refresh_s
        self._states: dict[str, PropertyState] = {}
        self._changed = asyncio.Condition()
        self._listener: Connection | None = None
        self._listener_lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.reload()
        self._task = asyncio.create_task(self._maintain(), name="property-registry")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._reloader is not None and not self._reloader.done():
            self._reloader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reloader
        await self._drop_listener()

    def snapshot(self) -> dict[str, PropertyState]:
        return dict(self._states)

    async def get(self, property_id: str) -> PropertyState:
        """The property's state; an id not seen yet is looked up before it counts as unknown."""
        state = self._states.get(property_id)
        if state is None:
            async with self._pool.acquire() as conn:
                row = await conn.fetchrow(_LOAD_ONE_SQL, property_id)
            if row is None:
                raise PropertyNotFound(f"unknown property {property_id!r}")
            state = _state(row)
            async with self._changed:
                self._states = {**self._states, property_id: state}
                self._changed.notify_all()
        return state

    async def reload(self) -> None:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_LOAD_SQL)
        states = {r["id"]: _state(r) for r in rows}
        async with self._changed:
            self._states = states
            self._changed.notify_all()

    async def wait_for(self, property_id: str, min_revision: int) -> PropertyState:
        """Wait until the registry has seen ``property_id`` at ``min_revision`` or later."""
        async with self._changed:
            await self._changed.wait_for(
                lambda: (
                    (s := self._states.get(property_id)) is not None and s.revision >= min_revision
                )
            )
            return self._states[property_id]

    async def _maintain(self) -> None:
        """Keep a LISTEN connection open and reload periodically.

        A lost listener (a database restart, a network cut) is noticed at once and replaced,
        retrying with a short backoff, followed by a reload for the changes made meanwhile.
        """
        backoff = 0.25
        while True:
            try:
                listener = self._listener
                if listener is None or listener.is_closed() or self._listener_lost.is_set():
                    await self._drop_listener()
                    await self._listen()
                    await self.reload()  # changes made while not listening
                    backoff = 0.25
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._listener_lost.wait(), self._refresh_s)
                if not self._listener_lost.is_set():
                    await self.reload()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stop_if_cancelled(exc)
                log.warning("property registry refresh failed: %s", describe_error(exc))
                await self._drop_listener()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def _listen(self) -> None:
        # Shielded: a close() that cancels us mid-connect must not leave the connection open.
        connecting = asyncio.ensure_future(asyncpg.connect(self._listen_url, timeout=5))
        try:
            conn: Connection = await asyncio.shield(connecting)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await (await connecting).close(timeout=1)
            raise
        self._listener_lost.clear()
        self._listener = conn
        conn.add_termination_listener(self._on_listener_lost)
        await conn.add_listener(CHANNEL, self._on_notify)

    def _on_listener_lost(self, conn: object) -> None:
        if conn is self._listener:
            self._listener_lost.set()

    async def _drop_listener(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None and not conn.is_closed():
            try:
                await conn.close(timeout=1)
            except Exception:
                conn.terminate()  # the server is gone: drop the socket without a goodbye

    async def refresh(self, property_ids: set[str]) -> None:
        """Reload the named properties only (one that no longer exists is forgotten)."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_LOAD_SOME_SQL, list(property_ids))
        fresh = {r["id"]: _state(r) for r in rows}
        async with self._changed:
            kept = {k: v for k, v in self._states.items() if k not in property_ids}
            self._states = {**kept, **fresh}
            self._changed.notify_all()

    def _on_notify(self, conn: object, pid: int, channel: str, payload: object) -> None:
        # A burst of notifications (a bulk ingest, a re-index) needs one reload after it, not
        # one each: at most one reload runs and at most one more is queued behind it. The
        # payload names the property that changed: only those are read again.
        if self._changed_ids is not None:
            if payload:
                self._changed_ids.add(str(payload))
            else:
                self._changed_ids = None
        if self._reloader is None or self._reloader.done():
            self._reloader = asyncio.get_running_loop().create_task(self._reload_quietly())

    async def _reload_quietly(self) -> None:
        while self._changed_ids is None or self._changed_ids:
            ids, self._changed_ids = self._changed_ids, set()
            try:
                await (self.reload() if ids is None else self.refresh(ids))
            except Exception as exc:
                log.warning("property registry reload after NOTIFY failed: %s", describe_error(exc))
                return


def _state(row: asyncpg.Record) -> PropertyState:
    return PropertyState(
        row["id"],
        row["name"],
        row["live_version"],
        row["revision"],
        row["chunk_count"],
        row["timezone"],
        row["locale"],
        row["partition"],
    )
