"""Writes again what the answer writer reads from each chunk (``chunks.derived``), for chunks
written before the column existed or by other code (see ``app/reading.py``).

Such chunks are answered all the same, their text read at each question; this only makes them
as cheap to answer as chunks written now. Each updated row is a new row version, which every
index of the chunks takes in (the HNSW graph too): about as slow per chunk as ingestion. The old
versions stay in the graph, where searches step over them, until ``settle`` vacuums the table.
"""

from __future__ import annotations

from collections.abc import Callable

from app import reading
from app.db.pool import Connection
from app.reading import derived_form

# Chunks to fill, after ``$2`` (by id), in the property ``$3`` or all (NULL).
_STALE_SQL = """
SELECT c.id, c.property_id, d.title, c.heading, c.text
FROM chunks c JOIN documents d ON d.id = c.document_id
WHERE c.id > $2 AND ($3::text IS NULL OR c.property_id = $3)
  AND {unread}
ORDER BY c.id
LIMIT $4
""".format(unread=reading.unread_sql("c.derived", "$1"))
_UPDATE_SQL = """
UPDATE chunks c SET derived = u.derived
FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u (id, property_id, derived)
WHERE c.id = u.id AND c.property_id = u.property_id
"""


async def fill(
    conn: Connection,
    property_id: str | None = None,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Writes the kept form of every chunk (of ``property_id``, or all) that has none written
    by this code, ``batch`` chunks per transaction; returns how many were written."""
    written, after = 0, 0
    while True:
        rows = await conn.fetch(_STALE_SQL, reading.KEY, after, property_id, batch)
        if not rows:
            return written
        forms = [derived_form(r["title"], r["heading"], r["text"]) for r in rows]
        async with conn.transaction():
            await conn.execute(
                _UPDATE_SQL, [r["id"] for r in rows], [r["property_id"] for r in rows], forms
            )
        written += len(rows)
        after = rows[-1]["id"]
        if progress is not None:
            progress(written)


async def settle(conn: Connection, property_id: str | None = None) -> None:
    """Vacuums the chunks of ``property_id`` (its partition), or all: the row versions
    ``fill`` replaced leave the HNSW graphs, which are mended around them. Outside a
    transaction."""
    table = "chunks"
    if property_id is not None:
        # The partition's name as an identifier (quoted where needed); None: it has none.
        table = await conn.fetchval("SELECT to_regclass(chunk_partition($1))::text", property_id)
        if table is None:
            return
    await conn.execute(f"VACUUM (ANALYZE) {table}")
