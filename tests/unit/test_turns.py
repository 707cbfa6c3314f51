"""Turns at the database: bounded, the longest-waiting request first, no turn lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from app.db.turns import Turns, arrived
from tests.waiting import wait_until


async def _hold(turns: Turns, order: list[str], name: str, release: asyncio.Event) -> None:
    async with turns.take():
        order.append(name)
        await release.wait()


async def _until(condition: Callable[[], bool], what: str) -> None:
    await wait_until(condition, 5.0, what)


async def _asking(turns: Turns, order: list[str], name: str, began: float | None) -> None:
    arrived.set(began)  # each task has its own copy of the context
    async with turns.take():
        order.append(name)


async def test_no_more_than_the_turns_at_once_and_the_oldest_request_goes_first() -> None:
    turns = Turns(2)
    order: list[str] = []
    release = asyncio.Event()
    holders = [asyncio.create_task(_hold(turns, order, n, release)) for n in ("a", "b")]
    await _until(lambda: turns.held == 2, "both turns held")
    assert order == ["a", "b"]
    # Asked in this order, by requests that arrived in another.
    waiters = [
        asyncio.create_task(_asking(turns, order, name, began))
        for name, began in (("late", 30.0), ("first", 10.0), ("middle", 20.0))
    ]
    await _until(lambda: turns.waiting == 3, "three waiting")
    assert order == ["a", "b"]
    release.set()
    await asyncio.gather(*holders, *waiters)
    assert order == ["a", "b", "first", "middle", "late"]
    assert turns.held == 0
    assert turns.waiting == 0


async def test_a_turn_given_back_goes_to_the_waiter_not_to_a_caller_arriving_meanwhile() -> None:
    turns = Turns(1)
    order: list[str] = []
    mine = turns.take()
    await mine.__aenter__()
    waiter = asyncio.create_task(_asking(turns, order, "waiter", None))
    await _until(lambda: turns.waiting == 1, "the waiter waiting")
    await mine.__aexit__(None, None, None)  # the waiter is woken but has not run yet
    # A newcomer that asks now, before the woken waiter runs, waits behind it.
    async with turns.take():
        order.append("newcomer")
    await waiter
    assert order == ["waiter", "newcomer"]
    assert turns.held == 0


async def test_callers_outside_a_request_go_in_the_order_they_asked() -> None:
    turns = Turns(1)
    order: list[str] = []
    release = asyncio.Event()
    holder = asyncio.create_task(_hold(turns, order, "holder", release))
    await _until(lambda: turns.held == 1, "the turn held")
    waiters = []
    for asked, name in enumerate(("one", "two", "three"), start=1):
        waiters.append(asyncio.create_task(_asking(turns, order, name, None)))
        await _until(lambda asked=asked: turns.waiting == asked, f"{name} waiting")
    release.set()
    await asyncio.gather(holder, *waiters)
    assert order == ["holder", "one", "two", "three"]


async def test_a_wait_past_its_time_raises_and_leaves_the_turns_whole() -> None:
    turns = Turns(1)
    release = asyncio.Event()
    order: list[str] = []
    holder = asyncio.create_task(_hold(turns, order, "holder", release))
    await _until(lambda: turns.held == 1, "the turn held")
    with pytest.raises(TimeoutError):
        async with turns.take(0.01):
            order.append("never")
    assert turns.waiting == 0
    release.set()
    await holder
    assert turns.held == 0
    # The turn is usable again: nothing was lost to the timed-out wait.
    async with turns.take(0.01):
        assert turns.held == 1
    assert order == ["holder"]


async def test_a_cancelled_waiter_is_skipped_and_a_turn_given_to_one_being_cancelled_moves_on() -> (
    None
):
    turns = Turns(1)
    order: list[str] = []
    mine = turns.take()
    await mine.__aenter__()
    gone = asyncio.create_task(_asking(turns, order, "gone", 1.0))
    given = asyncio.create_task(_asking(turns, order, "given", 2.0))
    last = asyncio.create_task(_asking(turns, order, "last", 3.0))
    await _until(lambda: turns.waiting == 3, "three waiting")
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    assert gone.cancelled()
    assert turns.waiting == 2
    await mine.__aexit__(None, None, None)  # given to "given", which has not run yet
    given.cancel()
    await asyncio.gather(gone, given, last, return_exceptions=True)
    assert order == ["last"]
    assert turns.held == 0
    assert turns.waiting == 0


def test_at_least_one_turn() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Turns(0)
