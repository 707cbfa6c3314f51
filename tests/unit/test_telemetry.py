"""Request metrics by route template, the request log line, and the log formatters."""

from __future__ import annotations

import io
import json
import logging
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
from fastapi import FastAPI, Request
from prometheus_client.core import CounterMetricFamily
from prometheus_client.parser import text_string_to_metric_families

import app.observability.logs as logs_module
from app.api.middleware import RequestIdMiddleware
from app.api.telemetry import TelemetryMiddleware, note
from app.config import PROJECT_ROOT, Settings
from app.observability.logs import (
    BackgroundHandler,
    JsonFormatter,
    RecordMaker,
    TextFormatter,
    configure_logging,
    write_logs_directly,
)
from app.observability.metrics import Metrics
from tests.recording import ThreadRecordingStream


def _app(metrics: Metrics, **settings: object) -> FastAPI:
    app = FastAPI()

    @app.get("/rooms/{room_id}")
    async def room(room_id: int, request: Request) -> dict[str, int]:
        note(
            request.scope,
            property="harbour-grand",
            question="Where is room 12, my name is Alice?",
            cached=False,
            timings_ms={"embed": 4.0, "search": 2.0, "answer": 0.5, "total": 7.0},
        )
        return {"room": room_id}

    @app.get("/remembered")
    async def remembered(request: Request) -> dict[str, bool]:
        # The question's vector was still in memory: embedding it took no measurable time.
        timings = {"embed": 0.0, "search": 1.5, "answer": 0.4, "total": 2.0}
        note(request.scope, cached=False, timings_ms=timings)
        return {"ok": True}

    @app.get("/desk")
    async def desk(request: Request) -> dict[str, bool]:
        timings = {"embed": 0.0, "search": 0.0, "answer": 0.0, "total": 0.3}
        note(request.scope, cached=False, timings_ms=timings)
        return {"ok": True}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("broken")

    app.add_middleware(TelemetryMiddleware, metrics=metrics, settings=Settings(**settings))
    app.add_middleware(RequestIdMiddleware)
    return app


def _samples(metrics: Metrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


async def _get(app: FastAPI, *paths: str) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return [await client.get(p, headers={"x-request-id": "req-1"}) for p in paths]


async def test_requests_are_counted_by_route_template_never_raw_path() -> None:
    metrics = Metrics()
    app = _app(metrics)
    responses = await _get(app, "/rooms/1", "/rooms/2", "/rooms/x", "/no/such/page", "/nope2")
    assert [r.status_code for r in responses] == [200, 200, 422, 404, 404]
    counts = _samples(metrics, "concierge_http_request_duration_seconds_count")
    assert counts == {
        (("method", "GET"), ("route", "/rooms/{room_id}"), ("status", "200")): 2.0,
        (("method", "GET"), ("route", "/rooms/{room_id}"), ("status", "422")): 1.0,
        (("method", "GET"), ("route", "unmatched"), ("status", "404")): 2.0,
    }
    stages = _samples(metrics, "concierge_stage_duration_seconds_count")
    assert stages[(("stage", "embed"),)] == 2.0
    assert stages[(("stage", "search"),)] == 2.0
    assert stages[(("stage", "ttft"),)] == 0.0  # declared, never faked


async def test_a_stage_that_took_no_time_is_counted_and_a_reply_without_stages_is_not() -> None:
    metrics = Metrics()
    await _get(_app(metrics), "/remembered", "/desk")
    stages = _samples(metrics, "concierge_stage_duration_seconds_count")
    assert stages[(("stage", "embed"),)] == 1.0
    assert stages[(("stage", "search"),)] == 1.0
    assert stages[(("stage", "answer"),)] == 1.0
    assert stages[(("stage", "ttft"),)] == 0.0


class _Watched(io.StringIO):
    """A stream that says when it is first written to."""

    def __init__(self) -> None:
        super().__init__()
        self.written = threading.Event()

    def write(self, text: str) -> int:
        self.written.set()
        return super().write(text)


def test_invented_methods_share_one_series_and_one_cache_entry() -> None:
    metrics = Metrics()
    for n in range(200):
        metrics.observe_request("unmatched", f"BREW{n}", 405, 0.001)
    counts = _samples(metrics, "concierge_http_request_duration_seconds_count")
    assert counts == {(("method", "other"), ("route", "unmatched"), ("status", "405")): 200.0}
    assert len(metrics._request_children) == 1


async def test_an_unhandled_error_is_recorded_as_500() -> None:
    metrics = Metrics()
    (response,) = await _get(_app(metrics), "/boom")
    assert response.status_code == 500
    counts = _samples(metrics, "concierge_http_request_duration_seconds_count")
    assert counts[(("method", "GET"), ("route", "/boom"), ("status", "500"))] == 1.0


async def test_one_log_line_per_request_without_the_question(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="concierge.request")
    await _get(_app(Metrics()), "/rooms/7")
    (record,) = [r for r in caplog.records if r.name == "concierge.request"]
    fields = record.fields  # type: ignore[attr-defined]
    assert fields["request_id"] == "req-1"
    assert fields["route"] == "/rooms/{room_id}"
    assert fields["status"] == 200
    assert fields["property"] == "harbour-grand"
    assert fields["timings_ms"]["embed"] == 4.0
    assert fields["duration_ms"] > 0
    assert "question" not in fields
    assert fields["question_chars"] == len("Where is room 12, my name is Alice?")
    line = JsonFormatter().format(record)
    assert "Alice" not in line
    assert json.loads(line)["route"] == "/rooms/{room_id}"


async def test_questions_are_logged_only_when_configured(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="concierge.request")
    await _get(_app(Metrics(), log_questions=True), "/rooms/7")
    (record,) = [r for r in caplog.records if r.name == "concierge.request"]
    assert record.fields["question"].endswith("Alice?")  # type: ignore[attr-defined]


async def test_access_log_can_be_switched_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="concierge.request")
    await _get(_app(Metrics(), access_log=False), "/rooms/7")
    assert not [r for r in caplog.records if r.name == "concierge.request"]


