"""Logging set-up: one JSON object per line (or ``key=value`` text), the same for every logger.

Records may carry structured fields in ``extra={"fields": {...}}``; both formats print them.
The request log (see :mod:`app.api.observe`) is one such record per request.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import re
import sys
import threading
import time
from contextvars import ContextVar
from typing import Any, BinaryIO, TextIO

import orjson

from app.config import Settings

_MARK = "_concierge_handler"

# The id of the request being served, set by the request-id middleware for the request's task
# (and the tasks it starts): every log line written meanwhile carries it.
current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def _with_request_id(record: logging.LogRecord) -> bool:
    """Adds ``request_id`` to the record's fields (runs on the logging thread, before any queue,
    so the context variable is the request's)."""
    request_id = current_request_id.get()
    if request_id is not None:
        fields = getattr(record, "fields", None)
        if not isinstance(fields, dict):
            record.fields = {"request_id": request_id}
        elif "request_id" not in fields:
            record.fields = {**fields, "request_id": request_id}
    return True


class RecordMaker:
    """Makes the records of one logger's one kind of line (the request log) from a record
    made once per thread and level: only the time and the fields are set per record, which
    costs a fraction of ``Logger.makeRecord`` (that works out file, module, thread and process
    names every time)."""

    def __init__(self, logger: logging.Logger, msg: str) -> None:
        self.logger = logger
        self.msg = msg
        self._made: dict[tuple[int, int], dict[str, Any]] = {}
        # A forked worker makes its own (its process id differs).
        os.register_at_fork(after_in_child=self._made.clear)

    def make(self, level: int, fields: dict[str, Any]) -> logging.LogRecord:
        if logging.getLogRecordFactory() is not logging.LogRecord:  # someone's own records
            return self._full(level, fields)
        made = self._made.get((level, threading.get_ident()))
        if made is None:
            made = dict(vars(self._full(level, {})))
            if len(self._made) < 64:  # levels x threads: a handful
                self._made[(level, threading.get_ident())] = made
        record: logging.LogRecord = logging.LogRecord.__new__(logging.LogRecord)
        record.__dict__.update(made)
        now = time.time()
        record.created = now
        record.msecs = int((now - int(now)) * 1000) + 0.0
        record.relativeCreated = (now - made["created"]) * 1000 + made["relativeCreated"]
        record.fields = fields
        return record

    def _full(self, level: int, fields: dict[str, Any]) -> logging.LogRecord:
        return self.logger.makeRecord(
            self.logger.name, level, __file__, 0, self.msg, (), None, extra={"fields": fields}
        )


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...fields}``; exceptions go in ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        return self.format_bytes(record).decode()

    def format_bytes(self, record: logging.LogRecord) -> bytes:
        """The line as UTF-8 bytes (what the writer thread writes, without a text layer)."""
        entry: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        # orjson escapes C0 controls; these three still end a line for some readers (checked
        # for in the bytes first: translating every line would cost more than the rest).
        raw = orjson.dumps(entry, default=str)
        # Two byte searches (the breaks' leading bytes) cost a fraction of the pattern's.
        if (b"\xe2\x80" in raw or b"\xc2\x85" in raw) and _UTF8_LINE_BREAKS.search(raw):
            return raw.decode().translate(_JSON_LINE_BREAKS).encode()
        return raw


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...`` for reading in a terminal.

    One record is one line: control characters in the message and in every field are escaped
    (``\\n``, ``\\x1b``...), so a value taken from a request or a file cannot start a forged
    line. A traceback follows on lines indented by four spaces, never at a line start.
    """

    def format(self, record: logging.LogRecord) -> str:
        message = escape_controls(record.getMessage())
        line = f"{_timestamp(record.created)} {record.levelname} {escape_controls(record.name)}"
        line += f": {message}"
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line += "".join(f" {_text_key(k)}={_text_value(v)}" for k, v in fields.items())
        if record.exc_info:
            trace = self.formatException(record.exc_info)
            line += "".join(f"\n    {escape_controls(t)}" for t in trace.splitlines())
        return line


# Lines written in one call at most, unless more gathered while the writer was busy.
BATCH_RECORDS = 64


class BackgroundHandler(logging.Handler):
    """Hands records to a writer thread, so formatting and the write to the stream happen off
    the event loop; the thread formats what has gathered and writes it in one call.

    Handing a record over is an append to a deque: the writer is woken once per batch (by the
    first record after it last looked), then waits ``linger_s`` for more (or until
    ``BATCH_RECORDS`` have gathered), so a busy server does not wake a thread, nor write to the
    stream, once per line (each wake costs the thread more than formatting a line: it must win
    the interpreter lock back from a busy event loop).
    At most ``max_records`` records are held (queued or being written); past that a record
    below WARNING is dropped (counted in ``dropped``) rather than blocking a request, while
    warnings and errors still get as many places again, so that they are the last to go."""

    def __init__(self, target: logging.Handler, max_records: int, linger_s: float = 0.1) -> None:
        super().__init__()
        self.target = target
        self.max_records = max(1, max_records)
        self.linger_s = linger_s
        self.dropped = 0
        self.direct = False  # set by write_directly: records skip the queue
        self._records: collections.deque[logging.LogRecord] = collections.deque()
        # ``accepted`` grows only under this handler's lock, ``written`` only on the writer
        # thread: each has one writer, so their difference needs no lock of its own.
        self._accepted = 0
        self._written = 0
        self._signalled = False
        self._wake = threading.Event()
        self._hurry = threading.Event()  # ends the wait for more: a warning, or stopping
        self._stopping = False
        self._thread: threading.Thread | None = threading.Thread(
            target=self._run, name="log-writer", daemon=True
        )
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        # Handler.handle calls this under the handler's lock: one producer at a time.
        if self.direct:
            self.target.handle(record)
            return
        urgent = (record.levelno or 0) >= logging.WARNING
        held = self._accepted - self._written
        if held >= self.max_records and (not urgent or held >= 2 * self.max_records):
            self.dropped += 1
            return
        self._accepted += 1
        self._records.append(record)
        # After the append: a writer that cleared the flag before it drains sees this record,
        # and one that cleared it after is woken again.
        if not self._signalled:
            self._signalled = True
            self._wake.set()
        if urgent or len(self._records) == BATCH_RECORDS:
            # Written without waiting for more: a warning at once; and a batch is kept short
            # enough that formatting it holds the interpreter lock (which the event loop waits
            # for meanwhile) for well under a millisecond.
            self._hurry.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if not self._stopping and self.linger_s > 0:
                self._hurry.wait(self.linger_s)  # let a batch gather
            self._hurry.clear()
            self._wake.clear()
            self._signalled = False
            self._write_queued()
            if self._stopping:
                return

    def _write_queued(self) -> None:
        batch: list[logging.LogRecord] = []
        records = self._records
        while records:
            batch.append(records.popleft())
        if batch:
            try:
                _write_batch(self.target, batch)
            finally:
                self._written += len(batch)

    def _stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:  # stopping twice would wait on a dead thread
            self._stopping = True
            self._hurry.set()
            self._wake.set()
            thread.join(10)
            if not thread.is_alive():  # what came after its last look (its counter is free now)
                self._write_queued()

    def write_directly(self) -> None:
        """Write what is queued, stop the writer thread, and from now on write each record at
        once, on the thread that logs it. For the end of the process: uvicorn re-raises the
        signal that stopped it once it has shut down, which ends the process with no exit
        handler run, so a record still queued then would never be written."""
        self.acquire()  # emit runs under this lock: no record is queued after the flag is set
        try:
            self.direct = True
        finally:
            self.release()
        self._stop()

    def close(self) -> None:
        """Write what is queued, stop the writer thread, close the target."""
        self._stop()
        self.target.close()
        super().close()


def _write_batch(target: logging.Handler, batch: list[logging.LogRecord]) -> None:
    """Every record of ``batch`` through ``target``: for a stream, formatted and written in one
    call and flushed once; for any other handler, one record at a time."""
    if type(target) is not logging.StreamHandler:
        for record in batch:
            target.handle(record)
        return
    formatter = target.formatter
    raw = getattr(target.stream, "buffer", None)
    if type(formatter) is JsonFormatter and raw is not None and target.terminator == "\n":
        _write_json_batch(target, formatter, raw, batch)
        return
    lines = []
    for record in batch:
        if not target.filter(record):
            continue
        try:
            lines.append(target.format(record) + target.terminator)
        except Exception:
            target.handleError(record)
    if not lines:
        return
    target.acquire()
    try:
        target.stream.write("".join(lines))
        target.flush()
    except Exception:
        target.handleError(batch[-1])
    finally:
        target.release()


def _write_json_batch(
    target: logging.StreamHandler[TextIO],
    formatter: JsonFormatter,
    raw: BinaryIO,
    batch: list[logging.LogRecord],
) -> None:
    """``_write_batch`` for JSON lines to a text stream over a byte stream (standard error):
    the lines are made as bytes and written below the text layer, which would only decode
    and encode them again."""
    lines = []
    for record in batch:
        if not target.filter(record):
            continue
        try:
            lines.append(formatter.format_bytes(record))
        except Exception:
            target.handleError(record)
    if not lines:
        return
    lines.append(b"")
    target.acquire()
    try:
        target.stream.flush()  # whatever was written through the text layer goes first
        raw.write(b"\n".join(lines))
        raw.flush()
    except Exception:
        target.handleError(batch[-1])
    finally:
        target.release()


def write_logs_directly() -> None:
    """Every record from now on is written at once (see :meth:`BackgroundHandler.write_directly`);
    the application calls this when it has shut down."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, BackgroundHandler):
            handler.write_directly()


