"""A light HTTP/1.1 load generator on asyncio protocols: keep-alive connections, pre-built
requests, a minimal response parser. Open loop (a fixed arrival rate, latency counted from the
scheduled send time, so a slow server cannot hide its queueing) and closed loop (N clients).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

Request = bytes
OnBody = Callable[[int, bytes], None]


def post_json(path: str, body: bytes) -> Request:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def get(path: str) -> Request:
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buffer[:end]).lower()
        at = head.find(b"content-length:")
        if at < 0:
            waiter.set_exception(ConnectionError("response without content-length"))
            return
        line_end = head.find(b"\r\n", at)
        length = int(head[at + 15 : line_end if line_end > 0 else None])
        total = end + 4 + length
        if len(self._buffer) < total:
            return
        status = int(head[9:12])
        body = bytes(self._buffer[end + 4 : total])
        del self._buffer[:total]
        self._waiter = None
        waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("connection closed"))

    async def send(self, request: Request) -> tuple[int, bytes]:
        assert self.transport is not None
        if self.closed:  # a write to a closed transport is dropped: nothing would answer
            raise ConnectionError("connection closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self._waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _take_idle(idle: list[_Connection]) -> _Connection | None:
    """The most recently used idle connection the server has not closed meanwhile (it closes
    keep-alive connections idle for a few seconds)."""
    while idle:
        conn = idle.pop()
        if not conn.closed:
            return conn
        conn.close()
    return None


async def _connect(port: int) -> _Connection:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(_Connection, "127.0.0.1", port)
    return conn


@dataclass
class Result:
    """Latencies (ms) of successful requests, status counts and errors of one load phase."""

    mode: str
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    target_rate: float | None = None
    clients: int | None = None

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def summary(self) -> dict[str, object]:
        lat = np.array(self.latencies_ms)
        return {
            "mode": self.mode,
            "target_rate": self.target_rate,
            "clients": self.clients,
            "seconds": round(self.seconds, 2),
            "requests": self.ok + self.failed,
            "ok": self.ok,
            "errors": self.failed,
            "error_kinds": dict(self.errors),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "rps": round(self.ok / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": _pct(lat, 50),
            "p95_ms": _pct(lat, 95),
            "p99_ms": _pct(lat, 99),
            "max_ms": _pct(lat, 100),
            "mean_ms": round(float(np.mean(lat)), 2) if len(lat) else None,
        }


def _pct(values: np.ndarray, q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if len(values) else None


async def _one(
    conn: _Connection,
    request: Request,
    result: Result,
    on_body: OnBody | None,
    request_timeout_s: float,
) -> tuple[bool, bool]:
    """Send one request; (connection reusable, answered 200)."""
    try:
        status, body = await asyncio.wait_for(conn.send(request), request_timeout_s)
    except TimeoutError:
        result.errors["timeout"] += 1
        return False, False
    except (ConnectionError, OSError) as exc:
        result.errors[type(exc).__name__] += 1
        return False, False
    result.statuses[status] += 1
    if status != 200:
        result.errors[f"http_{status}"] += 1
        return True, False
    if on_body is not None:
        on_body(status, body)
    return True, True


async def open_loop(
    port: int,
    requests: Iterator[Request],
    rate: float,
    seconds: float,
    *,
    on_body: OnBody | None = None,
    max_connections: int = 256,
    request_timeout_s: float = 15.0,
) -> Result:
    """Send at ``rate`` per second for ``seconds``, whatever the server's pace."""
    result = Result("open-loop", seconds, target_rate=rate)
    idle: list[_Connection] = []
    busy = 0
    tasks: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()

    async def fire(scheduled: float, request: Request) -> None:
        nonlocal busy
        busy += 1
        conn: _Connection | None = None
        try:
            conn = _take_idle(idle) or await _connect(port)
            reusable, ok = await _one(conn, request, result, on_body, request_timeout_s)
            if ok:
                result.latencies_ms.append((loop.time() - scheduled) * 1000)
            if reusable and not conn.closed:
                idle.append(conn)
            else:
                conn.close()
        except OSError as exc:
            result.errors[type(exc).__name__] += 1
        finally:
            busy -= 1

    start = loop.time() + 0.01
    sent = 0
    total = int(rate * seconds)
    while sent < total:
        now = loop.time()
        due = start + sent / rate
        if due > now:
            await asyncio.sleep(due - now)
            continue
        if busy >= max_connections:
            result.errors["client_saturated"] += 1
        else:
            task = asyncio.create_task(fire(due, next(requests)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        sent += 1
    if tasks:
        await asyncio.wait(tasks)
    result.seconds = max(seconds, loop.time() - start)
    for conn in idle:
        conn.close()
    return result


async def closed_loop(
    port: int,
    requests: Iterator[Request],
    clients: int,
    seconds: float,
    *,
    on_body: OnBody | None = None,
    request_timeout_s: float = 15.0,
) -> Result:
    """``clients`` connections, each sending its next request as soon as the last returns."""
    result = Result("closed-loop", seconds, clients=clients)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    async def client() -> None:
        conn: _Connection | None = None
        while loop.time() < deadline:
            try:
                if conn is None or conn.closed:
                    conn = await _connect(port)
            except OSError as exc:
                result.errors[type(exc).__name__] += 1
                await asyncio.sleep(0.05)
                continue
            sent = time.perf_counter()
            reusable, ok = await _one(conn, next(requests), result, on_body, request_timeout_s)
            if not reusable:
                conn.close()
                conn = None
            elif ok:
                result.latencies_ms.append((time.perf_counter() - sent) * 1000)
        if conn is not None:
            conn.close()

    began = loop.time()
    await asyncio.gather(*(client() for _ in range(clients)))
    result.seconds = loop.time() - began
    return result


async def send_each(port: int, requests: list[Request], request_timeout_s: float = 15.0) -> Result:
    """Send each request once, one after the other, on one connection."""
    result = Result("sequential", 0.0, clients=1)
    began = time.perf_counter()
    conn = await _connect(port)
    try:
        for request in requests:
            sent = time.perf_counter()
            reusable, ok = await _one(conn, request, result, None, request_timeout_s)
            if not reusable:
                conn.close()
                conn = await _connect(port)
            elif ok:
                result.latencies_ms.append((time.perf_counter() - sent) * 1000)
    finally:
        conn.close()
    result.seconds = time.perf_counter() - began
    return result
