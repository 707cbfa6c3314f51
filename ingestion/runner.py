"""Running ingestion jobs: one job at a time with a heartbeat, and a polling worker for servers.

:class:`JobRunner` runs a claimed job while a heartbeat task refreshes the job row; a worker
that loses the job (marked stale by another process) stops. :class:`JobWorker` is the loop a
server process runs: reap stale jobs, claim the next queued one, run it, sleep until woken
or the poll interval passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from typing import Any

import asyncpg

from app.db.pool import describe_error
from ingestion import jobs
from ingestion.documents import Document
from ingestion.pipeline import Ingestor, Progress
from ingestion.reindex import Reindexer, fail_target, purge_versions

log = logging.getLogger(__name__)


def worker_name(role: str) -> str:
    """A readable, unique-enough worker id: role, host and process id."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}"


class JobRunner:
    """Runs claimed jobs with an ingestor made on first use (the model loads lazily)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        ingestor_factory: Callable[[], Ingestor],
        worker: str,
        *,
        heartbeat_s: float = 2.0,
        retire_grace_s: float = 15.0,
        wait_to_retire: bool = False,
        group_documents: int = 32,
        release_on_stop: bool = False,
    ) -> None:
        self.pool = pool
        self._factory = ingestor_factory
        self._ingestor: Ingestor | None = None
        self.worker = worker
        self.heartbeat_s = heartbeat_s
        self.retire_grace_s = retire_grace_s
        # A staff command waits out the grace period and deletes the old version itself; a
        # server's worker leaves that to its periodic purge and moves on to the next job.
        self.wait_to_retire = wait_to_retire
        self.group_documents = group_documents
        # A server stopping (a deploy) puts its job back in the queue for the next worker; a
        # staff command marks it failed, to be resumed with ``--retry``.
        self.release_on_stop = release_on_stop

    @property
    def ingestor(self) -> Ingestor:
        if self._ingestor is None:
            self._ingestor = self._factory()
        return self._ingestor

    async def run(self, job: jobs.Job) -> jobs.Job:
        """Run ``job`` (already claimed by this worker) to success or failure; returns its row."""
        progress = Progress()
        task = asyncio.current_task()
        assert task is not None
        taken = asyncio.Event()
        succeeded = False
        beat = asyncio.create_task(
            self._heartbeat(job.id, progress, task, taken), name="job-heartbeat"
        )
        try:
            if self._ingestor is None:
                self._ingestor = await asyncio.to_thread(self._factory)
            await self._dispatch(job, progress)
        except asyncio.CancelledError:
            if taken.is_set() and task.uncancel() == 0:
                # Stopped because the job is no longer this worker's, not because the worker
                # is stopping: it goes on with the next job.
                log.warning("job %s stopped: another worker has it", job.id)
            elif self.release_on_stop:
                async with self.pool.acquire() as conn:
                    if await jobs.release(conn, job.id, self.worker):
                        log.info("job %s released: it runs again on the next worker", job.id)
                raise
            else:
                await self._finish(job.id, "stopped before it finished; retry the job", progress)
                raise
        except Exception as exc:
            message = getattr(exc, "message", None) or describe_error(exc)
            log.warning("job %s (%s %s) failed: %s", job.id, job.kind, job.property_id, message)
            await self._finish(job.id, message, progress)
        else:
            await self._finish(job.id, None, progress)
            succeeded = True
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        if succeeded and job.kind == "reindex":
            # After the switch, outside the job: it has succeeded whatever happens here.
            await self._retire(job.property_id)
        async with self.pool.acquire() as conn:
            return await jobs.get(conn, job.id)

    async def _retire(self, property_id: str) -> None:
        """Delete the versions this re-index retired, once in-flight requests are done."""
        if self.wait_to_retire and self.retire_grace_s > 0:
            # In-flight requests may still read the old version for up to their timeout.
            await asyncio.sleep(self.retire_grace_s)
        try:
            async with self.pool.acquire() as conn:
                await purge_versions(conn, property_id, self.retire_grace_s)
        except Exception as exc:  # the worker's periodic purge deletes them later
            log.warning(
                "%s: retired versions not deleted yet: %s", property_id, describe_error(exc)
            )

    async def _dispatch(self, job: jobs.Job, progress: Progress) -> None:
        if job.kind == "reindex":
            result = await Reindexer(self.ingestor, self.group_documents).run(
                job, progress, lambda: self._beat(job.id, progress)
            )
            log.info(
                "job %s: %s switched from version %s to %s (%d embedded)",
                job.id, job.property_id, result.old_version, result.new_version, result.embedded,
            )  # fmt: skip
        elif job.kind == "ingest":
            documents = [Document(**d) for d in job.params.get("documents", [])]
            ingestor = self.ingestor

            def on_progress(state: Progress) -> None:
                progress.documents_total = state.documents_total
                progress.documents_done = state.documents_done
                progress.chunks_total = state.chunks_total
                progress.chunks_done = state.chunks_done
                progress.embedded = state.embedded

            ingestor.progress = on_progress
            report = await ingestor.ingest(
                job.property_id, documents, name=job.params.get("name"), sync=False
            )
            progress.documents_total = report.added + report.updated + report.unchanged
            # Unchanged documents (stored by an earlier try of this job, or before it) are done.
            progress.documents_done = progress.documents_total
        else:
            raise ValueError(f"unknown job kind {job.kind!r}")

    async def _beat(self, job_id: int, progress: Progress, phase: str | None = None) -> None:
        payload: dict[str, Any] = progress.as_dict()
        if phase:
            payload["phase"] = phase
        async with self.pool.acquire() as conn:
            await jobs.heartbeat(conn, job_id, self.worker, payload)

    async def _heartbeat(
        self, job_id: int, progress: Progress, owner: asyncio.Task[Any], taken: asyncio.Event
    ) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                async with self.pool.acquire() as conn:
                    mine = await jobs.heartbeat(conn, job_id, self.worker, progress.as_dict())
            except Exception as exc:  # a missed beat is retried; staleness takes many
                log.warning("job %s heartbeat failed: %s", job_id, describe_error(exc))
                continue
            if not mine:
                log.warning("job %s was taken from this worker; stopping it", job_id)
                taken.set()
                owner.cancel()
                return

    async def _finish(self, job_id: int, error: str | None, progress: Progress) -> None:
        async with self.pool.acquire() as conn:
            payload: dict[str, Any] = progress.as_dict()
            payload["phase"] = "done" if error is None else "failed"
            mine = await jobs.finish(conn, job_id, self.worker, error, payload)
            if mine and error is not None:
                await fail_target(conn, job_id)


class JobWorker:
    """Background loop of a server process: claims and runs queued jobs one at a time."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        runner: JobRunner,
        poll_s: float,
        stale_after_s: float,
        max_attempts: int = 1,
    ) -> None:
        self.pool = pool
        self.runner = runner
        self.poll_s = poll_s
        self.stale_after_s = stale_after_s
        self.max_attempts = max_attempts
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="job-worker")

    def wake(self) -> None:
        """Look for work now (called after a job is queued in this process)."""
        self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        ingestor = self.runner._ingestor
        if ingestor is not None:
            await asyncio.to_thread(ingestor.embedder.close)

    async def _purge(self) -> None:
        """Delete retired versions whose grace period is over (cheap when there are none)."""
        async with self.pool.acquire() as conn:
            props = await conn.fetch(
                "SELECT DISTINCT property_id FROM index_versions "
                "WHERE state IN ('retired', 'failed')"
            )
            for row in props:
                await purge_versions(conn, row["property_id"], self.runner.retire_grace_s)

    async def _loop(self) -> None:
        while True:
            try:
                async with self.pool.acquire() as conn:
                    await jobs.reap_stale(conn, self.stale_after_s, self.max_attempts)
                    job = await jobs.claim(conn, self.runner.worker)
                if job is not None:
                    await self.runner.run(job)
                    continue
                await self._purge()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("job worker: %s", describe_error(exc))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
