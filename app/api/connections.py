"""Connection limits below the application: uvicorn's HTTP protocol with the timeouts it lacks.

uvicorn arms its keep-alive timer only after a first response and stops it at the first byte
of the next request, so a client that connects and sends nothing, or sends its headers a byte
at a time, holds a connection (and a descriptor) for as long as it likes; a client that does
not read its reply holds the response where it stopped. This protocol adds:

- a header deadline: the request line and headers must be complete ``header_timeout_s`` after
  the connection opens or the previous response ends, else the connection is closed;
- a header size bound (``max_header_bytes``): past it, a 431 and the connection is closed;
- a send deadline: a client that takes none of a reply's bytes for ``send_timeout_s`` while
  the write buffer is full is disconnected (the application sees ``http.disconnect``);
- a connection bound (``max_connections``, kept below the process's descriptor limit): a new
  connection beyond it makes the server drop the connection that has waited longest for its
  request headers, so held-open sockets cannot lock out new clients or exhaust descriptors.

The body of a request has its own deadline in the application (``RAG_BODY_TIMEOUT_S``).
"""

from __future__ import annotations

import asyncio
import resource
import time
from dataclasses import dataclass
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import Settings, get_settings

# Descriptors kept for everything that is not a client connection (database pool, model and
# log files, the embedded server's sockets, file uploads).
RESERVED_DESCRIPTORS = 64


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout_s: float
    max_header_bytes: int
    send_timeout_s: float
    max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        room = settings.max_connections
        if soft != resource.RLIM_INFINITY:
            room = min(room, max(1, soft - RESERVED_DESCRIPTORS))
        return cls(
            settings.header_timeout_s, settings.max_header_bytes, settings.send_timeout_s, room
        )


_limits: ConnectionLimits | None = None

# Before any request exists: the one error shape, with no request id to give.
_TOO_LARGE_BODY = orjson.dumps(
    {
        "error": {
            "code": "headers_too_large",
            "message": "the request line and headers are too large",
            "request_id": "-",
        }
    }
)
_HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
    b"content-length: "
    + str(len(_TOO_LARGE_BODY)).encode()
    + b"\r\nconnection: close\r\n\r\n"
    + _TOO_LARGE_BODY
)


def connection_limits() -> ConnectionLimits:
    """The limits of this process (read from the settings once; uvicorn builds the protocol
    from its import path, so that worker processes can build it too)."""
    global _limits
    if _limits is None:
        _limits = ConnectionLimits.from_settings(get_settings())
    return _limits


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header, send and connection-count limits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = connection_limits()
        self._header_timer: asyncio.TimerHandle | None = None
        self._send_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        # When the connection started waiting for request headers; None while a request runs.
        self.waiting_since: float | None = None
        # Requests of this connection whose reply is not complete (pipelined ones included).
        self._open_cycles: list[Any] = []
        # A request's body is still arriving; and, when its reply went first (an early 413 or
        # 422), that body's rest, which must not count as the next request's header bytes.
        self._message_open = False
        self._draining = False

    # --- the header deadline --------------------------------------------------------------

    def _await_headers(self) -> None:
        self._cancel_header_timer()
        self._header_bytes = 0
        self.waiting_since = time.monotonic()
        self._header_timer = self.loop.call_later(
            self.limits.header_timeout_s, self._headers_too_slow
        )

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()
        if len(self.connections) > self.limits.max_connections:
            self._drop_longest_waiting()

    def _drop_longest_waiting(self) -> None:
        waiting = [
            c
            for c in self.connections
            if isinstance(c, GuardedHttpProtocol) and c.waiting_since is not None
        ]
        victim = min(waiting, key=lambda c: c.waiting_since or 0.0, default=self)
        victim.transport.close()

    def data_received(self, data: bytes) -> None:
        waiting = self.waiting_since is not None and not self._draining
        super().data_received(data)
        if not waiting or self.waiting_since is None or self.transport.is_closing():
            return  # the headers were complete before or within these bytes, or a body drains
        self._header_bytes += len(data)
        if self._header_bytes > self.limits.max_header_bytes:
            self.transport.write(_HEADERS_TOO_LARGE)
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        self.waiting_since = None
        self._header_bytes = 0
        super().on_headers_complete()
        self._open_cycles = [c for c in self._open_cycles if not c.response_complete]
        self._open_cycles.append(self.cycle)
        self._message_open = True

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._message_open = False
        if self._draining:
            self._draining = False
            self._header_bytes = 0

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)
        super().on_response_complete()
        # A pipelined request has already sent its headers and now runs: nothing to wait for.
        if not pipelined and not self.transport.is_closing():
            self._await_headers()  # the deadline covers the rest of an unread body too
            self._draining = self._message_open

    # --- the send deadline ----------------------------------------------------------------

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(
                self.limits.send_timeout_s, self._reader_stalled
            )

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None

    def _reader_stalled(self) -> None:
        self._send_timer = None
        # Aborting empties the buffer and resumes writing before connection_lost runs: a reply
        # waiting to send must already see the client gone, or it writes to a closed handle.
        for cycle in self._open_cycles:
            if not cycle.response_complete:
                cycle.disconnected = True
        self._open_cycles = []
        self.transport.abort()  # the buffered reply is dropped, the application unblocked

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        self.waiting_since = None
        super().connection_lost(exc)
