"""The live feed of task changes, fed by LISTEN/NOTIFY so every API process sees every task.

One LISTEN connection per process; each notification names a task, which is read once and
handed to every subscriber whose properties include it. A subscriber's queue is bounded: one
that falls behind is closed (its console reconnects and lists the tasks again) rather than
letting the queue grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from app.db.pool import Connection, describe_error, stop_if_cancelled
from app.errors import Overloaded
from app.tasks import store

log = logging.getLogger(__name__)


class Subscription:
    """Task changes for some properties (None: all); ``closed`` once it fell behind."""

    def __init__(self, property_ids: frozenset[str] | None, size: int) -> None:
        self.property_ids = property_ids
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(size)
        self.closed = False

    def offer(self, event: dict[str, Any]) -> None:
        if self.closed:
            return
        if self.property_ids is not None and event["task"]["property_id"] not in self.property_ids:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.closed = True
            self.queue.get_nowait()  # room for the end marker
            self.queue.put_nowait(None)

    async def events(self, heartbeat_s: float) -> AsyncIterator[dict[str, Any] | None]:
        """Events as they come; None every ``heartbeat_s`` of quiet (a keep-alive)."""
        # One pending get outlives the heartbeats: cancelling a get at its timeout could lose
        # the event it had just taken.
        getter: asyncio.Task[dict[str, Any] | None] | None = None
        try:
            while not self.closed or not self.queue.empty() or getter is not None:
                if getter is None:
                    getter = asyncio.ensure_future(self.queue.get())
                done, _ = await asyncio.wait({getter}, timeout=heartbeat_s)
                if not done:
                    yield None
                    continue
                event, getter = getter.result(), None
                if event is None:
                    return
                yield event
        finally:
            if getter is not None:
                getter.cancel()


class TaskFeed:
    """Listens on :data:`store.CHANNEL` and fans task changes out to subscribers."""

    def __init__(
        self, pool: asyncpg.Pool, listen_url: str, max_subscribers: int = 200, queue: int = 256
    ) -> None:
        self._pool = pool
        self._url = listen_url
        self._subscribers: set[Subscription] = set()
        self._max = max_subscribers
        self._queue = queue
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._pending: set[asyncio.Task[None]] = set()
        self.listening = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._maintain(), name="task-feed")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._pending):
            task.cancel()
        for sub in self._subscribers:
            sub.closed = True
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(None)

    def subscribe(self, property_ids: frozenset[str] | None) -> Subscription:
        """A new subscription; give it back with :meth:`unsubscribe`. One never read from
        fills up, is closed and is forgotten at the next delivery."""
        if len(self._subscribers) >= self._max:
            raise Overloaded("too many live task streams are open")
        sub = Subscription(property_ids, self._queue)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    async def _maintain(self) -> None:
        backoff = 0.25
        while True:
            conn: Connection | None = None
            try:
                conn = await asyncpg.connect(self._url, timeout=5)
                self._lost.clear()
                conn.add_termination_listener(lambda _c: self._lost.set())
                await conn.add_listener(store.CHANNEL, self._on_notify)
                self.listening.set()
                backoff = 0.25
                await self._lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stop_if_cancelled(exc)
                log.warning("task feed listener failed: %s", describe_error(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=1)

    def _on_notify(self, conn: object, pid: int, channel: str, payload: object) -> None:
        if not self._subscribers:
            return  # nobody watching here: no need to read the task
        try:
            note = json.loads(str(payload))
            task_id = int(note["id"])
        except (ValueError, KeyError, TypeError):
            return
        task = asyncio.get_running_loop().create_task(self._deliver(str(note["event"]), task_id))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, event: str, task_id: int) -> None:
        try:
            async with self._pool.acquire() as conn:
                row = await store.get(conn, task_id)
        except Exception as exc:
            log.warning("task %s could not be read for the feed: %s", task_id, describe_error(exc))
            return
        message = {"event": event, "task": store.public(row)}
        for sub in list(self._subscribers):
            sub.offer(message)
            if sub.closed:
                self._subscribers.discard(sub)
