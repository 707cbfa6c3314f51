"""Top-k chunks of one property's live index version by cosine similarity, scoped in SQL.

Small properties use exact search (a btree on the version, then a sort): exact results, and
k rows whenever the property has k chunks. Larger ones use the HNSW index with iterative scans
(set on every pooled connection), which also keeps returning rows until k pass the filter.
Given the question's text, the ``hybrid`` and ``fulltext`` modes fuse that ranking with
full-text search in the same statement (:mod:`app.search.hybrid`); an optional reranker then orders
the candidates (:mod:`app.search.rerank`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import asyncpg
import numpy as np

from app.config import Settings
from app.db.pool import use_ef_search
from app.db.properties import PropertyState
from app.db.turns import Turns
from app.errors import DependencyUnavailable
from app.search import query as query_text
from app.search.hybrid import hybrid_sql
from app.search.types import Hit, QueryEmbedder, Retrieval, SearchOptions

if TYPE_CHECKING:
    from app.search.rerank import Reranker

# The k nearest are picked from chunks alone; only those k are joined to their documents, and
# sorted again (relaxed_order iterative scans may return rows slightly out of order).
# Parameters: $1 version, $2 query vector, $3 property; ``k`` is written into the statement, so
# that its generic plan costs what a plan for each call does and is the one kept (as in
# :mod:`app.search.hybrid`).
_NEAREST_TEMPLATE = """
SELECT c.id, d.doc_key, d.title, c.heading, c.text, 1 - c.distance AS score,
       coalesce(d.metadata->>'kind', '') AS kind, c.derived
FROM (
    SELECT id, document_id, heading, text, derived, embedding <=> $2 AS distance
    FROM {table}
    WHERE version_id = $1 AND property_id = $3
    ORDER BY {order}
    LIMIT {k}
) c JOIN documents d ON d.id = c.document_id
ORDER BY c.distance
"""
# ``+ 0`` keeps the planner from walking the HNSW index: the sort is over the filtered rows only.


@functools.lru_cache(maxsize=4096)
def nearest_sql(exact: bool, table: str, k: int) -> str:
    """The k-nearest statement reading ``table`` (a quoted identifier), as :func:`hybrid_sql`."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    order = "(embedding <=> $2) + 0" if exact else "embedding <=> $2"
    return _NEAREST_TEMPLATE.format(order=order, table=table, k=int(k))


def _table(prop: PropertyState) -> str:
    """The property's partition, quoted; ``chunks`` while it is not known."""
    if prop.partition is None:
        return "chunks"
    return '"' + prop.partition.strip('"').replace('"', '""') + '"'


CONNECTION_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    # What the driver raises when it resets, on release, a connection the server dropped
    # in the middle of a query (the original error is its context).
    asyncpg.InternalClientError,
)


def embedding_text(options: SearchOptions, question: str, language: str | None = None) -> str:
    """The text embedded for ``question`` (in ``language``, where known) under ``options``."""
    options = options.for_language(language)
    return query_text.rewrite(question, options.glossary) if options.rewrite else question


def search_options(settings: Settings) -> SearchOptions:
    """The configured ranking options."""
    return SearchOptions(
        mode=settings.retrieval_mode,
        rrf_k=settings.rrf_k,
        depth=settings.hybrid_depth,
        pool=settings.hybrid_pool,
        vector_weight=settings.hybrid_vector_weight,
        text_weight=settings.hybrid_text_weight,
        synonyms=settings.query_synonyms,
        rewrite=settings.query_rewrite,
        rerank_depth=settings.rerank_depth,
        glossary=settings.glossary,
        other_language_text_weight=settings.other_language_text_weight,
    )


