"""The HTTP/1.1 load generator of ``scripts/bench`` and of the reliability scenarios.

Keep-alive connections to a server on loopback, on asyncio protocols with a minimal response
parser, so one Python process offers hundreds of requests per second. Each request ends in a
``Reply`` that says exactly how it went: a status, or refused (no connection), closed before
response (never answered), partial response (cut short: must never happen), bad response or
timeout. Open loop (a fixed arrival rate, latency counted from the scheduled send time, so a
slow server cannot hide its queueing), closed loop (N clients) and one request after another;
``Result`` sums a phase up as the benchmark reports it (throughput, percentiles, errors).
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType

import orjson

REFUSED = "refused"  # no connection: the server was not accepting
CLOSED_BEFORE_RESPONSE = "closed before response"  # the request was never answered
PARTIAL = "partial response"  # headers or body cut short: must never happen
BAD_RESPONSE = "bad response"  # not HTTP/1.1 as the parser reads it, or too large
TIMEOUT = "timeout"
SATURATED = "client_saturated"  # the generator itself had too many requests in flight

MAX_HEAD = 64 * 1024
MAX_RESPONSE = 64 * 1024 * 1024


def build(
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    host: str = "127.0.0.1",
) -> bytes:
    """One raw request: head, then the body if any."""
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body is not None:
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def post_json(path: str, body: bytes) -> bytes:
    return build("POST", path, body, {"content-type": "application/json"})


def get(path: str) -> bytes:
    return build("GET", path)


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


Response = tuple[int, dict[str, str], bytes]


def _parse(buffer: bytearray) -> tuple[Response, int] | None:
    """The first whole response in ``buffer`` and its length; None while it is incomplete."""
    end = buffer.find(b"\r\n\r\n", 0, MAX_HEAD)
    if end < 0:
        if len(buffer) >= MAX_HEAD:
            raise ValueError("response head too long")
        return None
    status_line, *lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    status = int(rest[:3])
    if not version.startswith("HTTP/1.") or status < 100:
        raise ValueError(f"bad status line {status_line[:40]!r}")
    headers: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep:
            headers[key.strip().lower()] = value.strip()
    at = end + 4
    if "content-length" in headers:
        stop = at + _size(headers["content-length"], 10)
        return ((status, headers, bytes(buffer[at:stop])), stop) if len(buffer) >= stop else None
    if headers.get("transfer-encoding", "").lower() != "chunked":
        return (status, headers, b""), at
    parts: list[bytes] = []
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = _size(bytes(buffer[at:line_end]).split(b";", 1)[0], 16)
        start = line_end + 2
        if len(buffer) < start + size + 2:
            return None
        parts.append(bytes(buffer[start : start + size]))
        at = start + size + 2
        if size == 0:
            return (status, headers, b"".join(parts)), at


def _size(text: str | bytes, base: int) -> int:
    size = int(text, base)
    if size < 0:
        raise ValueError("negative length")
    return size


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self._waiter: asyncio.Future[Response] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        try:
            parsed = _parse(self.buffer)
            if parsed is None and len(self.buffer) > MAX_RESPONSE:
                raise ValueError("response too large")
        except ValueError as exc:
            waiter.set_exception(exc)
            return
        if parsed is not None:
            response, length = parsed
            del self.buffer[:length]
            waiter.set_result(response)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("connection closed"))

    async def exchange(self, data: bytes) -> Response:
        """Write ``data`` and wait for the next response (one may already be buffered)."""
        assert self.transport is not None
        if self.closed:  # a write to a closed transport is dropped: nothing would answer
            raise ConnectionError("connection closed")
        self._waiter = asyncio.get_running_loop().create_future()
        if data:
            self.transport.write(data)
        self.data_received(b"")
        return await self._waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Client:
    """Keep-alive connections to one server on loopback, at most ``max_connections`` at once."""

    def __init__(self, port: int, max_connections: int = 64, timeout: float = 15.0) -> None:
        self.port = port
        self.timeout = timeout
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []
        self.retried = 0

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

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
        raw = build(method, path, body, headers, f"127.0.0.1:{self.port}")
        if headers.get("expect") == "100-continue" and body:
            # The body goes only if the server wants it (it may refuse it with a 413).
            return await self.send(raw[: len(raw) - len(body)], request_id, then=body)
        return await self.send(raw, request_id)

    async def send(self, raw: bytes, request_id: str = "", then: bytes = b"") -> Reply:
        """Send one pre-built request; ``then`` is a body sent only after a 100 Continue."""
        reply = Reply(request_id, time.monotonic())
        async with self._slots:
            try:
                async with asyncio.timeout(self.timeout):
                    reused = await self._attempt(reply, raw, then)
                    if reused and reply.error == CLOSED_BEFORE_RESPONSE:
                        # An idle keep-alive connection the server closed as we reused it:
                        # the request never reached it. Retry once on a new connection, as
                        # browsers and HTTP libraries do.
                        self.retried += 1
                        reply.error = None
                        await self._attempt(reply, raw, then, fresh=True)
            except TimeoutError:
                reply.error = TIMEOUT
        reply.ended = time.monotonic()
        return reply

    def _take_idle(self) -> _Connection | None:
        """The most recently used idle connection the server has not closed meanwhile (it
        closes keep-alive connections idle for a few seconds) and that holds no stray bytes."""
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and not conn.buffer:
                return conn
            conn.close()
        return None

    async def _attempt(self, reply: Reply, raw: bytes, then: bytes, fresh: bool = False) -> bool:
        """One try; returns whether it used an idle keep-alive connection."""
        conn = None if fresh else self._take_idle()
        reused = conn is not None
        if conn is None:
            try:
                loop = asyncio.get_running_loop()
                _, conn = await loop.create_connection(_Connection, "127.0.0.1", self.port)
            except OSError:
                reply.error = REFUSED
                return False
        keep = False
        try:
            status, headers, body = await conn.exchange(raw)
            if then and status == 100:
                status, headers, body = await conn.exchange(then)
            reply.status, reply.headers, reply.body = status, headers, body
            keep = headers.get("connection", "").lower() != "close"
        except ValueError:
            reply.error = BAD_RESPONSE
        except OSError:
            reply.error = PARTIAL if conn.buffer else CLOSED_BEFORE_RESPONSE
        finally:
            if keep and not conn.closed:
                self._idle.append(conn)
            else:
                conn.close()
        return reused


MakeRequest = Callable[[Client, int], Awaitable[Reply]]


def sending(requests: Iterator[bytes]) -> MakeRequest:
    """Each call sends the next of ``requests`` (pre-built)."""

    async def send(client: Client, i: int) -> Reply:
        return await client.send(next(requests))

    return send


async def open_loop(
    client: Client,
    rate: float,
    duration: float,
    make: MakeRequest,
    max_outstanding: int = 512,
    until: asyncio.Event | None = None,
) -> tuple[list[Reply], int]:
    """Start ``rate`` requests/s for ``duration`` s (or until ``until`` is set) whatever the
    server does; returns the replies, each timed from when it was due, and how many the
    generator itself could not start (``max_outstanding`` in flight)."""
    tasks: list[asyncio.Task[Reply]] = []
    pending: set[asyncio.Task[Reply]] = set()
    skipped = 0

    async def timed(i: int, due: float) -> Reply:
        reply = await make(client, i)
        reply.started = min(reply.started, due)
        return reply

    start = time.monotonic()
    fired = 0
    while fired < rate * duration:
        due = start + fired / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        if until is not None and until.is_set():
            break
        fired += 1
        if len(pending) >= max_outstanding:
            skipped += 1
            continue
        task = asyncio.create_task(timed(fired, due))
        tasks.append(task)
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending)
    return [task.result() for task in tasks], skipped


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
            if reply.error == REFUSED:
                await asyncio.sleep(0.05)  # no server listening: do not spin on connect

    await asyncio.gather(*(worker() for _ in range(workers)))
    return replies


async def send_each(client: Client, requests: Iterable[bytes]) -> list[Reply]:
    """Send each request once, one after the other."""
    return [await client.send(request) for request in requests]


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank; infinite for no values (nothing was
    fast enough to count)."""
    if not values:
        return math.inf
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


