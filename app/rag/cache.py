"""Answer cache: a bounded TTL cache with single-flight, confined to the event loop.

cachetools' ``TTLCache`` is not thread-safe; here it is only touched from coroutines of one
event loop, between awaits, so no two callers can interleave inside an operation. Concurrent
callers of the same key share one computation (the first starts it, the others await it). A
computation that fails is not cached and its error reaches every caller that waited for it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from cachetools import TTLCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    shared: int = 0
    computations: int = 0


class AnswerCache(Generic[K, V]):
    """``get_or_compute`` gives ``(value, cached)``; False for the caller that computed it."""

    def __init__(
        self,
        maxsize: int,
        ttl: float,
        timer: Callable[[], float] = time.monotonic,
        should_store: Callable[[V], bool] | None = None,
        max_bytes: int = 0,
        sizeof: Callable[[V], int] | None = None,
    ) -> None:
        self._enabled = maxsize > 0
        # A value it rejects is returned to its callers but not kept (e.g. a fallback answer,
        # so that the next question tries the recovered model again).
        self._should_store = should_store
        self._cache: TTLCache[K, V]
        if max_bytes > 0 and sizeof is not None:
            # Bounded in bytes and in entries at once: every entry weighs at least an equal
            # share of the bytes, so no more than ``maxsize`` fit either.
            share = -(-max_bytes // max(1, maxsize))
            self._cache = TTLCache(
                maxsize=max_bytes,
                ttl=ttl,
                timer=timer,
                getsizeof=lambda value: max(share, sizeof(value)),
            )
        else:
            self._cache = TTLCache(maxsize=max(1, maxsize), ttl=ttl, timer=timer)
        self._inflight: dict[K, asyncio.Task[V]] = {}
        self._owner: int | None = None
        self.stats = CacheStats()

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def size(self) -> float:
        """Entries held, or their weight in bytes when the cache is bounded in bytes."""
        return self._cache.currsize

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def _check_thread(self) -> None:
        ident = threading.get_ident()
        if self._owner is None:
            self._owner = ident
        elif self._owner != ident:
            raise RuntimeError("AnswerCache used from two threads; it belongs to one event loop")

    async def get_or_compute(self, key: K, compute: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        self._check_thread()
        if self._enabled:
            try:
                value = self._cache[key]
            except KeyError:
                pass
            else:
                self.stats.hits += 1
                return value, True
        task = self._inflight.get(key)
        if task is not None:
            self.stats.shared += 1
            # shield: a follower that gives up (timeout, disconnect) must not cancel the others.
            return await asyncio.shield(task), True
        self.stats.misses += 1
        task = asyncio.ensure_future(self._compute(key, compute))
        task.add_done_callback(_consume_error)
        self._inflight[key] = task
        return await asyncio.shield(task), False

    async def _compute(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        try:
            self.stats.computations += 1
            value = await compute()
            self.put(key, value)
            return value
        finally:
            self._inflight.pop(key, None)

    def get(self, key: K) -> V | None:
        """The cached value, without computing (None when absent or expired)."""
        self._check_thread()
        value = self._cache.get(key) if self._enabled else None
        if value is not None:
            self.stats.hits += 1
        return value

    def put(self, key: K, value: V) -> None:
        """Store a value computed elsewhere (e.g. a streamed answer, once complete)."""
        self._check_thread()
        if self._enabled and (self._should_store is None or self._should_store(value)):
            try:
                self._cache[key] = value
            except ValueError:  # larger than the whole cache: returned, never kept
                self._cache.pop(key, None)

    def clear(self) -> None:
        self._cache.clear()


def _consume_error(task: asyncio.Task[V]) -> None:
    # Every waiter may have given up; mark the error as seen so asyncio does not log it.
    if not task.cancelled():
        task.exception()
