"""Child processes of the harness: started in their own session, always stopped on exit."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import FrameType


class Children:
    """Every process the harness starts; :meth:`stop_all` runs on exit, error or signal."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        atexit.register(self.stop_all)

    def start(self, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
        """SIGTERM the child's whole process group, SIGKILL it if it lingers."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        # Workers of a multi-process server may outlive their parent for a moment.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc in self._procs:
            self._procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(reversed(self._procs)):
            self.stop(proc)


def install_signal_handlers() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit so ``finally`` blocks and atexit run, and make
    sure Ctrl-C raises KeyboardInterrupt even where the shell started us with SIGINT ignored."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def http_status(port: int, path: str, timeout: float = 1.0) -> int | None:
    """Status of one GET, or None when nothing answers (a raw socket: no client library)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(
                f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode()
            )
            head = sock.recv(64)
    except OSError:
        return None
    if not head.startswith(b"HTTP/1.1 "):
        return None
    return int(head[9:12])


def http_body(port: int, path: str, timeout: float = 1.0) -> bytes | None:
    """Body of one GET (the whole response read until the server closes), or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(
                f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode()
            )
            parts = []
            while len(parts) < 64 and (part := sock.recv(65536)):
                parts.append(part)
    except OSError:
        return None
    _, sep, body = b"".join(parts).partition(b"\r\n\r\n")
    return body if sep else None


async def wait_warm(port: int, limit_s: float) -> float:
    """Wait until the service has read its partitions into the database's buffers
    (``/readyz`` says ``search_warm`` is no longer ``warming``); seconds waited. A service
    that does not say goes on at once."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        body = await asyncio.to_thread(http_body, port, "/readyz", 2.0)
        try:
            status = json.loads(body or b"{}").get("search_warm")
        except ValueError:
            status = "warming"  # a partial answer: ask again
        if status != "warming":
            return time.perf_counter() - started
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the service was still warming its search after {limit_s:.0f}s")


async def wait_ready(proc: subprocess.Popen[bytes], port: int, path: str, limit_s: float) -> float:
    """Poll ``path`` until it answers 200; seconds waited. Raises if the process dies.

    Polls from the event loop (no thread blocked in a wait), so Ctrl-C is acted on at once.
    """
    started = time.perf_counter()
    deadline = started + limit_s
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with status {proc.returncode} during start-up")
        if await asyncio.to_thread(http_status, port, path, 0.5) == 200:
            return time.perf_counter() - started
        await asyncio.sleep(0.02)
    raise RuntimeError(f"not ready on port {port} within {limit_s:.0f}s")


async def wait_exit(proc: subprocess.Popen[bytes], limit_s: float) -> int:
    """Wait for a child to exit without blocking a thread; raises TimeoutError past ``limit_s``."""
    deadline = time.perf_counter() + limit_s
    while proc.poll() is None:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"process {proc.pid} still running after {limit_s:.0f}s")
        await asyncio.sleep(0.1)
    return proc.returncode


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (several workers), in MiB."""
    total = 0
    for p in [pid, *_descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return found
    for child in children:
        found.append(int(child))
        found.extend(_descendants(int(child)))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time consumed so far by a process and its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total
