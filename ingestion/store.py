"""The index's rows: properties, index versions' documents and their chunks.

Every statement the admin API and the staff command share lives here (live version, listing
and deleting documents, properties). Each write batch is one transaction that locks the
property row, so two writers of the same property run one after the other, and guests see
either all of a batch or none of it. Chunk rows are streamed with COPY. Changes to the live
content are announced on the registry's NOTIFY channel, delivered when the transaction commits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import numpy as np

from app.db.pool import Connection
from app.db.properties import CHANNEL
from app.errors import Conflict, PropertyNotFound
from app.facts import store as facts_store
from app.reading import derived_form
from ingestion.chunking import Chunk
from ingestion.documents import Document

CHUNK_COLUMNS = (
    "document_id",
    "property_id",
    "version_id",
    "ord",
    "heading",
    "text",
    "content_hash",
    "embedding",
    "derived",
)


class IndexMismatch(Conflict):
    """The live index was built by another model than the one loaded: re-index first."""

    code = "index_mismatch"


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One index version and the settings that built it."""

    id: int
    model: str
    dim: int
    chunking: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A document as indexed: its hash decides whether it changed."""

    doc_key: str
    content_hash: str
    source: str | None


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A document chunked and embedded, ready to be written to one version."""

    document: Document
    content_hash: str
    chunks: Sequence[Chunk]
    vectors: np.ndarray


async def ensure_property(conn: Connection, property_id: str, name: str | None) -> bool:
    """Create the property (named ``name`` or its id) or rename it; True when it was created."""
    created = await conn.fetchval(
        """
        INSERT INTO properties (id, name) VALUES ($1, coalesce($2, $1))
        ON CONFLICT (id) DO UPDATE
            SET name = coalesce($2, properties.name),
                updated_at = CASE WHEN $2 IS NULL THEN properties.updated_at ELSE now() END
        RETURNING (xmax = 0)
        """,
        property_id,
        name,
    )
    return bool(created)


async def live_version(conn: Connection, property_id: str) -> VersionInfo | None:
    """The property's live version with its model and chunking settings (None if empty)."""
    row = await conn.fetchrow(
        """
        SELECT v.id, v.model, v.dim, v.chunking FROM properties p
        JOIN index_versions v ON v.id = p.live_version WHERE p.id = $1
        """,
        property_id,
    )
    return _version(row) if row is not None else None


def _version(row: asyncpg.Record) -> VersionInfo:
    chunking = row["chunking"]
    if isinstance(chunking, str):
        chunking = json.loads(chunking)
    return VersionInfo(int(row["id"]), row["model"], int(row["dim"]), dict(chunking))


async def lock_live_version(
    conn: Connection, property_id: str, model: str, dim: int, chunking: dict[str, object]
) -> int:
    """Lock the property row and return its live version, creating the first one if needed.

    Refuses to mix vectors of two models in one version.
    """
    live = await live_version_id(conn, property_id, lock=True)
    if live is not None:
        row = await conn.fetchrow("SELECT model, dim FROM index_versions WHERE id = $1", live)
        if row is not None and (row["model"], row["dim"]) != (model, dim):
            raise IndexMismatch(
                f"{property_id}'s live index was built with {row['model']} ({row['dim']}-d), "
                f"not {model} ({dim}-d): re-index the property with the new model first"
            )
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


async def stored_documents(conn: Connection, version_id: int) -> dict[str, StoredDocument]:
    """Every document of a version by id, with its content hash and source."""
    rows = await conn.fetch(
        "SELECT doc_key, content_hash, source FROM documents WHERE version_id = $1", version_id
    )
    return {
        r["doc_key"]: StoredDocument(r["doc_key"], r["content_hash"], r["source"]) for r in rows
    }


async def document_hashes(conn: Connection, property_id: str) -> dict[str, str]:
    """Content hash of every document in the property's live version."""
    live = await live_version(conn, property_id)
    if live is None:
        return {}
    return {k: d.content_hash for k, d in (await stored_documents(conn, live.id)).items()}


