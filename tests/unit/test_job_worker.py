"""The job worker's loop stops when cancelled, whatever error a driver raises on the way out."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, cast

import asyncpg

from ingestion.runner import JobRunner, worker_name
from ingestion.worker import JobWorker


class _FailsWhenCancelled:
    """A pool whose acquire waits until cancelled, then fails with a driver error, as
    asyncpg's release does when a connection was dropped under a cancelled query."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()

    def acquire(self) -> _FailsWhenCancelled:
        return self

    async def __aenter__(self) -> Any:
        self.entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("release() called on a free connection holder") from None

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


async def test_a_cancel_that_surfaces_as_a_driver_error_still_stops_the_worker() -> None:
    pool = _FailsWhenCancelled()
    fake = cast(asyncpg.Pool, pool)
    runner = JobRunner(fake, lambda: None, worker_name("test"))  # type: ignore[arg-type,return-value]
    worker = JobWorker(fake, runner, poll_s=0.01, stale_after_s=60.0)
    worker.start()
    await pool.entered.wait()
    task = worker._task
    assert task is not None
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)  # a bound on a hang, not a synchronisation
    assert task in done
    assert task.cancelled()
    await worker.close()
