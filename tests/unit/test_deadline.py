"""The answer's time budget: only its own expiry is a 504."""

from __future__ import annotations

import asyncio

import pytest

from app.api.deadline import answer_deadline
from app.errors import RequestTimedOut


async def test_an_answer_past_its_budget_times_out() -> None:
    never = asyncio.Event()
    with pytest.raises(RequestTimedOut):
        async with answer_deadline(0.01):
            await never.wait()


async def test_a_timeout_from_inside_stays_a_timeout_error() -> None:
    # A database pool or statement timeout: its own handler answers 503, not 504.
    with pytest.raises(TimeoutError) as raised:
        async with answer_deadline(30):
            raise TimeoutError("pool acquire")
    assert not isinstance(raised.value, RequestTimedOut)
    assert str(raised.value) == "pool acquire"


async def test_an_answer_within_its_budget_is_untouched() -> None:
    async with answer_deadline(30):
        value = await asyncio.sleep(0, result=42)
    assert value == 42
