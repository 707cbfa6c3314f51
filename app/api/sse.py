"""Server-Sent Events for streamed answers.

The event contract of ``POST /ask`` with ``"stream": true``:

- ``sources``: ``{"sources": [...], "request_id"}`` (the source objects of the JSON response;
  ``cited`` is null until the answer is written, except for a cached answer),
- ``delta``: ``{"text": "..."}``, zero or more times,
- ``done``: the complete JSON response body, exactly as non-streaming ``/ask`` returns it
  (its ``answer`` is authoritative: it may differ from the deltas, e.g. after a fallback),
- or ``error``: ``{"error": {"code", "message", "request_id"}}``.

:class:`EventStreamResponse` watches for the client's disconnect while it streams, whatever
the server's ASGI version, and then cancels the producer, which closes the generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

log = logging.getLogger(__name__)

# no-cache and X-Accel-Buffering keep proxies (nginx) from holding events back.
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def sse_event(event: str, data: object) -> bytes:
    """One event in the wire format (``data`` as a single line of JSON)."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class EventStreamResponse(Response):
    """Sends the chunks of ``events`` as they come; stops and closes it if the client leaves."""

    media_type = "text/event-stream"

    def __init__(self, events: AsyncGenerator[bytes, None]) -> None:
        super().__init__(None, 200, SSE_HEADERS)
        # The length is unknown: the body is streamed.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        producer = asyncio.ensure_future(self._produce(send))
        watcher = asyncio.ensure_future(_wait_for_disconnect(receive))
        try:
            await asyncio.wait({producer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (producer, watcher):
                task.cancel()
            for task in (producer, watcher):
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await task
            await self._events.aclose()

    async def _produce(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        async for chunk in self._events:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
