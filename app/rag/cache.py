"""Answer cache: a bounded TTL cache with single-flight, confined to the event loop.

cachetools' ``TTLCache`` is not thread-safe; here it is only touched from coroutines of one
event loop, between awaits, so no two callers can interleave inside an operation. Concurrent
callers of the same key share one computation (the first starts it, the others await it). A
computation that fails is not cached and its error reaches every caller that waited for it.

A computation that is not a coroutine (a streamed answer, written as the guest reads it) takes
part through :meth:`AnswerCache.join`: its owner gets a :class:`Flight` and ends it with the
value, an error, or by abandoning it (the guest left), in which case a waiter computes instead.

Kept hand-written: cachetools' decorators and async-lru share a result once it exists, not a
computation in flight, and none can hand a half-streamed answer over to a waiter.
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
        self._inflight: dict[K, asyncio.Future[V]] = {}
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
        if self._enabled:  # a hit without the coroutines of ``join`` and ``shared``
            self._check_thread()
            try:
                value = self._cache[key]
            except KeyError:
                pass
            else:
                self.stats.hits += 1
                return value, True
        joined = await self.join(key)
        if not isinstance(joined, Flight):
            return joined, True
        task = asyncio.ensure_future(self._compute(joined, compute))
        task.add_done_callback(_consume_error)
        # shield: the caller giving up (timeout, disconnect) must not cancel the others.
        return await asyncio.shield(task), False

    async def _compute(self, flight: Flight[K, V], compute: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await compute()
        except asyncio.CancelledError:
            flight.abandon()
            raise
        except BaseException as exc:
            flight.fail(exc)
            raise
        flight.finish(value)
        return value

    async def shared(self, key: K) -> V | None:
        """The cached value, or the value being computed for ``key`` (awaited); None when
        there is neither. Never starts a computation."""
        self._check_thread()
        while True:
            if self._enabled:
                try:
                    value = self._cache[key]  # one lookup (``get`` looks twice)
                except KeyError:
                    pass
                else:
                    self.stats.hits += 1
                    return value
            flight = self._inflight.get(key)
            if flight is None:
                return None
            self.stats.shared += 1
            try:
                # shield: a follower that gives up must not cancel the computation.
                return await asyncio.shield(flight)
            except _Abandoned:
                continue  # its owner stopped (e.g. the guest left a stream): look again

    async def join(self, key: K) -> V | Flight[K, V]:
        """The cached or in-flight value for ``key``; else a :class:`Flight` that the caller now
        owns and must end with ``finish``, ``fail`` or ``abandon`` (others wait on it)."""
        value = await self.shared(key)
        if value is not None:
            return value
        # No await since ``shared`` saw no flight: nobody can have started one meanwhile.
        self.stats.misses += 1
        self.stats.computations += 1
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_consume_error)
        self._inflight[key] = future
        return Flight(self, key, future)

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

    def _land(self, key: K, future: asyncio.Future[V]) -> bool:
        """Take ``future``'s flight off the board; False when it had already ended."""
        if self._inflight.get(key) is future:
            del self._inflight[key]
        return not future.done()


class _Abandoned(Exception):
    """A flight's owner stopped before it had a value; its followers look again."""


class Flight(Generic[K, V]):
    """One computation of a key that other callers wait on; ended once, by its owner."""

    def __init__(self, cache: AnswerCache[K, V], key: K, future: asyncio.Future[V]) -> None:
        self._cache = cache
        self._key = key
        self._future = future

    def finish(self, value: V) -> None:
        """Store ``value`` (if the cache keeps it) and hand it to everyone waiting."""
        if self._cache._land(self._key, self._future):
            self._cache.put(self._key, value)
            self._future.set_result(value)

    def fail(self, exc: BaseException) -> None:
        """Hand ``exc`` to everyone waiting; nothing is cached."""
        if self._cache._land(self._key, self._future):
            self._future.set_exception(exc)

    def abandon(self) -> None:
        """Stop without a value: the waiters look again (and one of them computes)."""
        if self._cache._land(self._key, self._future):
            self._future.set_exception(_Abandoned())


def _consume_error(future: asyncio.Future[V]) -> None:
    # Every waiter may have given up; mark the error as seen so asyncio does not log it.
    if not future.cancelled():
        future.exception()
