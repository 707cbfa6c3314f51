"""The common ``/ask`` straight from the middleware stack: a question in a plain JSON body is
answered here (streamed or not: the answer decides from the body and the ``Accept`` header, as
the route does), without FastAPI's routing, request handling and body machinery (which cost a
cached answer more than finding it), and its body is read and validated once. Everything else
goes on to the declared route unchanged: another content type, or a body the model refuses (the
route's 422).

Sits innermost, so the request id, telemetry, security headers, per-client rate limit and body
guard apply as to any request; a domain error raised here gets the application's own handler
(the one error shape), and anything unexpected goes on to its 500 handler as from a route.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.middleware import header
from app.api.plain_route import JSON_TYPES, plain_model
from app.api.schemas import AskRequest

Answer = Callable[[AskRequest, Request], Awaitable[Response]]


class PlainAskMiddleware:
    """Answers ``POST /ask`` with a plain JSON body through ``answer``; hands every other
    request, and every ``/ask`` it does not take, to the application with its body intact."""

    def __init__(self, app: ASGIApp, answer: Answer, route: object, path: str = "/ask") -> None:
        self.app = app
        self.answer = answer
        self.route = route  # what telemetry reads the route template from
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        body = await _plain_body(scope, receive, received)
        if body is None:
            await self.app(scope, _replay(received, receive), send)
            return
        scope["route"] = self.route
        request = Request(scope, receive, send)
        try:
            response = await self.answer(body, request)
        except Exception as exc:
            handler = _handler_for(scope, exc)
            if handler is None:
                raise  # the application's 500 handler, as for an error in any route
            outcome = handler(request, exc)
            response = await outcome if inspect.isawaitable(outcome) else outcome
        await response(scope, receive, send)


async def _plain_body(scope: Scope, receive: Receive, received: list[Message]) -> AskRequest | None:
    """The question, when the body is plain JSON the model accepts; None otherwise (after
    reading the body into ``received``, or what there was of it)."""
    content_type = header(scope, b"content-type")
    if content_type is None or content_type.lower() not in JSON_TYPES:
        return None
    chunks = []
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            return None  # the client left, or the body guard refused it
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return plain_model(b"".join(chunks), AskRequest)


def _replay(received: list[Message], receive: Receive) -> Receive:
    """``receive`` that first gives back the messages already taken."""
    pending = list(received)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _handler_for(
    scope: Scope, exc: Exception
) -> Callable[[Request, Exception], Response | Awaitable[Response]] | None:
    """The application's handler for ``exc`` (by class, nearest first), as the exception
    middleware would find it; None for the catch-all, which the outermost middleware runs."""
    app = scope.get("app")
    handlers = app.exception_handlers if isinstance(app, FastAPI) else {}
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]  # type: ignore[no-any-return]
    return None
