"""The benchmark's load generator never waits on a keep-alive connection the server closed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from benchlib.loadgen import get, open_loop

RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


async def test_open_loop_skips_connections_the_server_closed_while_idle() -> None:
    answered = 0

    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A keep-alive timeout shorter than the gap between two requests, made exact: each
        # connection is closed as soon as its one response is written.
        nonlocal answered
        await reader.readuntil(b"\r\n\r\n")
        writer.write(RESPONSE)
        await writer.drain()
        answered += 1
        writer.close()

    server = await asyncio.start_server(answer_once, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    def requests() -> Iterator[bytes]:
        while True:
            yield get("/healthz")

    try:
        result = await open_loop(port, requests(), rate=10, seconds=1.0, request_timeout_s=1.0)
    finally:
        server.close()
        await server.wait_closed()
    assert result.errors == {}, result.errors
    assert result.ok == 10
    assert answered == 10