class Retriever:
    """Finds a question's chunks: embeds it, then runs the property-scoped similarity (or
    hybrid) query on the shared pool. ``embedder`` is needed by :meth:`retrieve` only."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        exact_max_chunks: int,
        options: SearchOptions | None = None,
        reranker: Reranker | None = None,
        embedder: QueryEmbedder | None = None,
        acquire_timeout_s: float | None = None,
        ef_search_by_size: dict[int, int] | None = None,
        text_stopwords: frozenset[str] = frozenset(),
        turns: Turns | None = None,
    ) -> None:
        self._pool = pool
        # Searches at once, the longest-waiting request first (None: as the pool hands out
        # its connections).
        self.turns = turns
        # A wait for a busy pool's connection ends here too, not only at the request deadline:
        # while the database is frozen, a guest gets a 503 within this plus one statement.
        self._acquire_timeout_s = acquire_timeout_s
        self._exact_max_chunks = exact_max_chunks
        # (from chunks, ef_search), largest first: the first a partition reaches applies.
        self._ef_steps = sorted((ef_search_by_size or {}).items(), reverse=True)
        self.options = options or SearchOptions()
        # Words the text-search configuration drops: not sent (see hybrid.text_stopwords).
        self.text_stopwords = text_stopwords
        self.reranker = reranker
        self._embedder = embedder

    def uses_exact(self, prop: PropertyState) -> bool:
        return prop.chunk_count <= self._exact_max_chunks

    def ef_search(self, prop: PropertyState) -> int | None:
        """The ``hnsw.ef_search`` a search of ``prop`` sets; None: the connection's own."""
        if self.uses_exact(prop):
            return None
        return next((ef for size, ef in self._ef_steps if prop.chunk_count >= size), None)

    def embedding_text(self, question: str, language: str | None = None) -> str:
        """The text to embed for ``question`` (spelling variants unified when enabled)."""
        return embedding_text(self.options, question, language)

    async def retrieve(
        self, prop: PropertyState, question: str, k: int, language: str | None = None
    ) -> Retrieval:
        """The ``k`` best chunks of the property's live version for ``question``, timed.

        ``language`` is the question's, where known (it weighs the full-text half)."""
        if self._embedder is None:
            raise RuntimeError("this retriever was built without an embedder")
        t0 = time.perf_counter()
        vector = await self._embedder.embed(self.embedding_text(question, language))
        t1 = time.perf_counter()
        hits = await self.search(prop, vector, k, question=question, language=language)
        t2 = time.perf_counter()
        return Retrieval(hits, (t1 - t0) * 1000, (t2 - t1) * 1000)

    async def search(
        self,
        prop: PropertyState,
        vector: np.ndarray,
        k: int,
        question: str | None = None,
        language: str | None = None,
    ) -> list[Hit]:
        """The ``k`` best chunks of the property's live version.

        Without ``question`` (or in ``vector`` mode) they are the ``k`` closest to ``vector``;
        with it, the configured mode ranks them and the reranker, if any, orders them.
        ``language`` is the question's, where known (it weighs the full-text half).
        """
        if prop.version_id is None or prop.chunk_count == 0:
            return []
        options = self.options.for_language(language)
        fetch = max(k, options.rerank_depth) if self.reranker and question else k
        exact = self.uses_exact(prop)
        table = _table(prop)
        if question is None or options.mode == "vector":

            def statement(table: str) -> str:
                return nearest_sql(exact, table, fetch)

            args: tuple[object, ...] = (prop.version_id, vector, prop.id)
        else:
            depth = max(fetch, options.depth)
            pool = max(depth, options.pool)

            def statement(table: str) -> str:
                return hybrid_sql(exact, table, fetch, depth, pool)

            vector_weight = 0.0 if options.mode == "fulltext" else options.vector_weight
            args = (
                prop.version_id,
                vector,
                prop.id,
                options.rrf_k,
                vector_weight,
                options.text_weight,
                query_text.term_queries(
                    question,
                    options.synonyms,
                    options.rewrite,
                    options.glossary,
                    self.text_stopwords,
                ),
            )
        ef_search = self.ef_search(prop)
        try:
            limit = self._acquire_timeout_s
            if self.turns is None:
                rows = await self._fetch(statement, table, args, ef_search, limit)
            else:
                # The wait for a turn and for a connection share the acquire timeout.
                began = time.monotonic()
                async with self.turns.take(limit):
                    if limit is not None:
                        limit = max(0.001, limit - (time.monotonic() - began))
                    rows = await self._fetch(statement, table, args, ef_search, limit)
        except CONNECTION_ERRORS as exc:
            raise DependencyUnavailable("the knowledge base is unavailable right now") from exc
        hits = [
            Hit(
                r["id"],
                r["doc_key"],
                r["title"],
                r["heading"],
                r["text"],
                float(r["score"]),
                r["kind"],
                r["derived"],
            )
            for r in rows
        ]
        if self.reranker is not None and question:
            hits = (await self.reranker.rerank(question, hits))[:k]
        return hits

    async def _fetch(
        self,
        statement: Callable[[str], str],
        table: str,
        args: tuple[object, ...],
        ef_search: int | None,
        acquire_timeout_s: float | None,
    ) -> list[asyncpg.Record]:
        async with self._pool.acquire(timeout=acquire_timeout_s) as conn:
            # A statement only when this connection was last set to another value.
            await use_ef_search(conn, ef_search)
            try:
                return await conn.fetch(statement(table), *args)
            except asyncpg.UndefinedTableError:
                # The partition went away since the registry read its name: the parent table
                # finds the property's chunks wherever they now are.
                return await conn.fetch(statement("chunks"), *args)
