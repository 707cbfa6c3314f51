"""The load generator of the benchmark and the reliability scenarios: it never waits on a
keep-alive connection the server closed, and it says exactly how each request ended."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager

from benchlib.loadgen import (
    BAD_RESPONSE,
    CLOSED_BEFORE_RESPONSE,
    PARTIAL,
    REFUSED,
    SATURATED,
    TIMEOUT,
    Client,
    Result,
    closed_loop,
    get,
    open_loop,
    percentile,
    send_each,
    sending,
)

RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def healthz() -> Iterator[bytes]:
    while True:
        yield get("/healthz")


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

    async with serving(answer_once) as port, Client(port, timeout=1.0) as client:
        replies, skipped = await open_loop(client, 10, 1.0, sending(healthz()))
    result = Result("open-loop", 1.0, replies, skipped, target_rate=10)
    assert result.errors == {}, result.errors
    assert result.ok == 10
    assert answered == 10
    assert client.retried == 0  # each closed connection was skipped, not tried and retried


async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers each request on the connection: 200 ``ok``, or 503 for ``/busy``; a chunked
    body for ``/chunked``; 100 Continue before reading the body of a request that expects it."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().lower().split("\r\n")
            length = next((int(h.split(":")[1]) for h in lines if h.startswith("content-l")), 0)
            if "expect: 100-continue" in lines:
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = await reader.readexactly(length)
            if lines[0].startswith("get /chunked"):
                writer.write(
                    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                    b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
                )
            elif lines[0].startswith("get /busy"):
                writer.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
            else:
                answer = body or b"ok"
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(answer))
                writer.write(answer)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def test_replies_carry_status_headers_and_body_on_one_connection() -> None:
    connections = 0

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await keep_alive(reader, writer)

    async with serving(counted) as port, Client(port, max_connections=1) as client:
        chunked = await client.request("GET", "/chunked")
        echoed = await client.request(
            "POST", "/echo", json={"a": 1}, headers={"expect": "100-continue"}
        )
        busy = await client.request("GET", "/busy")
        each = await send_each(client, [get("/"), get("/")])
    assert (chunked.status, chunked.body, chunked.headers["transfer-encoding"]) == (
        200,
        b"abcde",
        "chunked",
    )
    assert (echoed.status, echoed.json()) == (200, {"a": 1})
    assert len(echoed.request_id) == 32
    assert busy.kind == "503"
    assert [r.kind for r in each] == ["200", "200"]
    assert connections == 1


async def test_each_way_a_request_can_fail_has_its_own_kind() -> None:
    async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    async def cut_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await writer.drain()
        writer.close()

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 OK\r\n\r\n")
        await writer.drain()
        await reader.read()
        writer.close()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    kinds = []
    for handler in (close_at_once, cut_short, garbage, silent):
        async with serving(handler) as port, Client(port, timeout=0.3) as client:
            kinds.append((await client.request("GET", "/")).kind)
    async with serving(silent) as port:
        pass
    async with Client(port) as client:
        kinds.append((await client.request("GET", "/")).kind)
    assert kinds == [CLOSED_BEFORE_RESPONSE, PARTIAL, BAD_RESPONSE, TIMEOUT, REFUSED]


async def test_result_sums_up_a_phase_as_the_benchmark_reports_it() -> None:
    def paths() -> Iterator[bytes]:
        while True:
            yield get("/")
            yield get("/busy")

    async with serving(keep_alive) as port, Client(port, max_connections=2) as client:
        replies = await closed_loop(client, 2, sending(paths()), duration=0.3)
        summary = Result("closed-loop", 0.3, replies, skipped=3, clients=2).summary()
    ok = sum(r.status == 200 for r in replies)
    assert ok > 10
    assert summary["ok"] == ok
    assert summary["error_kinds"] == {"503": len(replies) - ok, SATURATED: 3}
    assert summary["requests"] == len(replies) + 3
    assert summary["statuses"] == {"200": ok, "503": len(replies) - ok}
    assert summary["rps"] == round(ok / 0.3, 1)
    p50, p99 = summary["p50_ms"], summary["p99_ms"]
    assert isinstance(p50, float)
    assert isinstance(p99, float)
    assert 0 < p50 <= p99


def test_percentile() -> None:
    assert percentile([], 50) == math.inf
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0
