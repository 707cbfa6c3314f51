"""A small OpenAI-compatible server on loopback that misbehaves on purpose.

The first path segment picks the behaviour: ``/ok/v1/chat/completions`` answers normally,
``/slow_first/...`` waits before its headers, ``/stall/...`` sends one piece then nothing,
``/error500/...`` fails, ``/malformed/...`` sends an event that is not JSON, ``/hang_up/...``
closes the connection mid-stream, ``/slow_stream/...`` sends many pieces slowly, and
``/flaky/...`` fails its first request and answers the next; ``/live/...`` behaves as the
``live`` attribute says at the time of the request, so one URL can change behaviour while a
client uses it. ``stop()`` stops listening and drops every open connection, as a killed
process would; ``start()`` then listens on the same port again. It counts requests by the
behaviour they met and open connections, so tests can check that the client closed every one
of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter

ANSWER = ["Check", "-out is", " by 11:00", " [1]", " [7].", ""]


def _chunk(text: str) -> bytes:
    event = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return f"data: {json.dumps(event)}\n\n".encode()


_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"connection: close\r\n\r\n"
)


class FaultServer:
    """Serves one behaviour per request path; ``open_connections`` is live."""

    def __init__(self) -> None:
        self.open_connections = 0
        self.requests: Counter[str] = Counter()
        self.closed_early: Counter[str] = Counter()
        self.live = "ok"
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        """Listen on a free port, or on the same port as before after :meth:`stop`."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def stop(self) -> None:
        """Refuse new connections and reset the open ones, as when the process is killed."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mode}/v1"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            mode = lines[0].split()[1].strip("/").split("/")[0]
            if mode == "live":
                mode = self.live
            length = next(
                (int(h.split(":")[1]) for h in lines if h.lower().startswith("content-length")), 0
            )
            await reader.readexactly(length)
            self.requests[mode] += 1
            await self._respond(mode, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self.open_connections -= 1

    async def _until_client_leaves(self, mode: str, reader: asyncio.StreamReader) -> None:
        # The client closing its side is what these behaviours wait for.
        await reader.read()
        self.closed_early[mode] += 1

    async def _respond(
        self, mode: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if mode == "flaky" and self.requests[mode] == 1:
            mode = "error500"
        if mode == "error500":
            body = b'{"error": {"message": "boom"}}'
            writer.write(
                b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n"
                + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            return
        if mode == "slow_first":
            await self._until_client_leaves(mode, reader)
            return
        writer.write(_SSE_HEAD)
        if mode == "malformed":
            writer.write(b"data: {not json\n\n")
            await writer.drain()
            return
        writer.write(_chunk(ANSWER[0]))
        await writer.drain()
        if mode == "stall":
            await self._until_client_leaves(mode, reader)
            return
        if mode == "hang_up":
            return
        if mode == "slow_stream":
            try:
                for _ in range(400):
                    await asyncio.sleep(0.05)  # a slow model: one piece every 50 ms
                    writer.write(_chunk(" more"))
                    await writer.drain()
            except ConnectionError:
                self.closed_early[mode] += 1
            return
        for piece in ANSWER[1:]:
            writer.write(_chunk(piece))
        writer.write(b"data: [DONE]\n\n")
        await writer.drain()
