"""Micro-batcher: requests queue futures on a bounded queue; one thread encodes them in batches.

Kept hand-written: serving libraries that batch (infinity, Triton) run the model as their own
server; in process, this is a bounded queue, one thread and a flush rule, which is less code
than adapting one, and it keeps the model off the event loop and the shared thread pool.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.embedding.priority import lower_thread_priority
from app.errors import Overloaded

log = logging.getLogger(__name__)

EncodeFn = Callable[[Sequence[str]], np.ndarray]


@dataclass(slots=True)
class _Item:
    text: str
    future: asyncio.Future[np.ndarray]
    loop: asyncio.AbstractEventLoop


@dataclass(slots=True)
class BatcherStats:
    """Counters read by tests and metrics (written by the worker thread only)."""

    batches: int = 0
    items: int = 0
    rejected: int = 0
    largest_batch: int = 0
    batch_sizes: deque[int] = field(default_factory=lambda: deque(maxlen=1024))


_STOP = object()


class MicroBatcher:
    """Runs ``encode`` on a dedicated thread, never on the event loop or the shared executor.

    The worker takes whatever is queued (up to ``max_batch``) as soon as it is free, so a lone
    request is encoded at once and a burst is encoded together. With ``max_wait_ms`` > 0 it
    also waits that long for a batch to fill. ``submit`` never blocks: a full queue raises
    :class:`Overloaded`.
    """

    def __init__(
        self,
        encode: EncodeFn,
        *,
        max_batch: int = 32,
        max_queue: int = 256,
        max_wait_ms: float = 0.0,
        retry_after_s: int = 1,
        thread_nice: int = 0,
    ) -> None:
        self._encode = encode
        # Steps of lower priority for the worker thread (see app.embedding.priority).
        self._thread_nice = thread_nice
        self._max_batch = max_batch
        self._max_wait = max_wait_ms / 1000.0
        self._retry_after_s = retry_after_s
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._closing = False
        self._thread: threading.Thread | None = None
        self.stats = BatcherStats()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._closing

    def queue_depth(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="embedder", daemon=True)
        self._thread.start()

    def submit(self, text: str) -> asyncio.Future[np.ndarray]:
        """Queue one text; the returned future resolves to its vector."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[np.ndarray] = loop.create_future()
        with self._lock:
            if self._closing or self._thread is None:
                raise Overloaded("the embedder is not accepting work", self._retry_after_s)
            try:
                self._queue.put_nowait(_Item(text, future, loop))
            except queue.Full:
                self.stats.rejected += 1
                raise Overloaded(
                    "too many questions in flight, please retry", self._retry_after_s
                ) from None
        return future

    async def embed(self, text: str) -> np.ndarray:
        """Encode one text through the batch queue."""
        return await self.submit(text)

    def close(self, timeout: float = 10.0) -> None:
        """Stop accepting work, finish everything already queued, then stop the thread."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)

    # -- worker thread ---------------------------------------------------------------------

    def _run(self) -> None:
        lower_thread_priority(self._thread_nice)
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                break
            assert isinstance(first, _Item)
            batch = [first]
            deadline = time.monotonic() + self._max_wait
            while len(batch) < self._max_batch:
                try:
                    remaining = deadline - time.monotonic()
                    nxt = (
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                assert isinstance(nxt, _Item)
                batch.append(nxt)
            self._process(batch)

    def _process(self, batch: list[_Item]) -> None:
        live = [item for item in batch if not item.future.cancelled()]
        if not live:
            return
        self._record(len(live))
        try:
            vectors = self._encode([item.text for item in live])
        except Exception as exc:
            if len(live) == 1:
                _resolve(live[0], exc)
                return
            # Re-run one by one so only the text that breaks the model gets the error.
            for item in live:
                try:
                    _resolve(item, self._encode([item.text])[0])
                except Exception as single_exc:
                    _resolve(item, single_exc)
            return
        for item, vector in zip(live, vectors, strict=True):
            _resolve(item, vector)

    def _record(self, size: int) -> None:
        stats = self.stats
        stats.batches += 1
        stats.items += size
        stats.largest_batch = max(stats.largest_batch, size)
        stats.batch_sizes.append(size)


def _resolve(item: _Item, outcome: np.ndarray | BaseException) -> None:
    def apply() -> None:
        if item.future.done():
            return
        if isinstance(outcome, BaseException):
            item.future.set_exception(outcome)
        else:
            item.future.set_result(outcome)

    try:
        item.loop.call_soon_threadsafe(apply)
    except RuntimeError:
        log.debug("event loop closed before an embedding was delivered")
