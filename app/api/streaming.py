"""The streamed ``/ask``: errors before the first byte stay plain JSON errors; after that,
the answer and any failure travel as events (see :mod:`app.api.sse`)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator

from fastapi import Request
from sse_starlette import EventSourceResponse
from starlette.types import Scope

from app.answering.types import Delta
from app.api.deadline import answer_deadline
from app.api.middleware import request_id_of
from app.api.render import render_answer, render_sources
from app.api.schemas import AskRequest
from app.api.sse import event_stream, shutdown_error, sse_event
from app.api.telemetry import note
from app.config import Settings
from app.rag.service import RagService
from app.rag.types import AnswerStream

log = logging.getLogger(__name__)


async def stream_answer(
    body: AskRequest,
    top_k: int,
    request: Request,
    rag: RagService,
    settings: Settings,
    started: float,
) -> EventSourceResponse:
    """Find the sources (raising the usual errors), then stream the answer as events."""
    request_id = request_id_of(request.scope)
    async with answer_deadline(settings.request_timeout_s):
        stream = await rag.ask_stream(
            body.property_id,
            body.question,
            top_k,
            body.session_id,
            body.room,
            language=body.language,
        )
    farewell = sse_event("error", shutdown_error(request_id))
    events = _events(stream, request_id, started, request.scope)
    return event_stream(events, settings.stream_ping_s, farewell)


async def _events(
    stream: AnswerStream, request_id: str, started: float, scope: Scope
) -> AsyncGenerator[bytes, None]:
    # A cached answer's citations are known before any text is sent.
    citations = stream.cached_result.citations if stream.cached_result is not None else None
    yield sse_event(
        "sources",
        {"sources": render_sources(stream.sources, citations), "request_id": request_id},
    )
    try:
        async with contextlib.aclosing(stream.events):
            async for event in stream.events:
                if isinstance(event, Delta):
                    yield sse_event("delta", {"text": event.text})
                else:
                    total = (time.perf_counter() - started) * 1000
                    body = render_answer(event.result, event.cached, request_id, total)
                    # The request's log line and stage histograms, written when the stream
                    # ends, get the answer's outcome and timings as a plain answer's do.
                    note(
                        scope,
                        cached=event.cached,
                        escalate=event.result.escalate,
                        answer_source=event.result.answer_source,
                        timings_ms=body["timings_ms"],
                    )
                    yield sse_event("done", body)
    except Exception:
        log.exception("answer stream failed")
        error = {
            "code": "internal_error",
            "message": "something went wrong on our side",
            "request_id": request_id,
        }
        yield sse_event("error", {"error": error})
