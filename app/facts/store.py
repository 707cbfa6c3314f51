"""Facts rows in PostgreSQL: opening hours and dishes extracted from the live version's chunks
at ingestion (and again when a re-index changes the chunks), hours listed and corrected by
staff, a property's time zone and locale.

A row is keyed by its document, facility and the hash of the sentence it came from. Ingesting
a document again keeps the rows whose sentence is unchanged (and their corrections), updates
their chunk link, and replaces the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.db.pool import Connection
from app.errors import InvalidRequest, NotFound
from app.facts import menu_store
from app.facts.clock import check_locale, time_zone
from app.facts.extract import HoursRow, extract_hours
from app.facts.hours import OpeningHours, parse_canonical
from app.facts.menu import Dish, document_dishes


@dataclass(frozen=True, slots=True)
class StoredHours:
    """One facility's hours as staff see them: the extracted form and any correction."""

    id: int
    doc_key: str
    chunk_hash: str
    facility: str
    extracted: str
    corrected: str | None
    corrected_by: str | None
    corrected_at: datetime | None
    source_text: str

    @property
    def hours(self) -> str:
        """What answers use: the correction when there is one."""
        return self.corrected if self.corrected is not None else self.extracted

    def parsed(self) -> OpeningHours:
        return parse_canonical(self.hours)

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "facility": self.facility,
            "hours": self.hours,
            "extracted": self.extracted,
            "corrected": self.corrected,
            "corrected_by": self.corrected_by,
            "corrected_at": self.corrected_at.isoformat() if self.corrected_at else None,
            "doc_key": self.doc_key,
            "source_text": self.source_text,
        }


_COLUMNS = (
    "id, doc_key, chunk_hash, facility, hours, corrected, corrected_by, corrected_at, source_text"
)


def _row(r: asyncpg.Record) -> StoredHours:
    return StoredHours(
        r["id"], r["doc_key"], r["chunk_hash"], r["facility"], r["hours"], r["corrected"],
        r["corrected_by"], r["corrected_at"], r["source_text"],
    )  # fmt: skip


async def sync_document(
    conn: Connection, property_id: str, doc_key: str, rows: Sequence[HoursRow]
) -> None:
    """Make the document's rows match ``rows``, keeping corrections of unchanged sentences."""
    unique = {(r.facility, r.source_hash): r for r in rows}
    await conn.execute(
        """
        DELETE FROM facility_hours WHERE property_id = $1 AND doc_key = $2
          AND (facility, source_hash) NOT IN (SELECT * FROM unnest($3::text[], $4::text[]))
        """,
        property_id,
        doc_key,
        [f for f, _ in unique],
        [h for _, h in unique],
    )
    if not unique:
        return
    await conn.execute(
        """
        INSERT INTO facility_hours
            (property_id, doc_key, chunk_hash, facility, hours, source_text, source_hash)
        SELECT $1, $2, c, f, h, t, s
        FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS u(c, f, h, t, s)
        ON CONFLICT (property_id, doc_key, facility, source_hash) DO UPDATE
            SET chunk_hash = EXCLUDED.chunk_hash, hours = EXCLUDED.hours, updated_at = now()
        """,
        property_id,
        doc_key,
        [r.chunk_hash for r in unique.values()],
        [r.facility for r in unique.values()],
        [r.hours for r in unique.values()],
        [r.source_text for r in unique.values()],
        [h for _, h in unique],
    )


async def delete_documents(conn: Connection, property_id: str, keys: Sequence[str]) -> None:
    """Forget the hours and dishes of documents that were removed."""
    for table in ("facility_hours", "dishes"):
        await conn.execute(
            f"DELETE FROM {table} WHERE property_id = $1 AND doc_key = ANY($2::text[])",
            property_id,
            list(keys),
        )


