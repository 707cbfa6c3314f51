"""A route that reads a plain JSON body itself: the common ``/ask`` skips FastAPI's body and
dependency machinery, which costs a cached answer more than finding it.

The body is read once, as bytes, and validated once by the request model. Whatever is not
plain (another content type, JSON that orjson refuses, a body the model rejects) goes to
FastAPI's own handler unchanged, with the bytes already read, so every error keeps the shape
and wording it always had.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import orjson
from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

M = TypeVar("M", bound=BaseModel)

JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})


async def plain_body(request: Request, model: type[M]) -> M | None:
    """``model`` read from a plain JSON body; None when the body is anything else."""
    content_type = request.headers.get("content-type")
    if content_type is None or content_type.lower() not in JSON_TYPES:
        return None
    try:
        raw = await request.body()  # kept on the request: FastAPI's handler reads the same bytes
    except Exception:
        # Refused by the body guard, or the client left: FastAPI's handler answers it (reading
        # again fails as the first read did).
        return None
    return plain_model(raw, model)


def plain_model(raw: bytes, model: type[M]) -> M | None:
    """``model`` validated from a JSON object's bytes; None when orjson or the model refuses."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def plain_json_route(
    model: type[M],
    answer: Callable[[M, Request], Awaitable[Response]],
) -> type[APIRoute]:
    """A route class whose handler calls ``answer(body, request)`` for a plain JSON ``model``
    and leaves every other request to the declared endpoint (same answer, FastAPI's parsing)."""

    class PlainJsonRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            declared = super().get_route_handler()

            async def handler(request: Request) -> Response:
                body = await plain_body(request, model)
                if body is None:
                    return await declared(request)
                return await answer(body, request)

            return handler

    return PlainJsonRoute
