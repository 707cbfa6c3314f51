"""Waiting in a test for a state it cannot await (another process's, a counter, a database row)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]],
    limit_s: float,
    what: str = "the condition",
    every_s: float = 0.05,
) -> float:
    """Poll ``condition`` until it holds; returns the seconds it took. Raises ``TimeoutError``
    past ``limit_s``."""
    started = time.monotonic()
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return time.monotonic() - started
        if time.monotonic() - started > limit_s:
            raise TimeoutError(f"{what}: not within {limit_s:g}s")
        await asyncio.sleep(every_s)
