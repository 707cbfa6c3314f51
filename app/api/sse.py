"""Server-Sent Events for streamed answers.

The event contract of ``POST /ask`` with ``"stream": true``:

- ``sources``: ``{"sources": [...], "request_id"}`` (the source objects of the JSON response;
  ``cited`` is null until the answer is written, except for a cached answer),
- ``delta``: ``{"text": "..."}``, zero or more times,
- ``done``: the complete JSON response body, exactly as non-streaming ``/ask`` returns it
  (its ``answer`` is authoritative: it may differ from the deltas, e.g. after a fallback),
- or ``error``: ``{"error": {"code", "message", "request_id"}}``.

Between events the server sends a comment line (``: ping``) every ``RAG_STREAM_PING_S``, which
clients ignore and which keeps proxies and load balancers from closing a quiet stream.

:func:`event_stream` serves them with sse-starlette's ``EventSourceResponse``: it watches for
the client's disconnect and then cancels the producer, which closes the generation; when the
server shuts down, the stream ends with its ``farewell`` event (an ``error`` with code
``unavailable``) instead of holding the shutdown until the answer is written. A client that
stops reading is cut off below the application, by the connection's send deadline
(``RAG_SEND_TIMEOUT_S``, :mod:`app.api.connections`), which the application sees as a
disconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

import anyio
import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent

# no-cache and X-Accel-Buffering keep proxies (nginx) from holding events back.
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
# Seconds a stream has, once the server shuts down, to send its farewell and end.
SHUTDOWN_GRACE_S = 1.0
SHUTDOWN_MESSAGE = "the server is restarting; please ask again"


def sse_event(event: str, data: object) -> bytes:
    """One event in the wire format (``data`` as a single line of JSON)."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def shutdown_error(request_id: str) -> dict[str, object]:
    """The error a stream ends with when the server shuts down."""
    return {"error": {"code": "unavailable", "message": SHUTDOWN_MESSAGE, "request_id": request_id}}


def event_stream(
    events: AsyncGenerator[bytes, None], ping_s: float, farewell: bytes = b""
) -> EventSourceResponse:
    """Sends the chunks of ``events`` as they come, a ``: ping`` comment every ``ping_s``
    seconds (0: none), and ``farewell`` (then the end of the body) if the server shuts down
    first."""
    shutdown = anyio.Event()
    return EventSourceResponse(
        _until_shutdown(events, shutdown, farewell),
        headers=SSE_HEADERS,
        ping=ping_s,
        sep="\n",
        ping_message_factory=_ping,
        shutdown_event=shutdown,
        shutdown_grace_period=SHUTDOWN_GRACE_S,
    )


def _ping() -> ServerSentEvent:
    return ServerSentEvent(comment="ping", sep="\n")


class _Stopper:
    """Cancels the wait for the producer's next chunk once the server shuts down."""

    def __init__(self, shutdown: anyio.Event) -> None:
        self.shutdown = shutdown
        self.waiting: anyio.CancelScope | None = None

    async def watch(self) -> None:
        await self.shutdown.wait()
        if self.waiting is not None:
            self.waiting.cancel()


async def _until_shutdown(
    events: AsyncGenerator[bytes, None], shutdown: anyio.Event, farewell: bytes
) -> AsyncGenerator[bytes, None]:
    """``events`` until ``shutdown`` is set; then ``events`` is cancelled and closed (which
    closes the generation) and ``farewell`` is the last chunk. A cancellation from outside
    (the client left) closes ``events`` the same way.

    sse-starlette notices the shutdown (uvicorn's exit flag, found through its SIGTERM handler:
    ``python -m app serve``), sets ``shutdown`` and gives the stream ``SHUTDOWN_GRACE_S`` before
    it cancels it; cancelled, the body would stop without its end and the client would see a
    cut connection, so this wrapper ends it with an event instead. The producer runs in the
    caller's task (a cancel scope around each wait for its next chunk, none across a yield),
    so its own timeouts keep working."""
    stopper = _Stopper(shutdown)
    watcher = asyncio.ensure_future(stopper.watch())
    try:
        async with contextlib.aclosing(events):
            while not shutdown.is_set():
                with anyio.CancelScope() as scope:
                    stopper.waiting = scope
                    chunk = await anext(events, None)
                stopper.waiting = None
                if scope.cancel_called:
                    break
                if chunk is None:
                    return
                yield chunk
        if farewell:
            yield farewell
    finally:
        watcher.cancel()