@dataclass
class Result:
    """One load phase as the benchmark reports it: latencies of the 200s, errors by kind."""

    mode: str
    seconds: float
    replies: list[Reply]
    skipped: int = 0
    target_rate: float | None = None
    clients: int | None = None

    @property
    def latencies_ms(self) -> list[float]:
        return [r.latency * 1000 for r in self.replies if r.status == 200]

    @property
    def ok(self) -> int:
        return sum(r.status == 200 for r in self.replies)

    @property
    def errors(self) -> Counter[str]:
        errors = Counter(r.kind for r in self.replies if r.status != 200)
        if self.skipped:
            errors[SATURATED] = self.skipped
        return errors

    def summary(self) -> dict[str, object]:
        lat = self.latencies_ms
        errors = self.errors
        statuses = Counter(r.status for r in self.replies if r.status is not None)

        def ms(q: float) -> float | None:
            return round(percentile(lat, q), 2) if lat else None

        return {
            "mode": self.mode,
            "target_rate": self.target_rate,
            "clients": self.clients,
            "seconds": round(self.seconds, 2),
            "requests": len(self.replies) + self.skipped,
            "ok": len(lat),
            "errors": sum(errors.values()),
            "error_kinds": dict(errors),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "rps": round(len(lat) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": ms(50),
            "p95_ms": ms(95),
            "p99_ms": ms(99),
            "max_ms": ms(100),
            "mean_ms": round(sum(lat) / len(lat), 2) if lat else None,
        }
