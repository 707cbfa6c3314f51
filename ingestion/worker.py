"""The job worker of a server process, and the one way ingestion builds its :class:`Ingestor`.

:class:`JobWorker` is the loop a server process runs: reap stale jobs, claim the next queued
one, run it, sleep until woken or the poll interval passes. :func:`job_worker` runs it for the
app's lifetime; :func:`build_ingestor` is shared with the staff command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import asyncpg

from app.config import Settings
from app.db.pool import describe_error, stop_if_cancelled
from app.embedding.encoder import Encoder, default_model_path, load_encoder
from ingestion import jobs
from ingestion.chunking import tokenizer_counter
from ingestion.embedder import BatchEmbedder
from ingestion.pipeline import Ingestor, Progress
from ingestion.reindex import purge_versions
from ingestion.runner import JobRunner, worker_name

log = logging.getLogger(__name__)


def build_ingestor(
    pool: asyncpg.Pool,
    settings: Settings,
    encoder: Encoder,
    *,
    for_jobs: bool,
    progress: Callable[[Progress], None] | None = None,
) -> Ingestor:
    """An ingestor counting tokens with the packaged model's tokenizer and embedding in paced
    batches: the job worker's pace (``RAG_JOB_*``) shares the CPU with guests' questions, the
    staff command's (``RAG_INGEST_*``) runs beside them."""
    if for_jobs:
        batch, duty_cycle = settings.job_embed_batch, settings.job_duty_cycle
    else:
        batch, duty_cycle = settings.ingest_embed_batch, settings.ingest_duty_cycle
    counter = tokenizer_counter(settings.embedding_model_path or default_model_path())
    embedder = BatchEmbedder(encoder, batch, duty_cycle)
    return Ingestor(pool, count_tokens=counter, progress=progress, embedder=embedder)


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
        ingestor = self.runner.loaded_ingestor
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
                stop_if_cancelled(exc)
                log.warning("job worker: %s", describe_error(exc))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)


@asynccontextmanager
async def job_worker(
    settings: Settings,
    pool: asyncpg.Pool,
    encoder_factory: Callable[[], Encoder] | None = None,
) -> AsyncIterator[JobWorker | None]:
    """Run this process's job worker for the app's lifetime (when enabled).

    The worker loads its own copy of the model on its first job (a tokenizer must not be
    shared across threads) and embeds in small, paced batches so guests keep their latency.
    """
    if not settings.job_worker_enabled:
        yield None
        return

    def make_ingestor() -> Ingestor:
        encoder = encoder_factory() if encoder_factory else load_encoder(settings)
        return build_ingestor(pool, settings, encoder, for_jobs=True)

    runner = JobRunner(
        pool,
        make_ingestor,
        worker_name("server"),
        heartbeat_s=settings.job_heartbeat_s,
        retire_grace_s=settings.retire_grace_s,
        group_documents=max(1, settings.job_embed_batch),
        release_on_stop=True,
    )
    worker = JobWorker(
        pool, runner, settings.job_poll_s, settings.job_stale_after_s, settings.job_max_attempts
    )
    worker.start()
    try:
        yield worker
    finally:
        await worker.close()
