"""Micro-batcher: batching, ordering, bounded queue, error routing, draining on close."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from app.embedding.batcher import MicroBatcher
from app.errors import Overloaded


class GatedEncoder:
    """Encodes a text as [len(text)]; blocks each batch until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.batches: list[list[str]] = []

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        self.entered.set()
        assert self.gate.wait(10), "test never opened the gate"
        if any("boom" in t for t in texts):
            if len(texts) == 1:
                raise ValueError(f"cannot encode {texts[0]!r}")
            raise ValueError("batch contains a bad text")
        return np.array([[float(len(t))] for t in texts], dtype=np.float32)


async def _wait_thread_event(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, 10)


async def test_requests_queued_while_busy_are_encoded_together_in_order() -> None:
    encoder = GatedEncoder()
    batcher = MicroBatcher(encoder, max_batch=8, max_queue=64)
    batcher.start()
    try:
        first = batcher.submit("x")
        await _wait_thread_event(encoder.entered)  # the worker is busy with the first text
        texts = ["a" * n for n in range(1, 11)]
        futures = [batcher.submit(t) for t in texts]
        encoder.gate.set()
        results = await asyncio.gather(first, *futures)
    finally:
        batcher.close()
    assert [float(r[0]) for r in results] == [1.0, *[float(len(t)) for t in texts]]
    assert [len(b) for b in encoder.batches] == [1, 8, 2]
    assert batcher.stats.items == 11
    assert batcher.stats.largest_batch == 8


async def test_full_queue_is_refused_not_buffered() -> None:
    encoder = GatedEncoder()
    batcher = MicroBatcher(encoder, max_batch=4, max_queue=3, retry_after_s=2)
    batcher.start()
    try:
        busy = batcher.submit("busy")
        await _wait_thread_event(encoder.entered)
        queued = [batcher.submit(f"q{i}") for i in range(3)]
        with pytest.raises(Overloaded) as refused:
            batcher.submit("one too many")
        assert refused.value.retry_after_s == 2
        assert batcher.stats.rejected == 1
        encoder.gate.set()
        await asyncio.gather(busy, *queued)
    finally:
        batcher.close()


async def test_an_error_reaches_only_the_caller_whose_text_failed() -> None:
    encoder = GatedEncoder()
    batcher = MicroBatcher(encoder, max_batch=8, max_queue=16)
    batcher.start()
    try:
        busy = batcher.submit("busy")
        await _wait_thread_event(encoder.entered)
        good = batcher.submit("fine")
        bad = batcher.submit("boom")
        also_good = batcher.submit("also fine")
        encoder.gate.set()
        results = await asyncio.gather(busy, good, bad, also_good, return_exceptions=True)
    finally:
        batcher.close()
    assert float(results[1][0]) == 4.0
    assert isinstance(results[2], ValueError)
    assert "boom" in str(results[2])
    assert float(results[3][0]) == 9.0


async def test_close_drains_queued_work_then_refuses_new_work() -> None:
    encoder = GatedEncoder()
    batcher = MicroBatcher(encoder, max_batch=2, max_queue=16)
    batcher.start()
    busy = batcher.submit("busy")
    await _wait_thread_event(encoder.entered)
    pending = [batcher.submit(f"t{i}") for i in range(5)]
    encoder.gate.set()
    await asyncio.to_thread(batcher.close)
    results = await asyncio.gather(busy, *pending)
    assert len(results) == 6
    assert not batcher.running
    with pytest.raises(Overloaded):
        batcher.submit("late")


async def test_cancelled_requests_are_not_encoded() -> None:
    encoder = GatedEncoder()
    batcher = MicroBatcher(encoder, max_batch=8, max_queue=16)
    batcher.start()
    try:
        busy = batcher.submit("busy")
        await _wait_thread_event(encoder.entered)
        gone = batcher.submit("client went away")
        kept = batcher.submit("kept")
        gone.cancel()
        encoder.gate.set()
        await asyncio.gather(busy, kept)
    finally:
        batcher.close()
    assert encoder.batches == [["busy"], ["kept"]]