async def reusable_embeddings(
    conn: Connection, property_id: str, model: str, dim: int, hashes: Iterable[str]
) -> dict[str, np.ndarray]:
    """Stored vectors of chunks with these content hashes, embedded by the same model."""
    wanted = sorted(set(hashes))
    if not wanted:
        return {}
    rows = await conn.fetch(
        """
        SELECT DISTINCT ON (c.content_hash) c.content_hash, c.embedding
        FROM chunks c JOIN index_versions v ON v.id = c.version_id
        WHERE c.property_id = $1 AND c.content_hash = ANY($2::text[])
          AND v.model = $3 AND v.dim = $4
        """,
        property_id,
        wanted,
        model,
        dim,
    )
    return {r["content_hash"]: _as_array(r["embedding"]) for r in rows}


def _as_array(value: Any) -> np.ndarray:
    # pgvector's codec returns a Vector object (or an array, depending on its version).
    to_numpy = getattr(value, "to_numpy", None)
    return np.asarray(to_numpy() if to_numpy is not None else value, dtype=np.float32)


async def write_documents(
    conn: Connection,
    property_id: str,
    version_id: int,
    prepared: Sequence[PreparedDocument],
) -> int:
    """Put each document in the version in place of any with the same id; returns chunk rows."""
    if not prepared:
        return 0
    await delete_documents(conn, version_id, [p.document.doc_key for p in prepared])
    rows = await conn.fetch(
        """
        INSERT INTO documents
            (property_id, version_id, doc_key, title, source, metadata, content_hash, body)
        SELECT $1, $2, k, t, s, m::jsonb, h, b
        FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
             AS u(k, t, s, m, h, b)
        RETURNING id, doc_key
        """,
        property_id,
        version_id,
        [p.document.doc_key for p in prepared],
        [p.document.title for p in prepared],
        [p.document.source for p in prepared],
        [json.dumps(p.document.metadata) for p in prepared],
        [p.content_hash for p in prepared],
        [p.document.text for p in prepared],
    )
    ids = {r["doc_key"]: r["id"] for r in rows}
    records = [
        (ids[p.document.doc_key], property_id, version_id, c.ord, c.heading, c.text,
         c.content_hash, v, derived_form(p.document.title, c.heading, c.text))
        for p in prepared
        for c, v in zip(p.chunks, p.vectors, strict=True)
    ]  # fmt: skip
    await conn.copy_records_to_table("chunks", records=records, columns=CHUNK_COLUMNS)
    return len(records)


async def delete_documents(conn: Connection, version_id: int, keys: Sequence[str]) -> int:
    """Remove documents (and, by cascade, their chunks) from a version; returns how many."""
    if not keys:
        return 0
    deleted = await conn.fetchval(
        "WITH d AS (DELETE FROM documents WHERE version_id = $1 AND doc_key = ANY($2::text[]) "
        "RETURNING 1) SELECT count(*) FROM d",
        version_id,
        list(keys),
    )
    return int(deleted)


async def announce_change(conn: Connection, property_id: str) -> int:
    """Bump the property's content revision and notify listeners (delivered at commit)."""
    revision = await conn.fetchval(
        "UPDATE properties SET revision = revision + 1, updated_at = now() WHERE id = $1 "
        "RETURNING revision",
        property_id,
    )
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, property_id)
    return int(revision)


@dataclass(frozen=True, slots=True)
class PropertyRow:
    """A property and where its index stands."""

    id: str
    name: str
    live_version: int | None
    revision: int


@dataclass(frozen=True, slots=True)
class ListedDocument:
    """A document of the live version, as operators see it."""

    doc_key: str
    title: str
    source: str | None
    content_hash: str
    updated_at: datetime
    chunks: int


@dataclass(frozen=True, slots=True)
class Deletion:
    """What deleting documents from a property's live version found and did."""

    version_id: int | None
    found: list[str]
    missing: list[str]
    deleted: int
    revision: int | None  # the property's new revision, when something was deleted