def configure_logging(
    settings: Settings, stream: TextIO | None = None, background: bool | None = None
) -> logging.Handler:
    """Install (or replace) this service's handler on the root logger; others are left alone.

    Lines go to standard error (or ``stream``) from a writer thread when ``background`` (by
    default: writing to standard error with ``RAG_LOG_QUEUE_RECORDS`` > 0), else at once.
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _MARK, False):
            root.removeHandler(old)
            if isinstance(old, BackgroundHandler):
                old.close()
    writer = logging.StreamHandler(stream or sys.stderr)
    writer.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    writer.addFilter(_short_reconnect_errors)
    if background is None:
        background = stream is None and settings.log_queue_records > 0
    handler: logging.Handler = writer
    if background:
        handler = BackgroundHandler(
            writer, max(1, settings.log_queue_records), linger_s=settings.log_batch_s
        )
        atexit.register(handler.close)
    handler.addFilter(_with_request_id)
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    return handler


def _short_reconnect_errors(record: logging.LogRecord) -> bool:
    """The pool's retries to reconnect during a database outage: one line each, the error
    named, no traceback (``/readyz`` and the 503s already say the database is down)."""
    if record.name == "asyncpg.pool" and record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        record.msg = f"{record.getMessage()} ({type(error).__name__}: {error})"
        record.args = None
        record.exc_info = None
        record.exc_text = None
    return True


_last_second: tuple[int, str] = (-1, "")


def _timestamp(created: float) -> str:
    global _last_second
    second = int(created)
    last = _last_second
    if last[0] != second:  # strftime once per second, not once per line
        last = _last_second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{last[1]}.{int((created - second) * 1000):03d}Z"


_JSON_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})
_UTF8_LINE_BREAKS = re.compile(b"\xc2\x85|\xe2\x80[\xa8\xa9]")
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# A bare value: no space, quote, equals sign or control character (else it is quoted).
_BARE = re.compile(r"[^\s\"=\\\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def escape_controls(text: str) -> str:
    """``text`` with every control character written as a visible escape (one line)."""
    return _CONTROLS.sub(
        lambda m: (
            _SHORT.get(m.group(), f"\\x{ord(m.group()):02x}")
            if ord(m.group()) < 0x100
            else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )


def _text_key(key: object) -> str:
    text = str(key)
    return text if _BARE.fullmatch(text) else _quoted(text)


def _quoted(text: str) -> str:
    return '"' + escape_controls(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def _text_value(value: object) -> str:
    if isinstance(value, dict):
        return ",".join(f"{_text_key(k)}:{_text_value(v)}" for k, v in value.items())
    text = str(value)
    return text if _BARE.fullmatch(text) else _quoted(text)
