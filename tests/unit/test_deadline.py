"""The answer's time budget: only its own expiry is a 504."""

from __future__ import annotations

import asyncio

import pytest

from app.api.deadline import Deadline, answer_deadline
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


async def test_a_deadline_past_its_time_is_a_timeout_error_and_the_task_goes_on() -> None:
    loop = asyncio.get_running_loop()
    never = asyncio.Event()
    with pytest.raises(TimeoutError):
        async with Deadline(loop.time() + 0.01) as deadline:
            await never.wait()
    assert deadline.expired
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0
    assert await asyncio.sleep(0, result="still running") == "still running"


async def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    started = asyncio.Event()

    async def waiting() -> None:
        async with Deadline(asyncio.get_running_loop().time() + 30):
            started.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(waiting())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_deadlines_on_one_loop_each_expire_at_their_own_time() -> None:
    loop = asyncio.get_running_loop()
    expired: list[str] = []

    async def waiting(name: str, seconds: float) -> None:
        try:
            async with Deadline(loop.time() + seconds):
                await asyncio.Event().wait()
        except TimeoutError:
            expired.append(name)

    async def quick() -> None:
        async with Deadline(loop.time() + 0.01):
            await asyncio.sleep(0)

    # The later deadline is entered first, the earliest one after it.
    await asyncio.gather(
        waiting("late", 0.3), waiting("early", 0.02), quick(), waiting("middle", 0.1)
    )
    assert expired == ["early", "middle", "late"]
