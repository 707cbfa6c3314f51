"""Who is calling the staff routes: the bootstrap admin token (``RAG_ADMIN_TOKEN``) or a
per-person staff token from the database (role ``staff`` for some properties, or ``admin``)."""

from __future__ import annotations

import hmac
import re
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from app.api.auth_scheme import BEARER
from app.api.deps import ServicesDep
from app.config import Settings
from app.errors import AdminDisabled, Forbidden, Unauthorized
from app.tasks import staff
from app.tasks.staff import Principal

DEVELOPMENT_TOKEN = "dev-admin-token"
_ACTOR = re.compile(r"^[A-Za-z0-9._@:-]{1,64}$")
_CACHE_S = 5.0
_CACHE_MAX = 1024
# Token hash -> (principal or None, when looked up): a console polls, the DB is asked rarely.
_seen: dict[bytes, tuple[Principal | None, float]] = {}


def bootstrap_token(settings: Settings) -> str | None:
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    return DEVELOPMENT_TOKEN if settings.env == "development" else None


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthorized("send 'Authorization: Bearer <token>'")
    return given.strip()


async def principal_of(
    request: Request,
    services: ServicesDep,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None,
) -> Principal:
    """The caller, from the bearer token (constant-time against the bootstrap token)."""
    given = bearer(request)
    expected = bootstrap_token(services.settings)
    if expected and hmac.compare_digest(given.encode(), expected.encode()):
        actor = request.headers.get("x-admin-actor", "admin")
        return Principal(actor if _ACTOR.match(actor) else "admin", "admin", None)
    key = staff.token_hash(given)
    now = time.monotonic()
    cached = _seen.get(key)
    if cached is not None and now - cached[1] < _CACHE_S:
        found = cached[0]
    else:
        async with services.pool.acquire() as conn:
            found = await staff.lookup(conn, given)
        if len(_seen) >= _CACHE_MAX:
            _seen.clear()
        _seen[key] = (found, now)
    if found is None:
        if not expected:
            raise AdminDisabled("no such staff token, and RAG_ADMIN_TOKEN is not set")
        raise Forbidden("the token is not valid")
    return found


def forget_tokens() -> None:
    """Drop the short lookup cache (after a token is revoked in this process)."""
    _seen.clear()


StaffDep = Annotated[Principal, Depends(principal_of)]
