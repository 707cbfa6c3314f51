"""JSON responses serialised with orjson, and the one error shape."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSONBytes(Response):
    """A JSON response rendered by orjson (several times faster than the standard library)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(
    status: int, code: str, message: str, request_id: str, headers: dict[str, str] | None = None
) -> JSONBytes:
    """``{"error": {"code", "message", "request_id"}}`` with the given status."""
    body = {"error": {"code": code, "message": message, "request_id": request_id}}
    return JSONBytes(body, status_code=status, headers=headers)
