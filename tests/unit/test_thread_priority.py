"""The model's threads run a few steps nicer than the event loop (Linux niceness per thread)."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from app.config import Settings
from app.embedding.batcher import MicroBatcher
from app.embedding.priority import MAX_NICE, lower_thread_priority
from app.embedding.shares import Shares

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="niceness per thread is Linux's"
)


def thread_nice() -> int:
    """The calling thread's niceness."""
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _in_thread(steps: int, again: int = 0) -> int:
    seen: list[int] = []

    def run() -> None:
        lower_thread_priority(steps)
        lower_thread_priority(again)
        seen.append(thread_nice())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    return seen[0]


def test_only_the_calling_thread_is_lowered_and_never_past_the_lowest() -> None:
    before = thread_nice()
    assert _in_thread(3) == min(MAX_NICE, before + 3)
    assert _in_thread(0) == before
    assert _in_thread(50) == MAX_NICE
    # Counted from the main thread's niceness, not the caller's: lowering twice is lowering once.
    assert _in_thread(3, again=3) == min(MAX_NICE, before + 3)
    assert thread_nice() == before  # this thread (and the process) kept its priority


async def test_the_batchers_thread_encodes_at_the_lower_priority() -> None:
    base = thread_nice()
    seen: list[int] = []

    def encode(texts: Sequence[str]) -> np.ndarray:
        seen.append(thread_nice())
        return np.zeros((len(texts), 2), dtype=np.float32)

    batcher = MicroBatcher(encode, thread_nice=4)
    batcher.start()
    try:
        vector = await batcher.embed("what time is breakfast?")
    finally:
        await asyncio.to_thread(batcher.close)
    assert vector.shape == (2,)
    assert seen == [min(MAX_NICE, base + 4)]
    assert thread_nice() == base


@pytest.mark.parametrize("started_by_a_lowered_thread", [False, True])
def test_a_batchs_helper_threads_run_at_the_lower_priority_and_the_caller_at_its_own(
    started_by_a_lowered_thread: bool,
) -> None:
    base = thread_nice()
    shares = Shares(2, "test-nice", nice=4)
    together = threading.Barrier(2, timeout=30)
    out: list[tuple[str, int]] = []

    def work(share: Sequence[int]) -> tuple[str, int]:
        together.wait()  # both shares at once: one of them on a helper
        return threading.current_thread().name, thread_nice()

    def caller() -> None:
        if started_by_a_lowered_thread:  # as the batcher's thread starts the model's helpers
            lower_thread_priority(4)
        out.extend(shares.run([1, 2], work))

    thread = threading.Thread(target=caller, name="test-caller")
    thread.start()
    thread.join(30)
    shares.close()
    (caller_name, caller_nice), (helper, helper_nice) = out
    assert caller_name == "test-caller"
    assert caller_nice == (min(MAX_NICE, base + 4) if started_by_a_lowered_thread else base)
    assert helper.startswith("test-nice")
    assert helper_nice == min(MAX_NICE, base + 4)


def test_the_setting_is_bounded_and_defaults_to_five_steps() -> None:
    assert Settings().model_nice == 5
    assert Settings(model_nice=0).model_nice == 0
    with pytest.raises(ValueError, match="model_nice"):
        Settings(model_nice=20)
    with pytest.raises(ValueError, match="model_nice"):
        Settings(model_nice=-1)
