"""The connection guard's send deadline: a reply to a client that stopped reading ends quietly.

uvloop's ``abort()`` empties the write buffer and calls ``resume_writing()`` at once, while
``connection_lost()`` only runs on the next loop turn; a request waiting to send is released in
between. The fake transport below behaves the same way, so the race is exact, not timed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from app.api.connections import ConnectionLimits, GuardedHttpProtocol


class UvloopLikeTransport(asyncio.Transport):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.protocol: GuardedHttpProtocol | None = None
        self.closed = False
        self.written: list[bytes] = []

    def write(self, data: Any) -> None:
        if self.closed:
            raise RuntimeError("unable to perform operation: the handler is closed")
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.abort()

    def abort(self) -> None:
        if self.closed:
            return
        self.closed = True
        assert self.protocol is not None
        self.protocol.resume_writing()  # the buffer was dropped
        self.loop.call_soon(self.protocol.connection_lost, None)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def connected(
    app: Any, limits: ConnectionLimits
) -> tuple[GuardedHttpProtocol, UvloopLikeTransport]:
    """A guarded protocol serving ``app`` under ``limits``, connected to a uvloop-like transport."""
    config = Config(app=app, lifespan="off", log_level="critical")
    protocol = GuardedHttpProtocol(config=config, server_state=ServerState(), app_state={})
    protocol.limits = limits
    transport = UvloopLikeTransport(asyncio.get_running_loop())
    transport.protocol = protocol
    protocol.connection_made(transport)
    return protocol, transport


async def test_a_reply_started_after_the_send_deadline_is_dropped_not_an_error() -> None:
    release = asyncio.Event()
    outcome: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await release.wait()
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"late"})
        except Exception as exc:
            outcome.append(f"raised {exc}")
            return
        outcome.append("sent quietly")

    protocol, transport = connected(app, ConnectionLimits(5.0, 8192, 0.01, 100))
    protocol.data_received(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    protocol.pause_writing()  # the client stopped reading an earlier reply
    release.set()
    for _ in range(5):  # the request's task starts and waits for the buffer to drain
        await asyncio.sleep(0)
    assert outcome == []
    protocol._reader_stalled()  # the send deadline passes
    for _ in range(5):
        await asyncio.sleep(0)
    assert outcome == ["sent quietly"]
    assert transport.written == []


async def test_the_rest_of_a_body_answered_early_is_not_counted_as_header_bytes() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        status = 413 if scope["method"] == "POST" else 200  # refused before its body is read
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    protocol, transport = connected(app, ConnectionLimits(5.0, 1000, 5.0, 100))
    protocol.data_received(b"POST /up HTTP/1.1\r\nhost: x\r\ncontent-length: 20000\r\n\r\n")
    for _ in range(5):
        await asyncio.sleep(0)
    assert b"".join(transport.written).startswith(b"HTTP/1.1 413")
    for _ in range(4):  # the client goes on sending the body it announced
        protocol.data_received(b"x" * 5000)
    assert not transport.closed
    protocol.data_received(b"GET /next HTTP/1.1\r\nhost: x\r\n\r\n")
    for _ in range(5):
        await asyncio.sleep(0)
    replies = b"".join(transport.written)
    assert b"431" not in replies
    assert replies.count(b"HTTP/1.1 ") == 2
    assert b"HTTP/1.1 200" in replies


async def test_oversized_headers_get_a_431_in_the_error_shape_and_the_connection_closes() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise AssertionError("no request reaches the application")

    protocol, transport = connected(app, ConnectionLimits(5.0, 1000, 5.0, 100))
    protocol.data_received(b"GET / HTTP/1.1\r\nhost: x\r\n")
    for _ in range(3):
        protocol.data_received(b"x-filler: " + b"a" * 500 + b"\r\n")
    reply = b"".join(transport.written)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431")
    assert f"content-length: {len(body)}".encode() in head
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "request_id"}
    assert transport.closed