def test_formatters_print_fields_and_configure_replaces_only_its_own_handler() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    before = [h for h in root.handlers if not getattr(h, "_concierge_handler", False)]
    level = root.level
    try:
        configure_logging(Settings(log_format="text"), stream)
        handler = configure_logging(Settings(log_format="json"), stream)
        ours = [h for h in root.handlers if getattr(h, "_concierge_handler", False)]
        assert ours == [handler]
        assert [h for h in root.handlers if h is not handler] == before
        logging.getLogger("concierge.test").warning("hello", extra={"fields": {"status": 503}})
        entry = json.loads(stream.getvalue().strip().splitlines()[-1])
        assert entry["msg"] == "hello"
        assert entry["status"] == 503
        assert entry["level"] == "warning"
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"route": "/ask", "timings_ms": {"embed": 1.5}}
    assert TextFormatter().format(record).endswith("request route=/ask timings_ms=embed:1.5")


def test_pool_reconnect_failures_log_one_line_without_a_traceback() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(Settings(log_format="json"), stream)
    try:
        try:
            raise ConnectionRefusedError(111, "Connect call failed")
        except ConnectionRefusedError:
            logging.getLogger("asyncpg.pool").warning(
                "Failed to restore the pool connection floor; retrying", exc_info=True
            )
            logging.getLogger("concierge.other").warning("kept whole", exc_info=True)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    pool_line, other_line = (json.loads(line) for line in stream.getvalue().splitlines())
    assert pool_line["msg"].startswith("Failed to restore the pool connection floor; retrying")
    assert "ConnectionRefusedError" in pool_line["msg"]
    assert "Traceback" not in json.dumps(pool_line)
    assert "Traceback" in json.dumps(other_line)


def test_added_sources_appear_and_a_failing_source_is_skipped() -> None:
    metrics = Metrics()

    def jobs() -> list[CounterMetricFamily]:
        return [CounterMetricFamily("concierge_ingestion_jobs", "Jobs.", value=3)]

    def broken() -> list[CounterMetricFamily]:
        raise RuntimeError("source failed")

    metrics.add_source("broken", broken)
    metrics.add_source("ingestion", jobs)
    assert _samples(metrics, "concierge_ingestion_jobs_total") == {(): 3.0}
    metrics.remove_source("ingestion")
    assert _samples(metrics, "concierge_ingestion_jobs_total") == {}


def test_background_logging_writes_every_line_and_drops_when_full() -> None:
    stream = io.StringIO()
    handler = configure_logging(Settings(log_format="json"), stream, background=True)
    try:
        assert isinstance(handler, BackgroundHandler)
        for n in range(50):
            logging.getLogger("concierge.test").info("line %d", n)
    finally:
        handler.close()  # writes what is queued, then stops the writer thread
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["msg"] for line in lines] == [f"line {n}" for n in range(50)]

    blocked = threading.Event()

    class Stalled(logging.Handler):
        def handle(self, record: logging.LogRecord) -> bool:
            blocked.wait(5)
            return True

    full = BackgroundHandler(Stalled(), max_records=2)
    try:
        for n in range(10):
            full.handle(logging.makeLogRecord({"msg": f"m{n}"}))
        # The writer holds at most one record, the queue two: the rest were dropped at once.
        assert full.dropped >= 7
    finally:
        blocked.set()
        full.close()


