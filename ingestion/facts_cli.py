"""Staff commands for a property's facts: ``hours`` (list and correct opening hours) and
``clock`` (set the time zone and locale the hours are read in)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from app.db.pool import Connection
from app.facts import store as facts_store
from ingestion import store


def add_commands(add: Callable[[str, str, str], argparse.ArgumentParser]) -> None:
    """Register ``hours`` and ``clock`` on the staff command's parser."""
    hours = add(
        "hours",
        "list or correct a property's opening hours",
        "List the opening hours found in a property's documents, per facility. --set ID HOURS "
        "corrects one (canonical form, e.g. 'Mo-Fr 07:00-22:00; Su off'); the correction "
        "holds until the sentence it came from changes. --clear ID removes a correction.",
    )
    hours.add_argument("--property", required=True, help="property id")
    hours.add_argument("--set", nargs=2, metavar=("ID", "HOURS"), help="correct one row")
    hours.add_argument("--clear", type=int, metavar="ID", help="remove a row's correction")
    hours.add_argument("--json", action="store_true", help="machine-readable output")
    clock = add(
        "clock",
        "set a property's time zone and locale",
        "Set the IANA time zone (e.g. Europe/Rome) and locale the property's hours are read in.",
    )
    clock.add_argument("--property", required=True, help="property id")
    clock.add_argument("--timezone", required=True, help="IANA time zone, e.g. Europe/Rome")
    clock.add_argument("--locale", help="language tag, e.g. it or de-AT")


async def run_hours(conn: Connection, args: argparse.Namespace, actor: str) -> int:
    """List, or correct one row and list; 1 when the property is unknown."""
    if not await conn.fetchval("SELECT 1 FROM properties WHERE id = $1", args.property):
        print(f"error: no property {args.property}", file=sys.stderr)
        return 1
    if args.set is not None or args.clear is not None:
        row_id, value = (args.clear, None) if args.clear is not None else args.set
        if not str(row_id).isdigit():
            print(f"error: {row_id!r} is not a row id", file=sys.stderr)
            return 2
        async with conn.transaction():
            row = await facts_store.correct(conn, args.property, int(row_id), value, actor)
            await store.announce_change(conn, args.property)
        print(f"{row.id}: {row.facility}: {row.hours}")
        return 0
    rows = await facts_store.list_hours(conn, args.property)
    if args.json:
        print(json.dumps([r.public() for r in rows], indent=2, ensure_ascii=False))
        return 0
    zone = await conn.fetchval("SELECT timezone FROM properties WHERE id = $1", args.property)
    print(f"{args.property}: {len(rows)} opening hours (time zone {zone})")
    for r in rows:
        mark = f"  (corrected by {r.corrected_by}; extracted {r.extracted})" if r.corrected else ""
        print(f"  {r.id:>5}  {r.facility:<22} {r.hours}{mark}")
        print(f"         from {r.doc_key}: {r.source_text[:100]}")
    return 0


async def set_clock(conn: Connection, property_id: str, timezone: str, locale: str | None) -> bool:
    """Set the time zone (validated) and locale; False when the property is unknown."""
    async with conn.transaction():
        row = await facts_store.set_clock(conn, property_id, timezone, locale)
        if row is not None:
            await store.announce_change(conn, property_id)
    return row is not None
