"""Dishes in PostgreSQL: replaced per document at ingestion, read per property to answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.db.pool import Connection
from app.facts.menu import Dish


@dataclass(frozen=True, slots=True)
class StoredDish:
    """A dish with the document and chunk it was read from."""

    dish: Dish
    doc_key: str
    chunk_hash: str


async def sync_document(
    conn: Connection,
    property_id: str,
    doc_key: str,
    dishes: Sequence[tuple[Dish, str]],
) -> None:
    """Replace a document's dishes (each paired with its chunk's content hash)."""
    await conn.execute(
        "DELETE FROM dishes WHERE property_id = $1 AND doc_key = $2", property_id, doc_key
    )
    if not dishes:
        return
    await conn.executemany(
        """
        INSERT INTO dishes (property_id, doc_key, chunk_hash, section, name, price_cents,
                            currency, diets, contains, may_contain, source_text)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        """,
        [
            (property_id, doc_key, chunk, d.section, d.name, d.price_cents, d.currency,
             list(d.diets), list(d.contains), list(d.may_contain), d.source_text)
            for d, chunk in dishes
        ],
    )  # fmt: skip


async def list_dishes(conn: Connection, property_id: str) -> list[StoredDish]:
    rows = await conn.fetch(
        "SELECT * FROM dishes WHERE property_id = $1 ORDER BY doc_key, id", property_id
    )
    return [
        StoredDish(
            Dish(r["name"], r["section"], r["price_cents"], r["currency"], _unit(r["source_text"]),
                 tuple(r["diets"]), tuple(r["contains"]), tuple(r["may_contain"]),
                 r["source_text"]),
            r["doc_key"],
            r["chunk_hash"],
        )
        for r in rows
    ]  # fmt: skip


def _unit(source: str) -> str:
    lowered = source.lower()
    for unit in ("per person", "per adult", "per child", "per piece", "per portion"):
        if unit in lowered:
            return unit
    return ""
