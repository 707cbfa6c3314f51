"""Freed memory is handed back to the system: at once, and on schedule while serving."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app import memory


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_freed_blocks_among_live_ones_go_back_to_the_system() -> None:
    if memory._trim_function() is None:
        pytest.skip("the C library has no malloc_trim")
    # 120 MB in blocks glibc serves from its heap (over Python's small-object limit, under
    # the size it maps on its own), then one kept block above them: freeing the rest leaves
    # free pages the allocator keeps until trimmed.
    blocks = [bytes(2000) + bytes([i % 256]) for i in range(60_000)]
    kept = bytes(3000) + b"kept"
    before = _rss_mb()
    del blocks
    freed = _rss_mb()
    assert memory.release_free_memory()
    after = _rss_mb()
    assert kept.endswith(b"kept")
    assert after < freed - 50, (before, freed, after)


async def test_trimming_trims_at_once_and_then_on_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    fourth = asyncio.Event()

    def release() -> bool:
        calls.append(1)
        if len(calls) == 4:
            fourth.set()
        return True

    monkeypatch.setattr(memory, "release_free_memory", release)
    async with memory.trimming(0):
        assert calls == [1]
    async with memory.trimming(0.01):
        assert len(calls) == 2
        async with asyncio.timeout(5):
            await fourth.wait()
    count = len(calls)
    await asyncio.sleep(0.05)
    assert len(calls) == count  # stopped with the block
