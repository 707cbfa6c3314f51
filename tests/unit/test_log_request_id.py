"""Every log line written while a request is served carries its request id, whichever logger
wrote it, and lines written outside a request carry none."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncGenerator

import httpx
from starlette.types import Receive, Scope, Send

from app.api.middleware import RequestIdMiddleware
from app.api.sse import event_stream, sse_event
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


async def test_log_lines_written_while_an_answer_streams_carry_its_id() -> None:
    """The stream's producer runs in tasks of the response (sse-starlette's task group); they
    inherit the request's context, so its lines still carry the request id."""

    async def events() -> AsyncGenerator[bytes, None]:
        logging.getLogger("app.api.streaming").warning("while streaming")
        yield sse_event("delta", {"text": "Check"})

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await event_stream(events(), ping_s=0)(scope, receive, send)

    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(Settings(log_format="json"), stream)
    try:
        transport = httpx.ASGITransport(app=RequestIdMiddleware(endpoint))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            reply = await client.get("/", headers={"x-request-id": "streamed-1"})
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert reply.text == 'event: delta\ndata: {"text":"Check"}\n\n'
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (line,) = [line for line in lines if line["msg"] == "while streaming"]
    assert line["request_id"] == "streamed-1"
