"""Per-request telemetry: a pure ASGI middleware that times each request, records it in the
Prometheus histograms and writes one structured log line; and the ``/metrics`` route.

Handlers add their own fields to the request's log line with :func:`note` (the ``/ask``
handler adds the property, cache and escalation flags and the stage timings); stage timings
of computed answers also feed the stage histograms, so the hot path itself records nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import ServicesDep
from app.config import Settings
from app.errors import NotFound
from app.observability.logs import RecordMaker
from app.observability.metrics import CONTENT_TYPE, STAGES, UNMATCHED_ROUTE, Metrics

request_log = logging.getLogger("concierge.request")
_request_records = RecordMaker(request_log, "request")

LOG_FIELDS = "log_fields"
# Probes and scrapes arrive every few seconds; they are logged at debug level only.
QUIET_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})
_QUESTION_LOG_CHARS = 500

router = APIRouter()


def note(scope: Scope, **fields: Any) -> None:
    """Add fields to this request's log line (and stage timings to the stage histograms)."""
    state = scope.setdefault("state", {})
    state.setdefault(LOG_FIELDS, {}).update(fields)


def route_template(scope: Scope) -> str:
    """The matched route's template (``/ask``), or ``unmatched``: never the raw path."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


class TelemetryMiddleware:
    """Times every HTTP request, records it by route template and status, and logs it."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None, settings: Settings) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = settings.access_log
        self.log_questions = settings.log_questions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before it starts a response

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self._finish(scope, status, time.perf_counter() - started)

    def _finish(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        fields: dict[str, Any] = (scope.get("state") or {}).get(LOG_FIELDS) or {}
        metrics = self.metrics
        if metrics is not None:
            metrics.observe_request(route, scope["method"], status, seconds)
            timings = fields.get("timings_ms")
            # A computed answer's stages, zero included: a question whose vector was still in
            # memory took no time to embed. A reply none of whose stages ran (a request for
            # the desk, which searches nothing) has no stage to show.
            if timings and not fields.get("cached") and any(timings.get(s) for s in STAGES):
                for stage in STAGES:
                    value = timings.get(stage)
                    if value is not None:
                        metrics.observe_stage(stage, value / 1000.0)
        if not self.access_log:
            return
        level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
        if status >= 500:
            level = logging.WARNING
        if request_log.isEnabledFor(level):
            # make + handle skips Logger.log's caller lookup (a stack walk per request) and most
            # of a record's making.
            line = self._line(scope, route, status, seconds, fields)
            request_log.handle(_request_records.make(level, line))

    def _line(
        self, scope: Scope, route: str, status: int, seconds: float, fields: dict[str, Any]
    ) -> dict[str, Any]:
        line: dict[str, Any] = {
            "request_id": (scope.get("state") or {}).get("request_id"),
            "method": scope["method"],
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        }
        for key, value in fields.items():
            if key == "question":
                if self.log_questions:
                    line["question"] = str(value)[:_QUESTION_LOG_CHARS]
                line["question_chars"] = len(str(value))
            else:
                line[key] = value
        return line


@router.get("/metrics", tags=["operations"], include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus metrics of this process (scrape each worker/replica separately)."""
    if services.metrics is None:
        raise NotFound("metrics are disabled (RAG_METRICS_ENABLED)")
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
