"""Guards around a model: a circuit breaker and a bound on concurrent generations.

Both are used only from the event loop, so they need no lock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class CircuitBreaker:
    """Stops calling a failing model for a while.

    After ``failures`` consecutive failures the circuit opens: calls are refused for
    ``reset_s``. Then one trial call is let through (half-open); its success closes the
    circuit, its failure opens it again for another ``reset_s``.
    """

    def __init__(
        self, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = failures
        self._reset_s = reset_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open``."""
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._reset_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a call be made now? In the half-open state only one trial at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial:
            self._trial = True
            return True
        return False

    def success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial = False

    def failure(self) -> None:
        self._failures += 1
        self._trial = False
        if self._opened_at is not None or self._failures >= self._threshold:
            self._opened_at = self._clock()

    def release(self) -> None:
        """The call ended neither well nor badly (e.g. the guest left): allow a new trial."""
        self._trial = False


class Busy(Exception):
    """No generation slot became free within the wait."""


class ConcurrencyGate:
    """At most ``limit`` generations at once; a caller waits up to ``wait_s`` for a slot."""

    def __init__(self, limit: int, wait_s: float) -> None:
        self._semaphore = asyncio.Semaphore(limit)
        self._wait_s = wait_s
        self.limit = limit

    @property
    def in_use(self) -> int:
        return self.limit - self._semaphore._value

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._wait_s):
                await self._semaphore.acquire()
        except TimeoutError:
            raise Busy from None
        try:
            yield
        finally:
            self._semaphore.release()
