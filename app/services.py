"""Builds the hot path's collaborators at start-up and closes them in reverse order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
import numpy as np

from app import languages, reading
from app.answering import meanings
from app.answering.writers import open_writers
from app.api.ratelimit import RateLimits
from app.config import Settings
from app.db.migrate import check_schema
from app.db.pool import Connection, create_pool
from app.db.properties import PropertyRegistry
from app.db.server import database_url
from app.db.turns import Turns
from app.embedding.batcher import MicroBatcher
from app.embedding.encoder import (
    Encoder,
    close_encoder,
    load_warm_encoder,
    query_encoder,
    vectors_identity,
)
from app.embedding.lazy import multilingual_embedder
from app.embedding.recent import RecentVectors
from app.facts.clock import clock_from
from app.facts.stage import FactsStage
from app.observability.metrics import Metrics
from app.prepare import multilingual_seed_cache
from app.rag.cache import AnswerCache
from app.rag.service import RagService
from app.rag.session_store import PostgresSessionStore
from app.rag.sessions import MemorySessionStore, SessionStore
from app.rag.shadow import open_shadow
from app.rag.types import AskResult, CacheKey, is_storable, result_bytes
from app.search import spelling
from app.search.hybrid import text_stopwords
from app.search.rerank import build_reranker
from app.search.retriever import Retriever, search_options
from app.search.warm import WarmState, start_warming
from app.tasks.runtime import SecondModel, TaskServices, open_task_services
from app.tasks.seed_cache import SeedCache

log = logging.getLogger(__name__)

# The longest shutdown waits for each background task to end: a frozen database or a task that
# keeps waiting after its cancel must not keep the process from exiting (the pool is closed,
# or dropped, after).
CLOSE_S = 10.0


class JobQueue(Protocol):
    """The process's job worker, as the routes that queue jobs see it."""

    def wake(self) -> None:
        """Look for queued work now."""


@dataclass(slots=True)
class Services:
    """Everything a request handler may need, created once per process."""

    settings: Settings
    pool: asyncpg.Pool
    encoder: Encoder
    batcher: MicroBatcher
    registry: PropertyRegistry
    rag: RagService
    schema_head: str
    rate_limits: RateLimits
    metrics: Metrics | None = None
    tasks: TaskServices | None = None
    # Set once the worker runs (None where this process runs no jobs).
    job_worker: JobQueue | None = None
    # How far reading the partitions into the database's buffers got (see app.search.warm).
    warm: WarmState = field(default_factory=WarmState)


# Properties whose live index was built by another model than the one loaded.
_OTHER_MODELS_SQL = """
SELECT v.model, array_agg(p.id ORDER BY p.id) AS properties
FROM properties p JOIN index_versions v ON v.id = p.live_version
WHERE v.model <> $1
GROUP BY v.model
"""


async def warn_other_models(conn: Connection, model: str) -> list[str]:
    """Log each property whose live index another model built: its questions would be
    embedded by a model its chunks were not (same size, meaningless distances) until it is
    re-indexed. Returns those properties."""
    found: list[str] = []
    for row in await conn.fetch(_OTHER_MODELS_SQL, model):
        found += row["properties"]
        log.error(
            "the live index of %s was built with %s but %s is loaded: re-index it "
            "(scripts/ingest reindex --property ID) or set RAG_EMBEDDING_MODEL back",
            ", ".join(row["properties"][:20]),
            row["model"],
            model,
        )
    return found