async def list_hours(conn: Connection, property_id: str) -> list[StoredHours]:
    """Every facility's hours of a property, by facility name."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM facility_hours WHERE property_id = $1 ORDER BY facility, id",
        property_id,
    )
    return [_row(r) for r in rows]


async def correct(
    conn: Connection, property_id: str, row_id: int, hours: str | None, actor: str
) -> StoredHours:
    """Set (or with None, clear) a row's correction; ``hours`` is in the canonical form."""
    if hours is not None:
        try:
            hours = parse_canonical(hours).render()
        except ValueError as exc:
            raise InvalidRequest(f"hours: {exc}") from None
    row = await conn.fetchrow(
        f"""
        UPDATE facility_hours SET corrected = $3,
            corrected_by = CASE WHEN $3::text IS NULL THEN NULL ELSE $4 END,
            corrected_at = CASE WHEN $3::text IS NULL THEN NULL ELSE now() END
        WHERE property_id = $1 AND id = $2 RETURNING {_COLUMNS}
        """,
        property_id,
        row_id,
        hours,
        actor,
    )
    if row is None:
        raise NotFound(f"no hours row {row_id} in property {property_id!r}")
    return _row(row)


async def set_clock(
    conn: Connection, property_id: str, timezone: str, locale: str | None
) -> asyncpg.Record | None:
    """Set the property's time zone and, when given, its locale (both checked first: a bad one
    is an :class:`InvalidRequest`); returns both as stored, None for an unknown property."""
    time_zone(timezone)
    if locale is not None:
        check_locale(locale)
    return await conn.fetchrow(
        "UPDATE properties SET timezone = $2, locale = coalesce($3, locale) WHERE id = $1 "
        "RETURNING timezone, locale",
        property_id,
        timezone,
        locale,
    )


async def sync_facts(
    conn: Connection, property_id: str, doc_key: str, chunks: Sequence[tuple[str, str, str]]
) -> None:
    """Extract a live document's opening hours and dishes from its ``(heading, text,
    content_hash)`` chunks, keeping the corrections of unchanged sentences.

    Only live chunks are read: a version being built (or kept as a candidate) leaves the facts,
    which guests' answers cite from the live version, as they are.
    """
    # Reading a large document's facts takes a while: off the event loop guests share.
    hours, dishes = await asyncio.to_thread(read_facts, chunks)
    await sync_document(conn, property_id, doc_key, hours)
    await menu_store.sync_document(conn, property_id, doc_key, dishes)


def read_facts(
    chunks: Sequence[tuple[str, str, str]],
) -> tuple[list[HoursRow], list[tuple[Dish, str]]]:
    """The opening hours and dishes of a document's ``(heading, text, content_hash)`` chunks."""
    return extract_hours(chunks), document_dishes(chunks)


async def sync_rechunked_facts(conn: Connection, property_id: str, old: int, new: int) -> int:
    """When ``new`` replaces ``old`` as the live version, extract the facts again of the
    documents whose chunks differ (a new chunk size or tokenizer); returns how many."""
    rows = await conn.fetch(
        """
        SELECT d.doc_key, array_agg(c.heading ORDER BY c.ord) AS headings,
               array_agg(c.text ORDER BY c.ord) AS texts,
               array_agg(c.content_hash ORDER BY c.ord) AS hashes
        FROM documents d JOIN chunks c ON c.document_id = d.id
        WHERE d.version_id = $2
        GROUP BY d.id, d.doc_key
        HAVING array_agg(c.content_hash ORDER BY c.ord) IS DISTINCT FROM (
            SELECT array_agg(o.content_hash ORDER BY o.ord)
            FROM documents od JOIN chunks o ON o.document_id = od.id
            WHERE od.version_id = $1 AND od.doc_key = d.doc_key)
        """,
        old,
        new,
    )
    for r in rows:
        chunks = list(zip(r["headings"], r["texts"], r["hashes"], strict=True))
        await sync_facts(conn, property_id, r["doc_key"], chunks)
    return len(rows)
