"""Staff tasks in PostgreSQL: create (one per request and session), list, change status.

Every change is announced with ``pg_notify`` on :data:`CHANNEL` in the same transaction, so
every API process (and so every staff console connected to any of them) hears of it once it
is committed. The payload is small (id, property, event); listeners read the row itself.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from app.db.pool import Connection
from app.errors import Conflict, NotFound

CHANNEL = "concierge_tasks"
# Which status may follow which; done and cancelled are final.
TRANSITIONS = {
    "open": {"acknowledged", "done", "cancelled"},
    "acknowledged": {"done", "cancelled", "open"},
    "done": set(),
    "cancelled": set(),
}
_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

_COLUMNS = """id, ref, property_id, kind, category, priority, guest_text, room, guest_name,
session_id, repeats, status, created_at, updated_at, acknowledged_at, closed_at, updated_by"""


@dataclass(frozen=True, slots=True)
class TaskDraft:
    """What the guest asked for, before it is a task."""

    property_id: str
    kind: str
    category: str
    priority: str
    guest_text: str
    room: str | None
    guest_name: str | None
    session_id: str | None


def new_ref() -> str:
    """A short reference a guest can read out on the phone (``R-7KQ2MX``)."""
    return "R-" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(6))


def dedupe_key(draft: TaskDraft, folded_text: str) -> str:
    """One active task per session and category; without a session, per identical text."""
    if draft.session_id:
        return f"s:{draft.session_id}:{draft.category}"
    digest = hashlib.sha256(folded_text.encode()).hexdigest()[:32]
    return f"t:{draft.category}:{digest}"


def public(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    """A task as the admin API and the event stream show it (timestamps in ISO 8601)."""
    out = dict(row)
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
    return out


async def _notify(conn: Connection, event: str, row: asyncpg.Record) -> None:
    payload = {"event": event, "id": row["id"], "property_id": row["property_id"]}
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps(payload))


async def create(
    conn: Connection, draft: TaskDraft, folded_text: str
) -> tuple[asyncpg.Record, bool]:
    """The task for ``draft`` and whether it is new; a repeat in the same session while the
    task is active updates it (the room when given now, a repeat count) instead."""
    key = dedupe_key(draft, folded_text)
    async with conn.transaction():
        for _ in range(5):  # a clash of random references is retried
            row = await conn.fetchrow(
                f"""
                INSERT INTO tasks (ref, property_id, kind, category, priority, guest_text, room,
                                   guest_name, session_id, dedupe_key)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                ON CONFLICT (property_id, dedupe_key) WHERE status IN ('open', 'acknowledged')
                DO UPDATE SET repeats = tasks.repeats + 1,
                              room = COALESCE(EXCLUDED.room, tasks.room),
                              guest_name = COALESCE(EXCLUDED.guest_name, tasks.guest_name),
                              updated_at = now()
                RETURNING {_COLUMNS}, (xmax = 0) AS created
                """,
                new_ref(), draft.property_id, draft.kind, draft.category, draft.priority,
                draft.guest_text, draft.room, draft.guest_name, draft.session_id, key,
            )  # fmt: skip
            if row is not None:
                break
        else:  # pragma: no cover - five clashes in a 32^6 space
            raise Conflict("could not allocate a task reference")
        created = bool(row["created"])
        await _notify(conn, "created" if created else "updated", row)
    return row, created


async def get(conn: Connection, task_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM tasks WHERE id = $1", task_id)
    if row is None:
        raise NotFound(f"no task {task_id}")
    return row


async def for_guest(conn: Connection, ref: str, session_id: str) -> asyncpg.Record:
    """A task as its guest may see it: found by reference and the session that made it."""
    row = await conn.fetchrow(
        "SELECT ref, status, category, room, updated_at FROM tasks "
        "WHERE ref = $1 AND session_id = $2",
        ref,
        session_id,
    )
    if row is None:
        raise NotFound(f"no task {ref} in this session")
    return row


async def listing(
    conn: Connection,
    property_ids: Sequence[str] | None,
    status: str | None,
    limit: int,
    before_id: int | None = None,
) -> list[asyncpg.Record]:
    """Newest first; ``property_ids`` None means every property (an admin's view)."""
    return list(
        await conn.fetch(
            f"""
            SELECT {_COLUMNS} FROM tasks
            WHERE ($1::text[] IS NULL OR property_id = ANY($1::text[]))
              AND ($2::text IS NULL OR status = $2)
              AND ($3::bigint IS NULL OR id < $3)
            ORDER BY id DESC LIMIT $4
            """,
            None if property_ids is None else list(property_ids),
            status,
            before_id,
            limit,
        )
    )


async def set_status(
    conn: Connection,
    task_id: int,
    status: str,
    actor: str,
    property_ids: Sequence[str] | None,
) -> asyncpg.Record:
    """Move a task to ``status``; the property scope is enforced in the statement itself."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM tasks WHERE id = $1 "
            "AND ($2::text[] IS NULL OR property_id = ANY($2::text[])) FOR UPDATE",
            task_id,
            None if property_ids is None else list(property_ids),
        )
        if row is None:
            raise NotFound(f"no task {task_id}")
        if status == row["status"]:
            return row
        if status not in TRANSITIONS[row["status"]]:
            raise Conflict(f"a task that is {row['status']} cannot become {status}")
        updated = await conn.fetchrow(
            f"""
            UPDATE tasks SET status = $2, updated_at = now(), updated_by = $3,
                acknowledged_at = CASE WHEN $2 = 'acknowledged' THEN now()
                                       ELSE acknowledged_at END,
                closed_at = CASE WHEN $2 IN ('done', 'cancelled') THEN now() ELSE NULL END
            WHERE id = $1 RETURNING {_COLUMNS}
            """,
            task_id,
            status,
            actor,
        )
        assert updated is not None
        await _notify(conn, "updated", updated)
    return updated
