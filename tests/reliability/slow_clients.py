"""Slow and idle clients against a real server process (the ``python -m app serve`` protocol).

Silent connections, a slowloris (headers a byte at a time), oversized headers and readers that
never take their replies, all at once, while ``/healthz`` is polled: the server must close each
of them within its deadline, keep answering, and end with the descriptors it started with.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import httpx

from tests.reliability.harness import Env, Outcome, ServerProcess

HEADER_TIMEOUT_S = 2.0
SEND_TIMEOUT_S = 2.0
MAX_CONNECTIONS = 150


async def _connect(port: int, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return sock


def _closed_by_peer(sock: socket.socket) -> bool:
    """True when the server has closed the connection (EOF or reset), reading what is left."""
    try:
        while True:
            data = sock.recv(1 << 20)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True


async def _slowloris(sock: socket.socket, stop: asyncio.Event) -> None:
    """A request line, then one header byte every 0.5 s until told to stop or cut off."""
    loop = asyncio.get_running_loop()
    with contextlib.suppress(OSError):
        await loop.sock_sendall(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        while not stop.is_set():
            await loop.sock_sendall(sock, b"a")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)


async def _reply(sock: socket.socket, limit_s: float = 5.0) -> bytes:
    """What the server sent on ``sock`` until it closed it (or ``limit_s`` passed)."""
    loop = asyncio.get_running_loop()
    data = b""
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(limit_s):
            while chunk := await loop.sock_recv(sock, 65536):
                data += chunk
    return data


async def _wait_all_closed(socks: list[socket.socket], limit_s: float) -> float | None:
    """Seconds until the server closed every socket; None when some were still open."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if all(_closed_by_peer(s) for s in socks):
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    return None


async def slow_clients(env: Env, silent: int = 200, slow: int = 100, readers: int = 4) -> Outcome:
    """Hold ``silent`` + ``slow`` connections and ``readers`` non-reading clients at once."""
    outcome = Outcome(
        "slow-clients",
        f"{silent} silent + {slow} slowloris conns, {readers} non-reading clients, 40 kB headers",
    )
    server = ServerProcess(
        env,
        header_timeout_s=HEADER_TIMEOUT_S,
        send_timeout_s=SEND_TIMEOUT_S,
        max_connections=MAX_CONNECTIONS,
    )
    async with server, httpx.AsyncClient(base_url=server.base, timeout=5) as http:
        before = await server.quiet_stats()
        health: list[float] = []
        failures = 0
        stop = asyncio.Event()

        async def poll_health() -> None:
            nonlocal failures
            while not stop.is_set():
                started = time.monotonic()
                try:
                    ok = (await http.get("/healthz")).status_code == 200
                except httpx.HTTPError:
                    ok = False
                health.append(time.monotonic() - started)
                failures += 0 if ok else 1
                await asyncio.sleep(0.1)

        poller = asyncio.create_task(poll_health())
        held = [await _connect(server.port) for _ in range(silent)]
        loris = [await _connect(server.port) for _ in range(slow)]
        trickles = [asyncio.create_task(_slowloris(s, stop)) for s in loris]
        # Readers that ask for many replies (pipelined) and never read one.
        pipelined = b"GET /widget.js HTTP/1.1\r\nHost: x\r\n\r\n" * 400
        stuck = [await _connect(server.port, rcvbuf=4096) for _ in range(readers)]
        loop = asyncio.get_running_loop()
        for sock in stuck:
            await loop.sock_sendall(sock, pipelined)
        big = await _connect(server.port)
        await loop.sock_sendall(big, b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 40_000)
        await asyncio.sleep(0.5)
        during = await server.stats()

        closed_in = await _wait_all_closed(held + loris, HEADER_TIMEOUT_S + 4)
        stuck_closed_in = await _wait_all_closed(stuck, SEND_TIMEOUT_S + 6)
        big_reply = await _reply(big)
        stop.set()
        await asyncio.gather(poller, *trickles)
        for sock in [*held, *loris, *stuck, big]:
            sock.close()
        after = await server.quiet_stats()

    attack = silent + slow + readers + 1
    outcome.requests = attack + len(health)
    outcome.errors["healthz failed"] += failures
    outcome.check(
        "descriptors before/during/after",
        f"{before['fds']}/{during['fds']}/{after['fds']}",
        during["fds"] <= before["fds"] + MAX_CONNECTIONS + 10 and after["fds"] <= before["fds"] + 2,
    )
    outcome.check(
        "silent and slowloris conns closed by the server",
        f"all {silent + slow} within {closed_in:.1f}s" if closed_in is not None else "some held",
        closed_in is not None and closed_in <= HEADER_TIMEOUT_S + 2,
    )
    outcome.check(
        "non-reading clients cut off",
        f"all {readers} within {stuck_closed_in:.1f}s" if stuck_closed_in is not None else "held",
        stuck_closed_in is not None,
    )
    outcome.check(
        "oversized headers refused", big_reply.split(b"\r\n", 1)[0].decode(errors="replace"),
        big_reply.startswith(b"HTTP/1.1 431"),
    )  # fmt: skip
    slowest = max(health, default=0.0)
    outcome.check(
        "/healthz during the attack",
        f"{len(health) - failures}/{len(health)} ok, slowest {slowest * 1000:.0f} ms",
        failures == 0 and len(health) >= 10 and slowest < 1.0,
    )
    return outcome
