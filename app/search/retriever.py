"""Top-k chunks of one property's live index version by cosine similarity, scoped in SQL.

Small properties use exact search (a btree on the version, then a sort): exact results, and
k rows whenever the property has k chunks. Larger ones use the HNSW index with iterative scans
(set on every pooled connection), which also keeps returning rows until k pass the filter.
Given the question's text, the ``hybrid`` and ``fulltext`` modes fuse that ranking with
full-text search in the same statement (:mod:`app.search.hybrid`); an optional reranker then orders
the candidates (:mod:`app.search.rerank`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import asyncpg
import numpy as np

from app.config import Settings
from app.db.properties import PropertyState
from app.errors import DependencyUnavailable
from app.search import query as query_text
from app.search.hybrid import HYBRID_ANN_SQL, HYBRID_EXACT_SQL, RetrievalMode

if TYPE_CHECKING:
    from app.search.rerank import Reranker

# ``+ 0`` keeps the planner from walking the HNSW index: the sort is over the filtered rows only.
# The k nearest are picked from chunks alone; only those k are joined to their documents.
_EXACT_SQL = """
SELECT c.id, d.doc_key, d.title, c.heading, c.text, 1 - c.distance AS score,
       coalesce(d.metadata->>'kind', '') AS kind
FROM (
    SELECT id, document_id, heading, text, embedding <=> $2 AS distance
    FROM chunks
    WHERE version_id = $1 AND property_id = $4
    ORDER BY (embedding <=> $2) + 0
    LIMIT $3
) c JOIN documents d ON d.id = c.document_id
ORDER BY c.distance
"""

# relaxed_order iterative scans may return rows slightly out of order: sort the k rows again.
_ANN_SQL = """
SELECT c.id, d.doc_key, d.title, c.heading, c.text, 1 - c.distance AS score,
       coalesce(d.metadata->>'kind', '') AS kind
FROM (
    SELECT id, document_id, heading, text, embedding <=> $2 AS distance
    FROM chunks
    WHERE version_id = $1 AND property_id = $4
    ORDER BY embedding <=> $2
    LIMIT $3
) c JOIN documents d ON d.id = c.document_id
ORDER BY c.distance
"""

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


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved chunk with its document."""

    chunk_id: int
    document_id: str
    title: str
    heading: str
    text: str
    score: float
    # The document's kind (faq, policy, menu, hours, review, other); "" when unknown.
    kind: str = ""


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """How chunks are ranked (see :mod:`app.search.hybrid`); defaults are the best measured."""

    mode: RetrievalMode = "hybrid"
    rrf_k: int = 60
    depth: int = 40
    pool: int = 100
    vector_weight: float = 1.0
    text_weight: float = 0.5
    synonyms: bool = True
    rewrite: bool = True
    rerank_depth: int = 20
    # Hotel words in German, French and Spanish put in English (for the English-only model).
    glossary: bool = True
    # The full-text half's weight for a question in another language than English (the
    # ``tsv`` column is English); None: ``text_weight``.
    other_language_text_weight: float | None = None

    def for_language(self, language: str | None) -> SearchOptions:
        """The options for a question in ``language`` (None or "en": these)."""
        if language in (None, "en") or self.other_language_text_weight is None:
            return self
        return replace(self, text_weight=self.other_language_text_weight)


def embedding_text(options: SearchOptions, question: str) -> str:
    """The text embedded for ``question`` under ``options``."""
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
    """Runs the property-scoped similarity (or hybrid) query on the shared pool."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        exact_max_chunks: int,
        options: SearchOptions | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self._pool = pool
        self._exact_max_chunks = exact_max_chunks
        self.options = options or SearchOptions()
        self.reranker = reranker

    def uses_exact(self, prop: PropertyState) -> bool:
        return prop.chunk_count <= self._exact_max_chunks

    def embedding_text(self, question: str) -> str:
        """The text to embed for ``question`` (spelling variants unified when enabled)."""
        return embedding_text(self.options, question)

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
        if question is None or options.mode == "vector":
            sql = _EXACT_SQL if self.uses_exact(prop) else _ANN_SQL
            args: tuple[object, ...] = (prop.version_id, vector, fetch, prop.id)
        else:
            sql = HYBRID_EXACT_SQL if self.uses_exact(prop) else HYBRID_ANN_SQL
            vector_weight = 0.0 if options.mode == "fulltext" else options.vector_weight
            args = (
                prop.version_id,
                vector,
                fetch,
                prop.id,
                max(fetch, options.depth),
                options.rrf_k,
                vector_weight,
                options.text_weight,
                query_text.term_queries(
                    question, options.synonyms, options.rewrite, options.glossary
                ),
                max(fetch, options.depth, options.pool),
            )
        try:
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(sql, *args)
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
            )
            for r in rows
        ]
        if self.reranker is not None and question:
            hits = (await self.reranker.rerank(question, hits))[:k]
        return hits