@asynccontextmanager
async def open_services(
    settings: Settings,
    encoder: Encoder | None = None,
    *,
    rate_limits: RateLimits | None = None,
    metrics: Metrics | None = None,
    encoder_loading: Future[Encoder] | None = None,
    url_loading: Future[str] | None = None,
) -> AsyncIterator[Services]:
    """Open the pool, check the schema, load and warm the model, start the batcher and registry.

    ``rate_limits`` and ``metrics`` are the ones the app's middleware already holds. A given
    ``encoder`` stays its caller's; one from ``encoder_loading`` (a load begun before the app's
    modules were imported, :mod:`app.serving`) is owned here, as one loaded here is.
    ``url_loading`` is the database address looked up (:func:`database_url`) meanwhile too."""
    # The model loads (and warms up) on a thread while the database starts and the pool opens.
    encoder_task: asyncio.Future[Encoder] | None = None
    if encoder is None:
        encoder_task = (
            asyncio.wrap_future(encoder_loading)
            if encoder_loading is not None
            else asyncio.ensure_future(asyncio.to_thread(load_warm_encoder, settings))
        )
    try:
        url = await (
            asyncio.wrap_future(url_loading)
            if url_loading is not None
            else asyncio.to_thread(database_url, settings)
        )
        pool = await create_pool(url, settings)
    except BaseException:
        if encoder_task is not None:  # not left loading for nothing, its outcome unread
            encoder_task.cancel()
        raise
    batcher: MicroBatcher | None = None
    registry: PropertyRegistry | None = None
    warming: asyncio.Task[WarmState] | None = None
    try:
        if encoder_task is not None:
            encoder = await encoder_task
        assert encoder is not None
        async with pool.acquire() as conn:
            head = await check_schema(conn, encoder.dim, url)
            await warn_other_models(conn, encoder.name)
            stopwords = await text_stopwords(conn)
        batcher = MicroBatcher(
            query_encoder(encoder),
            max_batch=settings.batch_max_size,
            max_queue=settings.batch_queue_size,
            max_wait_ms=settings.batch_max_wait_ms,
            retry_after_s=settings.retry_after_s,
            thread_nice=settings.model_nice,
        )
        batcher.start()
        await asyncio.to_thread(languages.load, settings.model_cache_dir)
        # Kept by ``python -m app prepare``: read in milliseconds; else read behind start-up.
        await asyncio.to_thread(spelling.load_behind, settings.model_cache_dir)
        words = await _word_vectors(settings, encoder)
        registry = PropertyRegistry(pool, url, settings.registry_refresh_s)
        await registry.start()
        warm, warming = start_warming(
            pool, registry.snapshot().values(), settings.search_warm_budget_s, reading.KEY
        )
        cache: AnswerCache[CacheKey, AskResult] = AnswerCache(
            settings.cache_max_entries,
            settings.cache_ttl_s,
            should_store=is_storable,
            max_bytes=settings.cache_max_bytes,
            sizeof=result_bytes,
        )
        # The desk's classifier and the retriever embed the same text: once, through this.
        questions = RecentVectors(batcher.embed)
        retriever = Retriever(
            pool,
            settings.exact_search_max_chunks,
            search_options(settings),
            build_reranker(settings.reranker),
            embedder=questions,
            acquire_timeout_s=settings.db_acquire_timeout_s,
            ef_search_by_size=settings.hnsw_ef_search_by_size,
            text_stopwords=stopwords,
            turns=Turns(min(settings.searches_at_once, pool.get_max_size())),
        )

        async def embed_message(text: str) -> np.ndarray:
            return await questions.embed(retriever.embedding_text(text))

        async with open_writers(settings, words) as writers, contextlib.AsyncExitStack() as stack:
            tasks = None
            if settings.requests_enabled:
                second = None
                if settings.classifier_second_model is not None:
                    # Messages not in English: e5, loaded at the first one, closed last.
                    lazy = multilingual_embedder(settings)
                    stack.push_async_callback(asyncio.to_thread, lazy.close)
                    second = SecondModel(
                        settings.classifier_second_model,
                        lazy.embed,
                        multilingual_seed_cache(settings),
                    )
                tasks = await stack.enter_async_context(
                    open_task_services(
                        settings,
                        pool,
                        url,
                        embed_message,
                        SeedCache(
                            settings.model_cache_dir,
                            vectors_identity(encoder),
                            retriever.embedding_text,
                        ),
                        second,
                    )
                )
            sessions = await stack.enter_async_context(sessions_of(settings, pool))
            shadow = await stack.enter_async_context(
                open_shadow(settings, pool, retriever, encoder.name, questions.embed, words)
            )
            rag = RagService(
                registry,
                retriever,
                writers.writer,
                cache,
                sessions,
                writers.rewriter,
                tasks.desk if tasks is not None else None,
                shadow=shadow,
                facts=FactsStage(pool, clock_from(settings)),
            )
            limits = rate_limits or RateLimits.from_settings(settings)
            yield Services(
                settings,
                pool,
                encoder,
                batcher,
                registry,
                rag,
                head,
                limits,
                metrics,
                tasks,
                warm=warm,
            )
    finally:
        if encoder_task is not None and not encoder_task.done():
            encoder_task.cancel()
        if warming is not None and not warming.done():
            warming.cancel()
            await finish_within(warming, CLOSE_S, "search warm-up")
        if registry is not None:
            await finish_within(
                asyncio.ensure_future(registry.close()), CLOSE_S, "property registry"
            )
        if batcher is not None:
            await asyncio.to_thread(batcher.close)
        if encoder_task is not None:  # the encoder loaded here (a given one is its owner's)
            await asyncio.to_thread(close_encoder, encoder)
        # A graceful close waits for the server to say goodbye on every connection (and for
        # any still in use to be released): a frozen database would make it wait forever.
        try:
            await asyncio.wait_for(pool.close(), timeout=10)
        except TimeoutError:
            pool.terminate()


async def finish_within(task: asyncio.Future[Any], seconds: float, what: str) -> None:
    """Wait up to ``seconds`` for ``task`` to end, logging how it ended unless cleanly (its
    cancel included); after that it is left behind, with a warning."""
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        log.warning("%s did not end within %.0f s of shutdown; left behind", what, seconds)
        return
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:  # e.g. a warm-up cancelled mid-statement; the pool is closed next
        log.info("%s ended at shutdown: %s", what, exc)


@asynccontextmanager
async def sessions_of(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[SessionStore]:
    """The configured follow-up session store; the PostgreSQL one sweeps while open."""
    if settings.session_store == "memory":
        yield MemorySessionStore(
            settings.session_max, settings.session_turns, settings.session_ttl_s
        )
        return
    store = PostgresSessionStore(
        pool, settings.session_max, settings.session_turns, settings.session_ttl_s
    )
    store.start()
    try:
        yield store
    finally:
        await store.close()


async def _word_vectors(settings: Settings, encoder: Encoder) -> meanings.WordVectors | None:
    """The model's word vectors for the answer writer, when wanted and computed ahead
    (``python -m app prepare``); without them a missing word is never found by its meaning."""
    if settings.answer_meaning_threshold is None:
        return None
    identity = vectors_identity(encoder)
    found = await asyncio.to_thread(meanings.read, settings.model_cache_dir, identity)
    if found is None:
        log.info("no word vectors for %s: run python -m app prepare to compute them", identity)
    return found