async def properties(conn: Connection, property_id: str | None = None) -> list[PropertyRow]:
    """Every property (or the one named), by id."""
    rows = await conn.fetch(
        "SELECT id, name, live_version, revision FROM properties "
        "WHERE $1::text IS NULL OR id = $1 ORDER BY id",
        property_id,
    )
    return [PropertyRow(r["id"], r["name"], r["live_version"], r["revision"]) for r in rows]


async def has_properties(conn: Connection) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM properties)"))


async def live_version_id(conn: Connection, property_id: str, *, lock: bool = False) -> int | None:
    """The property's live version (None before its first index); ``lock`` takes the property
    row for the rest of the transaction. Raises :class:`PropertyNotFound` for an unknown id.

    Every write to a property's index takes the row this way first, ``FOR NO KEY UPDATE``:
    writers of one property wait for each other, but rows that reference the property (guests'
    follow-up sessions, tasks and signals, queued jobs) do not wait for a writer's transaction,
    as their foreign-key checks take the row ``FOR KEY SHARE``, which ``FOR UPDATE`` blocks.
    """
    sql = "SELECT true, live_version FROM properties WHERE id = $1"
    row = await conn.fetchrow(sql + (" FOR NO KEY UPDATE" if lock else ""), property_id)
    if row is None:
        raise PropertyNotFound(f"unknown property {property_id!r}")
    return None if row["live_version"] is None else int(row["live_version"])


async def live_documents(conn: Connection, property_id: str) -> list[ListedDocument]:
    """The documents of the property's live version, by key, with their chunk counts."""
    rows = await conn.fetch(
        """
        SELECT d.doc_key, d.title, d.source, d.content_hash, d.updated_at,
               (SELECT count(*) FROM chunks c
                WHERE c.property_id = d.property_id AND c.document_id = d.id) AS chunks
        FROM documents d JOIN properties p ON p.live_version = d.version_id
        WHERE p.id = $1 ORDER BY d.doc_key
        """,
        property_id,
    )
    return [ListedDocument(**dict(r)) for r in rows]


async def delete_live_documents(
    conn: Connection, property_id: str, keys: Sequence[str], *, dry_run: bool = False
) -> Deletion:
    """Delete documents from the property's live version and announce the change.

    Run it inside a transaction: the property row is locked first (as every index write
    does), so a concurrent ingest or re-index switch cannot interleave. Guests stop seeing the
    documents when the transaction commits.
    """
    live = await live_version_id(conn, property_id, lock=True)
    present = await stored_documents(conn, live) if live is not None else {}
    found = [k for k in keys if k in present]
    missing = [k for k in keys if k not in present]
    if dry_run or live is None or not found:
        return Deletion(live, found, missing, 0, None)
    deleted = await delete_documents(conn, live, found)
    await facts_store.delete_documents(conn, property_id, found)
    revision = await announce_change(conn, property_id) if deleted else None
    return Deletion(live, found, missing, deleted, revision)


async def delete_property(conn: Connection, property_id: str, *, dry_run: bool = False) -> bool:
    """Delete the property with every version (in a transaction); False if there is none."""
    try:
        await live_version_id(conn, property_id, lock=True)
    except PropertyNotFound:
        return False
    if not dry_run:
        await conn.execute("DELETE FROM properties WHERE id = $1", property_id)
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, property_id)
    return True


async def list_properties(conn: Connection) -> list[dict[str, Any]]:
    """Every property with its live version's document and chunk counts."""
    rows = await conn.fetch(
        """
        SELECT p.id AS property_id, p.name, p.live_version, p.revision, p.created_at,
               p.updated_at,
               (SELECT count(*) FROM documents d WHERE d.version_id = p.live_version)
                   AS documents,
               coalesce(v.chunk_count, 0) AS chunks
        FROM properties p LEFT JOIN index_versions v ON v.id = p.live_version
        ORDER BY p.id
        """
    )
    return [
        {
            **dict(r),
            "created_at": r["created_at"].isoformat(),
            "updated_at": r["updated_at"].isoformat(),
        }
        for r in rows
    ]