def test_warnings_outlast_a_full_queue_and_are_written_without_waiting() -> None:
    blocked = threading.Event()

    class Stalled(logging.Handler):
        def handle(self, record: logging.LogRecord) -> bool:
            blocked.wait(5)
            return True

    full = BackgroundHandler(Stalled(), max_records=2)
    try:
        for n in range(10):
            full.handle(logging.makeLogRecord({"msg": f"m{n}", "levelno": logging.INFO}))
        dropped = full.dropped
        assert dropped >= 7
        for n in range(2):
            full.handle(logging.makeLogRecord({"msg": f"e{n}", "levelno": logging.ERROR}))
        assert full.dropped == dropped  # as many places again for warnings and errors
        for n in range(5):
            full.handle(logging.makeLogRecord({"msg": f"e{n}", "levelno": logging.ERROR}))
        assert full.dropped > dropped  # and no more
    finally:
        blocked.set()
        full.close()

    stream = _Watched()
    target = logging.StreamHandler(stream)
    target.setFormatter(JsonFormatter())
    slow = BackgroundHandler(target, max_records=100, linger_s=30)
    try:
        slow.handle(logging.makeLogRecord({"msg": "info", "levelno": logging.INFO}))
        slow.handle(logging.makeLogRecord({"msg": "warn", "levelno": logging.WARNING}))
        # Far sooner than the 30 s the writer gathers lines for.
        assert stream.written.wait(5)
        messages = [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]
        assert messages == ["info", "warn"]
    finally:
        slow.close()


def test_a_full_batch_is_written_without_waiting_for_more() -> None:
    stream = _Watched()
    target = logging.StreamHandler(stream)
    target.setFormatter(JsonFormatter())
    handler = BackgroundHandler(target, max_records=1_000, linger_s=30)
    try:
        for n in range(logs_module.BATCH_RECORDS - 1):
            handler.handle(logging.makeLogRecord({"msg": f"m{n}", "levelno": logging.INFO}))
        handler.handle(logging.makeLogRecord({"msg": "last", "levelno": logging.INFO}))
        assert stream.written.wait(5)  # far sooner than the 30 s the writer would wait for more
    finally:
        handler.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == logs_module.BATCH_RECORDS
    assert json.loads(lines[-1])["msg"] == "last"


def test_json_lines_to_a_byte_stream_are_written_as_bytes_in_one_call() -> None:
    class Counted(io.BytesIO):
        writes = 0

        def write(self, data: object) -> int:
            Counted.writes += 1
            return super().write(data)  # type: ignore[call-overload, no-any-return]

    raw = Counted()
    stream = io.TextIOWrapper(raw, encoding="utf-8")
    target = logging.StreamHandler(stream)
    target.setFormatter(JsonFormatter())
    handler = BackgroundHandler(target, max_records=100, linger_s=30)
    try:
        stream.write("before\n")  # through the text layer: still first
        for text in ("one", "two\u2028lines", "drei \u00fc"):
            handler.handle(logging.makeLogRecord({"msg": text, "levelno": logging.INFO}))
    finally:
        handler.close()
    lines = raw.getvalue().decode().split("\n")
    assert lines[0] == "before"
    assert lines[-1] == ""
    assert [json.loads(line)["msg"] for line in lines[1:-1]] == [
        "one",
        "two\u2028lines",
        "drei \u00fc",
    ]
    assert "\u2028" not in raw.getvalue().decode()  # escaped: one record, one line
    assert Counted.writes == 2  # the line written before, then the batch in one call


def test_lines_logged_while_the_writer_is_busy_are_written_in_one_call() -> None:
    entered, release = threading.Event(), threading.Event()

    class HeldStream(io.StringIO):
        """Its first write waits until released, as a slow pipe would."""

        def __init__(self) -> None:
            super().__init__()
            self.writes = 0

        def write(self, text: str) -> int:
            self.writes += 1
            if self.writes == 1:
                entered.set()
                release.wait(5)
            return super().write(text)

    stream = HeldStream()
    target = logging.StreamHandler(stream)
    target.setFormatter(JsonFormatter())
    handler = BackgroundHandler(target, max_records=100)
    try:
        handler.handle(logging.makeLogRecord({"msg": "first"}))
        assert entered.wait(5)
        for n in range(50):
            handler.handle(logging.makeLogRecord({"msg": f"m{n}"}))
        # Held: one record in the writer's hands, fifty queued; nothing dropped.
        assert handler.dropped == 0
        release.set()
    finally:
        release.set()
        handler.close()
    messages = [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]
    assert messages == ["first", *(f"m{n}" for n in range(50))]
    assert stream.writes == 2  # the fifty as one batch, not one write per line


