"""Shadow mode: a candidate index version answers a sample of live questions, off the guest's
path, so staff can compare it with the live one before they switch.

After a guest's answer is computed, :meth:`Shadow.offer` puts the question on a bounded queue
with probability ``share`` (a full queue drops it, counted); one background task takes the
questions one at a time, looks up the property's candidate version, embeds the question with
the candidate's model (the serving model's vector is reused when they are the same), searches
the candidate, writes an answer with the extractive writer (no model generation is spent on
shadows) and stores both outcomes (:mod:`app.db.shadow`). Nothing here can fail or slow a
guest's request: every error is logged and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

import asyncpg
import numpy as np

from app.answering.meanings import WordVectors
from app.answering.messages import localise
from app.answering.types import AnswerWriter, number_sources
from app.answering.writers import extractive_writer
from app.config import Settings
from app.db import shadow as store
from app.db.pool import stop_if_cancelled
from app.db.properties import PropertyState
from app.embedding.batcher import MicroBatcher
from app.embedding.encoder import load_encoder, query_encoder
from app.rag.types import AskResult
from app.search.retriever import Retriever

log = logging.getLogger(__name__)

# A model's question embedding on its own micro-batcher (never the shared thread pool).
EmbedFn = Callable[[str], Awaitable[np.ndarray]]


@dataclass(slots=True)
class ShadowStats:
    """Counters for tests and metrics."""

    offered: int = 0
    dropped: int = 0
    recorded: int = 0
    failed: int = 0
    skipped: int = 0  # no candidate, or one built by a model this process does not have


@dataclass(frozen=True, slots=True)
class _Item:
    prop: PropertyState
    question: str
    language: str
    top_k: int
    live: AskResult


class Shadow:
    """Runs sampled questions against each property's candidate version in the background."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        retriever: Retriever,
        writer: AnswerWriter,
        encoders: dict[str, EmbedFn],
        *,
        share: float,
        max_queue: int = 64,
        keep: int = 1000,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._pool = pool
        self._retriever = retriever
        self._writer = writer
        self._encoders = encoders
        self._share = share
        self._keep = keep
        self._rng = rng
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=max_queue)
        self._task: asyncio.Task[None] | None = None
        self.stats = ShadowStats()

    def start(self) -> None:
        if self._task is None and self._share > 0:
            self._task = asyncio.create_task(self._run(), name="shadow")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def offer(
        self, prop: PropertyState, question: str, language: str, top_k: int, live: AskResult
    ) -> None:
        """Maybe shadow this answered question (never blocks, never raises)."""
        if self._task is None or self._rng() >= self._share:
            return
        self.stats.offered += 1
        try:
            self._queue.put_nowait(_Item(prop, question, language, top_k, live))
        except asyncio.QueueFull:
            self.stats.dropped += 1

    async def drain(self) -> None:
        """Wait until every queued question has been handled (for tests and shutdown)."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self.run_one(item.prop, item.question, item.language, item.top_k, item.live)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stop_if_cancelled(exc)
                self.stats.failed += 1
                log.exception("a shadow run failed")
            finally:
                self._queue.task_done()

    async def run_one(
        self, prop: PropertyState, question: str, language: str, top_k: int, live: AskResult
    ) -> bool:
        """Answer ``question`` from the property's candidate and store both; False if skipped."""
        async with self._pool.acquire() as conn:
            found = await store.candidate(conn, prop.id)
        embed = self._encoders.get(found.model) if found is not None else None
        if found is None or embed is None:
            self.stats.skipped += 1
            return False
        started = time.perf_counter()
        text = self._retriever.embedding_text(question, language)
        vector = await embed(text)
        target = replace(prop, version_id=found.version_id, chunk_count=found.chunk_count)
        hits = await self._retriever.search(target, vector, top_k, question, language)
        written = await self._writer.write(question, number_sources(hits), language=language)
        answer = localise(written, language)
        candidate_ms = (time.perf_counter() - started) * 1000
        run = store.ShadowRun(
            property_id=prop.id,
            live_version=live.version_id,
            candidate_version=found.version_id,
            question=question,
            language=language,
            live_sources=[s.hit.document_id for s in live.sources],
            candidate_sources=[h.document_id for h in hits],
            live_answer=live.answer,
            candidate_answer=answer.text,
            live_escalate=live.escalate,
            candidate_escalate=answer.escalate,
            live_ms=live.embed_ms + live.search_ms + live.answer_ms,
            candidate_ms=candidate_ms,
        )
        async with self._pool.acquire() as conn:
            await store.record(conn, run, self._keep)
        self.stats.recorded += 1
        return True


@contextlib.asynccontextmanager
async def open_shadow(
    settings: Settings,
    pool: asyncpg.Pool,
    retriever: Retriever,
    live_model: str,
    live_embed: EmbedFn,
    meanings: WordVectors | None = None,
) -> AsyncIterator[Shadow | None]:
    """The shadow runner when ``RAG_SHADOW_SHARE`` > 0, else None; with ``RAG_SHADOW_MODEL``
    another model is loaded (on a micro-batcher of its own) for candidates it built. Its
    writer matches words by ``meanings`` as the live writer does, so the two answers differ
    only by the candidate's index."""
    if settings.shadow_share <= 0:
        yield None
        return
    encoders: dict[str, EmbedFn] = {live_model: live_embed}
    batcher: MicroBatcher | None = None
    if settings.shadow_model is not None and settings.shadow_model != settings.embedding_model:
        other = settings.model_copy(update={"embedding_model": settings.shadow_model})
        encoder = await asyncio.to_thread(load_encoder, other)
        batcher = MicroBatcher(
            query_encoder(encoder),
            max_batch=8,
            max_queue=settings.shadow_queue,
            thread_nice=settings.model_nice,
        )
        batcher.start()
        encoders[encoder.name] = batcher.embed
    shadow = Shadow(
        pool,
        retriever,
        extractive_writer(settings, meanings),
        encoders,
        share=settings.shadow_share,
        max_queue=settings.shadow_queue,
        keep=settings.shadow_keep,
    )
    shadow.start()
    try:
        yield shadow
    finally:
        await shadow.close()
        if batcher is not None:
            await asyncio.to_thread(batcher.close)
