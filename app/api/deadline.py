"""The time budget of one answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.errors import RequestTimedOut


@asynccontextmanager
async def answer_deadline(seconds: float) -> AsyncIterator[None]:
    """Past ``seconds`` the guest gets 504. A ``TimeoutError`` raised inside for another reason
    (a database pool or statement timeout) is left as it is: its handler answers 503."""
    budget = asyncio.timeout(seconds)
    try:
        async with budget:
            yield
    except TimeoutError:
        if budget.expired():
            raise RequestTimedOut("the answer took too long, please try again") from None
        raise
