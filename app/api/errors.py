"""One handler renders every error as ``{"error": {"code", "message", "request_id"}}``."""

from __future__ import annotations

import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.api.middleware import request_id_of
from app.api.responses import error_response
from app.errors import (
    AdminDisabled,
    ConciergeError,
    Conflict,
    DependencyUnavailable,
    Forbidden,
    InvalidRequest,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    PropertyNotFound,
    RateLimited,
    RequestTimedOut,
    SchemaMismatch,
    Unauthorized,
)
from app.search.retriever import CONNECTION_ERRORS

log = logging.getLogger(__name__)

STATUS: dict[type[ConciergeError], int] = {
    PropertyNotFound: 404,
    InvalidRequest: 422,
    Overloaded: 503,
    RateLimited: 429,
    DependencyUnavailable: 503,
    SchemaMismatch: 503,
    RequestTimedOut: 504,
    NotFound: 404,
    Conflict: 409,
    Unauthorized: 401,
    Forbidden: 403,
    AdminDisabled: 503,
    PayloadTooLarge: 413,
}

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def status_of(exc: ConciergeError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConciergeError)
    return domain_error_response(exc, request_id_of(request.scope))


def domain_error_response(exc: ConciergeError, request_id: str) -> Response:
    """The one error shape for a domain error, with its status and headers (also used by
    middleware that answers before routing)."""
    status = status_of(exc)
    headers = None
    if isinstance(exc, Overloaded):
        headers = {"retry-after": str(exc.retry_after_s)}
    elif isinstance(exc, Unauthorized):
        headers = {"www-authenticate": "Bearer"}
    elif isinstance(exc, AdminDisabled):
        headers = None
    elif status == 503:
        headers = {"retry-after": "2"}
    if status >= 500:
        log.warning("%s: %s", exc.code, exc.message)
    return error_response(status, exc.code, exc.message, request_id, headers)


def _database_unavailable(request: Request, exc: Exception) -> Response:
    """A database failure outside the search (admin routes, property look-ups): 503 too."""
    return _domain_error(request, DependencyUnavailable("the database is unavailable right now"))


def _unstorable_text(request: Request, exc: Exception) -> Response:
    """Text the database cannot store (a NUL) that no schema caught: the client's input."""
    log.warning("unstorable text: %s", exc)
    return error_response(
        422,
        "invalid_request",
        "text must not contain NUL characters",
        request_id_of(request.scope),
    )


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        problems.append(f"{where}: {err.get('msg', 'invalid')}")
    message = "; ".join(problems) or "invalid request"
    return error_response(422, "invalid_request", message, request_id_of(request.scope))


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(
        exc.status_code, code, message, request_id_of(request.scope), dict(exc.headers or {})
    )


def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return error_response(
        500, "internal_error", "something went wrong on our side", request_id_of(request.scope)
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ConciergeError, _domain_error)
    for error in CONNECTION_ERRORS:
        app.add_exception_handler(error, _database_unavailable)
    app.add_exception_handler(asyncpg.CharacterNotInRepertoireError, _unstorable_text)
    app.add_exception_handler(asyncpg.UntranslatableCharacterError, _unstorable_text)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
