"""Logging set-up: one JSON object per line (or ``key=value`` text), the same for every logger.

Records may carry structured fields in ``extra={"fields": {...}}``; both formats print them.
The request log (see :mod:`app.api.observe`) is one such record per request.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

import orjson

from app.config import Settings

_MARK = "_concierge_handler"


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...fields}``; exceptions go in ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
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
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...`` for reading in a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"{_timestamp(record.created)} {record.levelname} {record.name}: {record.getMessage()}"
        )
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line += "".join(f" {k}={_text_value(v)}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Install (or replace) this service's handler on the root logger; others are left alone."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(_short_reconnect_errors)
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


_last_second: list[object] = [None, ""]


def _timestamp(created: float) -> str:
    second = int(created)
    if _last_second[0] != second:  # strftime once per second, not once per line
        _last_second[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_last_second[1]}.{int(created % 1 * 1000):03d}Z"


def _text_value(value: object) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items())
    text = str(value)
    return orjson.dumps(text).decode() if (" " in text or not text) else text
