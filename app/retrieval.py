"""Top-k chunks of one property's live index version by cosine similarity, scoped in SQL.

Small properties use exact search (a btree on the version, then a sort): exact results, and
k rows whenever the property has k chunks. Larger ones use the HNSW index with iterative scans
(set on every pooled connection), which also keeps returning rows until k pass the filter.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import numpy as np

from app.errors import DependencyUnavailable
from app.properties import PropertyState

# ``+ 0`` keeps the planner from walking the HNSW index: the sort is over the filtered rows only.
# The k nearest are picked from chunks alone; only those k are joined to their documents.
_EXACT_SQL = """
SELECT c.id, d.doc_key, d.title, c.heading, c.text, 1 - c.distance AS score
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
SELECT c.id, d.doc_key, d.title, c.heading, c.text, 1 - c.distance AS score
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
    asyncpg.TooManyConnectionsError,
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


class Retriever:
    """Runs the property-scoped similarity query on the shared pool."""

    def __init__(self, pool: asyncpg.Pool, exact_max_chunks: int) -> None:
        self._pool = pool
        self._exact_max_chunks = exact_max_chunks

    def uses_exact(self, prop: PropertyState) -> bool:
        return prop.chunk_count <= self._exact_max_chunks

    async def search(self, prop: PropertyState, vector: np.ndarray, k: int) -> list[Hit]:
        """The ``k`` chunks of the property's live version closest to ``vector``."""
        if prop.version_id is None or prop.chunk_count == 0:
            return []
        sql = _EXACT_SQL if self.uses_exact(prop) else _ANN_SQL
        try:
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(sql, prop.version_id, vector, k, prop.id)
        except CONNECTION_ERRORS as exc:
            raise DependencyUnavailable("the knowledge base is unavailable right now") from exc
        return [
            Hit(r["id"], r["doc_key"], r["title"], r["heading"], r["text"], float(r["score"]))
            for r in rows
        ]
