"""Reading staff files in a child process with CPU-time, memory and wall-time limits.

Parsers of rich formats (DOCX, PDF, HTML) can be made to spend minutes of CPU or gigabytes of
memory on a small file. Each file is read by a fresh child process, forked from a clean
fork server (never from the API server with its model threads and event loop): the child
limits its own CPU time from the moment it starts reading (a CPU timer, ``RLIMIT_CPU`` behind
it) and its memory (``RLIMIT_AS``), and the parent kills it past the wall-time limit. A file
that hits a limit is skipped with a reason, like any unreadable file; the server's event loop
and model thread only wait on a pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import os
import resource
import signal
import time
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from app.config import Settings
from ingestion.documents import MAX_FILE_BYTES, Document, load_bytes, reason_for
from ingestion.loaders import LoadError

# Modules the fork server imports once, so that each child starts in milliseconds.
_PRELOAD = [
    "ingestion.sandbox", "ingestion.documents", "ingestion.loaders", "docx", "pypdf",
    "selectolax.lexbor",
]  # fmt: skip
_context: Any = None


@dataclass(frozen=True, slots=True)
class LoadLimits:
    """What reading one file may cost."""

    cpu_s: float = 15.0
    memory_bytes: int = 1024 * 1024 * 1024
    wall_s: float = 20.0
    text_chars: int = MAX_FILE_BYTES  # the text read from it: as long as a file may be large

    @classmethod
    def from_settings(cls, settings: Settings) -> LoadLimits:
        return cls(
            settings.ingest_load_cpu_s,
            settings.ingest_load_memory_mb * 1024 * 1024,
            settings.ingest_load_timeout_s,
            settings.ingest_max_file_bytes,
        )

    def within(self, deadline: float) -> LoadLimits:
        """These limits, with at most the time left until ``deadline`` (monotonic)."""
        return replace(self, wall_s=min(self.wall_s, max(0.0, deadline - time.monotonic())))


def _mp_context() -> Any:
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        _context = context
    return _context


def _child(conn: Connection, raw: bytes, key: str, source: str, limits: LoadLimits) -> None:
    """Runs in the child: set the limits, read, send ("ok", documents) or ("skip", reason)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    os.nice(10)  # guests' requests come first on a busy machine
    _limit_cpu(limits.cpu_s)
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    try:
        conn.send(("ok", load_bytes(raw, key, source, limits.text_chars)))
    except MemoryError:
        conn.send(("skip", _too_much_memory(limits)))
    except Exception as exc:  # any parser failure is a reason to skip the file, not a crash
        conn.send(("skip", reason_for(exc)))
    finally:
        conn.close()


def _limit_cpu(cpu_s: float) -> None:
    """Ends this process once reading has taken ``cpu_s`` seconds of CPU from now.

    Counted from now, not from the process's start: multiprocessing runs the launching
    program's main module again in the child when that is a plain module (not a package's
    ``__main__``), which may cost a second of CPU before the file is read. ``ITIMER_PROF``
    counts the process's CPU time from when it is set, and its signal, unhandled, ends the
    process; ``RLIMIT_CPU`` (whole seconds of the process's life) is kept as a backstop."""
    signal.setitimer(signal.ITIMER_PROF, cpu_s)
    used = resource.getrusage(resource.RUSAGE_SELF)
    backstop = math.ceil(used.ru_utime + used.ru_stime + cpu_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (backstop, backstop + 1))


def _too_much_memory(limits: LoadLimits) -> str:
    return f"reading it needs more than {limits.memory_bytes // (1024 * 1024)} MiB of memory"


def _start(raw: bytes, key: str, source: str, limits: LoadLimits) -> tuple[BaseProcess, Connection]:
    context = _mp_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_child, args=(sender, raw, key, source, limits), daemon=True, name="file-reader"
    )
    process.start()
    sender.close()
    return process, receiver


def _finish(process: BaseProcess, receiver: Connection, limits: LoadLimits) -> list[Document]:
    """The child's answer (the pipe is readable or the time is up), then the child reaped."""
    try:
        if not receiver.poll(0):
            raise LoadError(f"reading it took longer than {limits.wall_s:g} s")
        try:
            status, payload = receiver.recv()
        except (EOFError, OSError):
            process.join(5)
            raise LoadError(_died(process.exitcode, limits)) from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(5)
        with contextlib.suppress(ValueError):
            process.close()
    if status != "ok":
        raise LoadError(str(payload))
    return list(payload)


def _kill(process: BaseProcess, receiver: Connection) -> None:
    receiver.close()
    process.kill()
    process.join(1)


def _died(exitcode: int | None, limits: LoadLimits) -> str:
    if exitcode in (-signal.SIGPROF, -signal.SIGXCPU):
        return f"reading it took more than {limits.cpu_s:g} s of CPU time"
    if exitcode == -signal.SIGKILL:
        return _too_much_memory(limits)
    return f"the reader stopped unexpectedly (exit status {exitcode})"


def load_isolated(raw: bytes, key: str, source: str, limits: LoadLimits) -> list[Document]:
    """:func:`ingestion.documents.load_bytes` in a child process within ``limits``.

    Raises :class:`LoadError` with the reason (the parser's, or the limit it hit).
    """
    process, receiver = _start(raw, key, source, limits)
    try:
        receiver.poll(limits.wall_s)
    except BaseException:  # Ctrl-C: the command stops, and so does the child (at once)
        _kill(process, receiver)
        raise
    return _finish(process, receiver, limits)


async def load_isolated_async(
    raw: bytes, key: str, source: str, limits: LoadLimits
) -> list[Document]:
    """:func:`load_isolated` for a coroutine: the event loop waits on the pipe, and a cancelled
    caller (a client gone, a shutdown) kills the child at once."""
    process, receiver = await asyncio.to_thread(_start, raw, key, source, limits)
    loop = asyncio.get_running_loop()
    readable = loop.create_future()

    def ready() -> None:
        if not readable.done():
            readable.set_result(None)

    loop.add_reader(receiver.fileno(), ready)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(readable, limits.wall_s)
    except BaseException:  # cancelled: the caller is gone, so is the child (at once)
        loop.remove_reader(receiver.fileno())
        _kill(process, receiver)
        raise
    loop.remove_reader(receiver.fileno())
    # Some event loops (uvloop) leave a watched descriptor non-blocking: a result larger than
    # the pipe's buffer would then fail half-read. The thread below reads it blocking.
    os.set_blocking(receiver.fileno(), True)
    # Receiving a large result and reaping the child may block a little: off the loop.
    return await asyncio.to_thread(_finish, process, receiver, limits)
