"""Shutdown ends even when a background task will not: each is waited for a bounded time, then
left behind with a warning, and the pool is closed all the same."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from app import services
from app.config import Settings
from app.db.properties import PropertyRegistry
from app.main import create_app
from tests.fakes import HashingEncoder
from tests.serving import app_client

pytestmark = pytest.mark.integration


async def test_a_registry_that_will_not_close_does_not_keep_the_service_open(
    settings: Settings,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()
    stuck_ones: list[PropertyRegistry] = []
    close = PropertyRegistry.close

    async def will_not_close(self: PropertyRegistry) -> None:
        stuck_ones.append(self)
        while not release.is_set():  # deaf to its cancel until released
            with contextlib.suppress(asyncio.CancelledError):
                await release.wait()

    monkeypatch.setattr(PropertyRegistry, "close", will_not_close)
    monkeypatch.setattr(services, "CLOSE_S", 0.2)
    caplog.set_level(logging.WARNING, logger="app.services")

    async def serve_and_stop() -> int:
        async with app_client(create_app(settings, encoder=HashingEncoder())) as client:
            return (await client.get("/healthz")).status_code

    serving = asyncio.ensure_future(serve_and_stop())
    done, _ = await asyncio.wait({serving}, timeout=30)
    release.set()
    status = await serving
    for registry in stuck_ones:
        await close(registry)
    assert done, "shutdown waited for the registry"
    assert status == 200
    assert stuck_ones
    assert "property registry did not end within" in caplog.text


async def test_how_a_task_ended_at_shutdown_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="app.services")

    async def fails() -> None:
        raise RuntimeError("release() called on a free connection holder")

    async def cancelled() -> None:
        await asyncio.Event().wait()

    failing = asyncio.ensure_future(fails())
    await services.finish_within(failing, 5, "warm-up")
    assert "warm-up ended at shutdown: release() called" in caplog.text
    waiting = asyncio.ensure_future(cancelled())
    waiting.cancel()
    caplog.clear()
    await services.finish_within(waiting, 5, "warm-up")
    assert waiting.cancelled()
    assert caplog.text == ""
