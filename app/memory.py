"""Freed memory given back to the system, so the server's resident size follows what it holds.

Start-up reads large transient data (the spelling lists of five languages, the word counts
behind the word vectors): tens of megabytes that Python frees, but that glibc's allocator
keeps mapped for later allocations, in pages among live objects that it never returns by
itself. ``malloc_trim`` hands every whole free page back (about 40 MB after the spelling lists
alone). The caches' entries come and go under load in the same way, so the server trims again
every ``RAG_MALLOC_TRIM_S`` seconds (a few milliseconds, on a worker thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
from collections.abc import AsyncIterator, Callable
from functools import lru_cache

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _trim_function() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim  # glibc only
    except (OSError, AttributeError):
        return None
    return trim


def release_free_memory() -> bool:
    """Return the allocator's free pages to the system; False where the C library cannot
    (not glibc). The call releases the GIL while it runs."""
    trim = _trim_function()
    if trim is None:
        return False
    trim(0)
    return True


@contextlib.asynccontextmanager
async def trimming(every_s: float) -> AsyncIterator[None]:
    """Trims once now and then every ``every_s`` seconds while the block runs (0: only now)."""
    release_free_memory()
    if every_s <= 0:
        yield
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(every_s)
            await asyncio.to_thread(release_free_memory)

    task = asyncio.create_task(loop(), name="malloc-trim")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
