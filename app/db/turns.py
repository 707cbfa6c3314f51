"""Turns at the database for guests' searches: a few at once, the longest-waiting request first.

A busy service has more questions ready to search than it has connections. The pool hands a
freed connection to whichever caller asks next, and a caller woken for it may find it taken
by a request that arrived later, then wait again at the back of the line. A request that
already waited long for the model then waits longest here too, and sets the tail latency.
:class:`Turns` gives a freed turn to the waiting request that reached the service first
(:data:`arrived`, set when its HTTP request comes in), so time lost at one stage is made up at
the next; a caller outside a request counts from when it asked. Fewer turns than the pool has
connections also leave connections for everything else the service asks the database.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from contextvars import ContextVar

# When the request being served reached the service (``time.monotonic()``); None outside one.
arrived: ContextVar[float | None] = ContextVar("arrived", default=None)


class Turns:
    """At most ``at_once`` holders; waiters are served oldest request first.

    ``async with turns.take(timeout):`` waits for a turn (``TimeoutError`` after ``timeout``
    seconds) and gives it back on leaving. A turn given back goes straight to the next waiter,
    so no caller arriving meanwhile takes it first.
    """

    __slots__ = ("_count", "_free", "_waiting", "at_once")

    def __init__(self, at_once: int) -> None:
        if at_once < 1:
            raise ValueError("at least one turn at once is needed")
        self.at_once = at_once
        self._free = at_once
        # (arrival, order of asking, future): futures done early (timed out, cancelled) stay
        # until they come up and are skipped. Only a caller that found no free turn waits, so
        # whenever one waits, a turn is held and will be given back.
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._count = itertools.count()

    @property
    def waiting(self) -> int:
        """Callers waiting for a turn now."""
        return sum(1 for _, _, turn in self._waiting if not turn.done())

    @property
    def held(self) -> int:
        return self.at_once - self._free

    def take(self, timeout: float | None = None) -> _Turn:
        return _Turn(self, timeout)

    async def _wait(self, within: float | None) -> None:
        if self._free and not self._waiting:
            self._free -= 1
            return
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        began = arrived.get()
        heapq.heappush(
            self._waiting,
            (time.monotonic() if began is None else began, next(self._count), turn),
        )
        timer = None if within is None else loop.call_later(within, _expire, turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self._give_back()  # given just as this caller was cancelled: the next one's
            else:
                turn.cancel()
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _give_back(self) -> None:
        waiting = self._waiting
        while waiting:
            turn = heapq.heappop(waiting)[2]
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1


class _Turn:
    __slots__ = ("_timeout", "_turns")

    def __init__(self, turns: Turns, timeout: float | None) -> None:
        self._turns = turns
        self._timeout = timeout

    async def __aenter__(self) -> None:
        await self._turns._wait(self._timeout)

    async def __aexit__(self, *exc: object) -> None:
        self._turns._give_back()


def _expire(turn: asyncio.Future[None]) -> None:
    if not turn.done():
        turn.set_exception(TimeoutError("no turn at the database within the time allowed"))
