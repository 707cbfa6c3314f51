"""Staff identities: per-person tokens (only their SHA-256 is stored) with a role and the
properties they work for, and audit rows that say who did what."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from app.errors import Conflict, InvalidRequest, NotFound

ROLES = ("staff", "admin")
TOKEN_PREFIX = "cst_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a name for the audit, a role, and the properties they may see
    (``None``: every property, an admin)."""

    name: str
    role: str
    property_ids: frozenset[str] | None

    def may_see(self, property_id: str) -> bool:
        return self.property_ids is None or property_id in self.property_ids

    def scope(self, property_id: str | None) -> list[str] | None:
        """The properties a query may read: the one asked for (if allowed), or all allowed."""
        if property_id is not None:
            return [property_id] if self.may_see(property_id) else []
        return None if self.property_ids is None else sorted(self.property_ids)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def create_token(
    conn: asyncpg.Connection, name: str, role: str, property_ids: Sequence[str]
) -> str:
    """Create a token for ``name`` and return it (shown once; only its hash is kept)."""
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(ROLES)}")
    if role == "staff" and not property_ids:
        raise InvalidRequest("a staff token needs at least one property")
    known = await conn.fetch("SELECT id FROM properties WHERE id = ANY($1::text[])", property_ids)
    missing = set(property_ids) - {r["id"] for r in known}
    if missing:
        raise NotFound(f"unknown properties: {', '.join(sorted(missing))}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        await conn.execute(
            "INSERT INTO staff_tokens (name, token_hash, role, properties) VALUES ($1, $2, $3, $4)",
            name,
            token_hash(token),
            role,
            list(property_ids),
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"{name} already has an active token: revoke it first") from exc
    except asyncpg.CheckViolationError as exc:
        raise InvalidRequest("a name is 1-64 letters, digits, '.', '_', '@' or '-'") from exc
    return token


async def revoke_token(conn: asyncpg.Connection, name: str) -> bool:
    status = await conn.execute(
        "UPDATE staff_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL", name
    )
    return bool(status.endswith(" 1"))


async def lookup(conn: asyncpg.Connection, token: str) -> Principal | None:
    row = await conn.fetchrow(
        "SELECT name, role, properties FROM staff_tokens "
        "WHERE token_hash = $1 AND revoked_at IS NULL",
        token_hash(token),
    )
    if row is None:
        return None
    props = None if row["role"] == "admin" else frozenset(row["properties"])
    return Principal(row["name"], row["role"], props)


async def list_tokens(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT name, role, properties, created_at, revoked_at FROM staff_tokens ORDER BY id"
    )
    return [dict(r) for r in rows]


async def audit(
    conn: asyncpg.Connection,
    actor: str,
    action: str,
    property_id: str | None = None,
    target: str | None = None,
    request_id: str | None = None,
    **details: object,
) -> None:
    """One audit row (never a secret in ``details``)."""
    await conn.execute(
        "INSERT INTO audit_log (actor, action, property_id, target, details, request_id) "
        "VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
        actor,
        action,
        property_id,
        target,
        json.dumps(details, default=str),
        request_id,
    )