def test_a_made_record_is_the_record_the_logger_would_make() -> None:
    logger = logging.getLogger("concierge.request")
    maker = RecordMaker(logger, "request")
    for level in (logging.INFO, logging.WARNING, logging.INFO):
        fields = {"status": level, "route": "/ask"}
        before = time.time()
        made = maker.make(level, fields)
        full = logger.makeRecord(
            logger.name,
            level,
            logs_module.__file__,
            0,
            "request",
            (),
            None,
            extra={"fields": fields},
        )
        timing = {"created", "msecs", "relativeCreated"}
        assert {k: v for k, v in vars(made).items() if k not in timing} == {
            k: v for k, v in vars(full).items() if k not in timing
        }
        assert before <= made.created <= full.created
        assert abs(made.relativeCreated - full.relativeCreated) < 1_000
        assert made.getMessage() == "request"
        assert JsonFormatter().format(made).startswith('{"ts":')
    other = threading.Thread(target=lambda: seen.append(maker.make(logging.INFO, {}).threadName))
    seen: list[str | None] = []
    other.start()
    other.join()
    assert seen == [other.name]  # each thread's records name their own thread


FORGED = "\n2026-01-01T00:00:00.000Z INFO concierge.audit: action=delete actor=admin"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_field_or_message_with_line_breaks_cannot_forge_a_log_line(log_format: str) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(Settings(log_format=log_format), stream)  # type: ignore[arg-type]
    try:
        logging.getLogger("concierge.audit").info(
            "upload" + FORGED,
            extra={
                "fields": {
                    "document_id": "faq" + FORGED,
                    "title": "a\rb\x1b[31m\u2028c\u2029d\x85e",
                    "nested": {"k" + FORGED: "v\nw"},
                    "key\nname": "x",
                }
            },
        )
        try:
            raise ValueError("bad" + FORGED)
        except ValueError:
            logging.getLogger("concierge.test").warning("failed", exc_info=True)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    output = stream.getvalue()
    lines = output.splitlines()  # splits on \r, \x85, \u2028 and \u2029 as well
    starts = [line for line in lines if not line.startswith(" ")]
    assert len(starts) == 2, output
    assert not any(line.startswith("2026-01-01") for line in lines), output
    first = starts[0]
    if log_format == "json":
        entry = json.loads(first)
        assert entry["document_id"] == "faq" + FORGED
        assert entry["title"] == "a\rb\x1b[31m\u2028c\u2029d\x85e"
    else:
        assert 'document_id="faq\\n2026-01-01T00:00:00.000Z INFO' in first
        assert "\\x1b[31m\\u2028c\\u2029d\\x85e" in first
        assert '"key\\nname"=x' in first
        assert "\n    2026-01-01" in output  # the traceback is indented


SHUTDOWN_SCRIPT = """
import logging, signal, sys, threading, time
from app.config import Settings
from app.observability.logs import configure_logging, write_logs_directly

class SlowStream:  # a terminal or pipe that takes its time: the writer thread falls behind
    def write(self, text):
        time.sleep(0.002)
        return sys.stdout.write(text)
    def flush(self):
        sys.stdout.flush()

configure_logging(Settings(log_format="text"), SlowStream(), background=True)
for n in range(200):
    logging.getLogger("concierge.test").info("line %d", n)
write_logs_directly()  # what the application does once it has shut down
logging.getLogger("uvicorn.error").info("Application shutdown complete.")
signal.raise_signal(signal.SIGTERM)  # uvicorn's re-raise: the process ends, no exit handler
"""


def test_every_line_is_written_before_the_process_ends_by_its_signal() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SHUTDOWN_SCRIPT],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -signal.SIGTERM, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == [
        *(f"line {n}" for n in range(200)),
        "Application shutdown complete.",
    ]


def test_after_write_directly_records_are_written_on_the_logging_thread() -> None:
    stream = ThreadRecordingStream()
    writers = stream.writers
    handler = configure_logging(Settings(log_format="json"), stream, background=True)
    try:
        assert isinstance(handler, BackgroundHandler)
        logging.getLogger("concierge.test").info("queued")
        write_logs_directly()
        assert [json.loads(line)["msg"] for line in stream.getvalue().splitlines()] == ["queued"]
        logging.getLogger("concierge.test").info("direct")
        assert json.loads(stream.getvalue().splitlines()[-1])["msg"] == "direct"
        assert writers[-1] == threading.current_thread().name != writers[0]
    finally:
        handler.close()
        logging.getLogger().removeHandler(handler)
