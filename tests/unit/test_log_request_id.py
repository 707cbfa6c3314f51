"""Every log line written while a request is served carries its request id, whichever logger
wrote it, and lines written outside a request carry none."""

from __future__ import annotations

import io
import json
import logging

import httpx
from starlette.types import Receive, Scope, Send

from app.api.middleware import RequestIdMiddleware
from app.config import Settings
from app.observability.logs import configure_logging


async def test_log_lines_inside_a_request_carry_its_id() -> None:
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        logging.getLogger("app.search.somewhere").warning("deep inside")
        logging.getLogger("third.party").warning("with fields", extra={"fields": {"k": 1}})
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(Settings(log_format="json"), stream)
    try:
        transport = httpx.ASGITransport(app=RequestIdMiddleware(endpoint))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = await client.get("/")
            await client.get("/", headers={"x-request-id": "given-id-1"})
        logging.getLogger("app.outside").warning("between requests")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line["logger"] in ("app.search.somewhere", "third.party")]
    assert [line["request_id"] for line in mine] == [
        first.headers["x-request-id"], first.headers["x-request-id"], "given-id-1", "given-id-1",
    ]  # fmt: skip
    assert mine[1]["k"] == 1
    outside = next(line for line in lines if line["logger"] == "app.outside")
    assert "request_id" not in outside
