"""Deadlines on the request path: the time budget of one answer, and of a request's body.

:class:`Deadline` does what ``asyncio.timeout_at`` does for one block (past its time the task is
cancelled, and that cancellation leaves the block as ``TimeoutError``) for a fraction of its
cost. The deadlines of one event loop share one timer, armed for the earliest of them: entering
and leaving a block is an entry put in and taken out of a dict, where a timer of its own (an
event-loop handle made, started, stopped and closed) would cost a request that never waits, a
cached answer or a body already received, more than the rest of its deadline handling.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import TracebackType

from app.errors import RequestTimedOut


class Deadline:
    """``async with Deadline(when):`` cancels the block at loop time ``when``; the block then
    raises ``error()`` (``TimeoutError`` by default). An exception raised inside for another
    reason, a ``TimeoutError`` included, leaves the block as it is."""

    __slots__ = ("_cancelling", "_error", "_task", "_watch", "expired", "when")

    def __init__(self, when: float, error: Callable[[], BaseException] = TimeoutError) -> None:
        self.when = when
        self._error = error
        self._task: asyncio.Task[object] | None = None
        self._watch: _Watch | None = None
        self._cancelling = 0
        self.expired = False

    async def __aenter__(self) -> Deadline:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("a deadline must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        watch = getattr(_watches, "watch", None)
        if watch is None or watch.loop is not loop:
            watch = _watches.watch = _Watch(loop)
        self._watch = watch
        watch.add(self)
        return self

    def _expire(self) -> None:
        self.expired = True
        if self._task is not None:
            self._task.cancel()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._watch is not None:
            self._watch.deadlines.pop(self, None)
            self._watch = None
        if not self.expired or self._task is None:
            return
        # Only the cancellation this deadline asked for becomes the error (not one from outside).
        if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            raise self._error() from None


class _Watch:
    """The deadlines entered on one event loop, and one timer for the earliest of them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.deadlines: dict[Deadline, None] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0

    def add(self, deadline: Deadline) -> None:
        self.deadlines[deadline] = None
        if self._timer is None or deadline.when < self._timer_when:
            self._arm(deadline.when)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_at(when, self._check)
        self._timer_when = when

    def _check(self) -> None:
        self._timer = None
        now = self.loop.time()
        for deadline in [d for d in self.deadlines if d.when <= now]:
            del self.deadlines[deadline]
            deadline._expire()
        if self.deadlines:
            self._arm(min(d.when for d in self.deadlines))


_watches = threading.local()  # a thread runs one event loop at a time


def deadline_after(seconds: float, error: Callable[[], BaseException] = TimeoutError) -> Deadline:
    """A :class:`Deadline` ``seconds`` from now (on the running loop's clock)."""
    return Deadline(asyncio.get_running_loop().time() + seconds, error)


def _too_long() -> RequestTimedOut:
    return RequestTimedOut("the answer took too long, please try again")


def answer_deadline(seconds: float) -> Deadline:
    """Past ``seconds`` the guest gets 504. A ``TimeoutError`` raised inside for another reason
    (a database pool or statement timeout) is left as it is: its handler answers 503."""
    return deadline_after(seconds, _too_long)
