"""The circuit breaker's states and the concurrency gate's bound."""

from __future__ import annotations

import asyncio

import pytest

from app.answering.llm.guards import Busy, CircuitBreaker, ConcurrencyGate


def test_breaker_opens_after_consecutive_failures_and_half_opens_after_reset() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=2, reset_s=5, clock=lambda: now[0])
    breaker.failure()
    breaker.success()  # a success in between resets the count
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    now[0] = 5.0
    assert breaker.state == "half_open"
    assert breaker.allow()  # one trial
    assert not breaker.allow()  # and only one
    breaker.failure()
    assert breaker.state == "open"
    now[0] = 10.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed"
    assert breaker.allow()


async def test_gate_bounds_concurrent_holders() -> None:
    gate = ConcurrencyGate(1, wait_s=0.05)
    release = asyncio.Event()
    entered = asyncio.Event()

    async def holder() -> None:
        async with gate.slot():
            entered.set()
            await release.wait()

    task = asyncio.create_task(holder())
    await entered.wait()
    assert gate.in_use == 1
    with pytest.raises(Busy):
        async with gate.slot():
            pass
    release.set()
    await task
    async with gate.slot():
        assert gate.in_use == 1
    assert gate.in_use == 0
