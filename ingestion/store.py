"""Writes to the index: properties, the live index version, documents and their chunks.

Each batch is one transaction that locks the property row, so two ingestions of the same
property run one after the other, and guests see either all of a batch or none of it. The
change is announced on the registry's NOTIFY channel when the transaction commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import asyncpg
import numpy as np

from app.properties import CHANNEL
from ingestion.chunking import Chunk
from ingestion.documents import Document

_CHUNK_COLUMNS = (
    "document_id",
    "property_id",
    "version_id",
    "ord",
    "heading",
    "text",
    "content_hash",
    "embedding",
)


async def ensure_property(conn: asyncpg.Connection, property_id: str, name: str | None) -> None:
    """Create the property (named ``name`` or its id) or rename it when a name is given."""
    await conn.execute(
        """
        INSERT INTO properties (id, name) VALUES ($1, coalesce($2, $1))
        ON CONFLICT (id) DO UPDATE
            SET name = coalesce($2, properties.name),
                updated_at = CASE WHEN $2 IS NULL THEN properties.updated_at ELSE now() END
        """,
        property_id,
        name,
    )


async def lock_live_version(
    conn: asyncpg.Connection, property_id: str, model: str, dim: int, chunking: dict[str, object]
) -> int:
    """Lock the property row and return its live version, creating the first one if needed."""
    live = await conn.fetchval(
        "SELECT live_version FROM properties WHERE id = $1 FOR UPDATE", property_id
    )
    if live is not None:
        return int(live)
    version = await conn.fetchval(
        """
        INSERT INTO index_versions (property_id, state, model, dim, chunking, activated_at)
        VALUES ($1, 'live', $2, $3, $4::jsonb, now()) RETURNING id
        """,
        property_id,
        model,
        dim,
        json.dumps(chunking),
    )
    await conn.execute(
        "UPDATE properties SET live_version = $2 WHERE id = $1", property_id, version
    )
    return int(version)


async def document_hashes(conn: asyncpg.Connection, property_id: str) -> dict[str, str]:
    """Content hash of every document in the property's live version."""
    rows = await conn.fetch(
        """
        SELECT d.doc_key, d.content_hash FROM documents d
        JOIN properties p ON p.live_version = d.version_id
        WHERE p.id = $1
        """,
        property_id,
    )
    return {r["doc_key"]: r["content_hash"] for r in rows}


async def replace_document(
    conn: asyncpg.Connection,
    property_id: str,
    version_id: int,
    document: Document,
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
) -> None:
    """Put ``document`` in the version in place of any document with the same id."""
    await conn.execute(
        "DELETE FROM documents WHERE version_id = $1 AND doc_key = $2", version_id, document.doc_key
    )
    document_id = await conn.fetchval(
        """
        INSERT INTO documents
            (property_id, version_id, doc_key, title, source, metadata, content_hash)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) RETURNING id
        """,
        property_id,
        version_id,
        document.doc_key,
        document.title,
        document.source,
        json.dumps(document.metadata),
        document.content_hash,
    )
    records = [
        (document_id, property_id, version_id, c.ord, c.heading, c.text, c.content_hash, v)
        for c, v in zip(chunks, vectors, strict=True)
    ]
    await conn.copy_records_to_table("chunks", records=records, columns=_CHUNK_COLUMNS)


async def announce_change(conn: asyncpg.Connection, property_id: str) -> int:
    """Bump the property's content revision and notify listeners (delivered at commit)."""
    revision = await conn.fetchval(
        "UPDATE properties SET revision = revision + 1, updated_at = now() WHERE id = $1 "
        "RETURNING revision",
        property_id,
    )
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, property_id)
    return int(revision)
