"""A small HTTP/1.1 load generator on asyncio streams (loopback only, bounded in every way).

It is a fraction of the cost of a general client per request, so one Python process can offer
many times what the server sustains, and it reports exactly how a request failed: refused
connection, connection closed before any response byte, or a response cut short.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson

REFUSED = "refused"  # no connection: the server was not accepting
CLOSED_BEFORE_RESPONSE = "closed before response"  # the request was never answered
PARTIAL = "partial response"  # headers or body cut short: must never happen
TIMEOUT = "timeout"


@dataclass(slots=True)
class Reply:
    """One request's outcome."""

    request_id: str
    started: float
    ended: float = 0.0
    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def latency(self) -> float:
        return self.ended - self.started

    def json(self) -> object:
        return orjson.loads(self.body)

    @property
    def kind(self) -> str:
        """``"200"``, ``"503"``… or the transport error."""
        return self.error if self.error else str(self.status)


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class Client:
    """Keep-alive connections to one server, at most ``max_connections`` at a time."""

    def __init__(
        self, host: str, port: int, max_connections: int = 64, timeout: float = 15.0
    ) -> None:
        assert host == "127.0.0.1", "load is only ever sent over loopback"
        self.host = host
        self.port = port
        self.timeout = timeout
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Conn] = []
        self.retried = 0

    async def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        json: object = None,
    ) -> Reply:
        if json is not None:
            body = orjson.dumps(json)
            headers = {"content-type": "application/json", **(headers or {})}
        headers = dict(headers or {})
        request_id = headers.setdefault("x-request-id", uuid.uuid4().hex)
        reply = Reply(request_id, time.monotonic())
        async with self._slots:
            try:
                async with asyncio.timeout(self.timeout):
                    reused = await self._exchange(reply, method, path, body, headers)
                    if reused and reply.error == CLOSED_BEFORE_RESPONSE:
                        # An idle keep-alive connection the server closed as we reused it:
                        # the request never reached it. Retry once on a new connection, as
                        # browsers and HTTP libraries do.
                        self.retried += 1
                        reply.error = None
                        await self._exchange(reply, method, path, body, headers, fresh=True)
            except TimeoutError:
                reply.error = TIMEOUT
        reply.ended = time.monotonic()
        return reply

    async def _exchange(
        self,
        reply: Reply,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
        fresh: bool = False,
    ) -> bool:
        """One attempt; returns whether it used an idle keep-alive connection."""
        conn = self._idle.pop() if self._idle and not fresh else None
        reused = conn is not None
        if conn is None:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                reply.error = REFUSED
                return False
            conn = _Conn(reader, writer)
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines.append(f"content-length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        keep = False
        try:
            if headers.get("expect") == "100-continue":
                # Send the body only if the server wants it (it may refuse it with a 413).
                conn.writer.write(head)
                await conn.writer.drain()
                keep = await self._read(conn, reply)
                if reply.status != 100:
                    return reused
                reply.status, reply.headers = None, {}
                head = b""
            conn.writer.write(head + (body or b""))
            await conn.writer.drain()
            keep = await self._read(conn, reply)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            if reply.error is None:
                reply.error = CLOSED_BEFORE_RESPONSE if reply.status is None else PARTIAL
        finally:
            if keep:
                self._idle.append(conn)
            else:
                conn.close()
        return reused

    async def _read(self, conn: _Conn, reply: Reply) -> bool:
        head = await conn.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        reply.status = int(status_line.split(" ", 2)[1])
        for line in header_lines:
            if ":" in line:
                key, value = line.split(":", 1)
                reply.headers[key.strip().lower()] = value.strip()
        if "content-length" in reply.headers:
            reply.body = await conn.reader.readexactly(int(reply.headers["content-length"]))
        elif reply.headers.get("transfer-encoding") == "chunked":
            parts = []
            while True:
                size = int((await conn.reader.readuntil(b"\r\n")).strip(), 16)
                parts.append(await conn.reader.readexactly(size + 2))
                if size == 0:
                    break
            reply.body = b"".join(p[:-2] for p in parts)
        return reply.headers.get("connection", "").lower() != "close"


MakeRequest = Callable[[Client, int], Awaitable[Reply]]


async def open_loop(
    client: Client, rate: float, duration: float, make: MakeRequest, max_outstanding: int = 512
) -> tuple[list[Reply], int]:
    """Offer ``rate`` requests/s for ``duration`` s whatever the server does; returns the replies
    and how many the generator itself could not start (``max_outstanding`` in flight)."""
    replies: list[Reply] = []
    pending: set[asyncio.Task[Reply]] = set()
    skipped = 0
    fired = 0
    start = time.monotonic()
    while (now := time.monotonic()) - start < duration:
        due = int((now - start) * rate) - fired
        for _ in range(due):
            fired += 1
            if len(pending) >= max_outstanding:
                skipped += 1
                continue
            task = asyncio.create_task(make(client, fired))
            pending.add(task)
            task.add_done_callback(lambda t: (pending.discard(t), replies.append(t.result())))
        await asyncio.sleep(0.001)
    if pending:
        await asyncio.wait(pending)
    return replies, skipped


async def closed_loop(
    client: Client,
    workers: int,
    make: MakeRequest,
    duration: float | None = None,
    stop: Callable[[Reply], bool] | None = None,
) -> list[Reply]:
    """``workers`` clients each sending one request after another, until ``duration`` passes or
    ``stop(reply)`` says that worker is done."""
    replies: list[Reply] = []
    deadline = time.monotonic() + (duration if duration is not None else 3600)
    counter = 0

    async def worker() -> None:
        nonlocal counter
        while time.monotonic() < deadline:
            counter += 1
            reply = await make(client, counter)
            replies.append(reply)
            if stop is not None and stop(reply):
                return

    await asyncio.gather(*(worker() for _ in range(workers)))
    return replies


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank; infinite for no values (nothing was
    fast enough to count)."""
    if not values:
        return math.inf
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]
