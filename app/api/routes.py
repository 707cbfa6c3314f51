"""Guest and health routes: parse, call one service, return."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.api.deadline import answer_deadline
from app.api.deps import ServicesDep, services_of
from app.api.middleware import header, request_id_of
from app.api.plain_route import plain_json_route
from app.api.render import CachedBodies, render_answer
from app.api.responses import JSONBytes
from app.api.schemas import AskRequest, AskResponse, ErrorResponse
from app.api.streaming import stream_answer
from app.api.telemetry import note
from app.db.migrate import current_revision
from app.errors import InvalidRequest
from app.search import spelling

router = APIRouter()

# Cached answers' bodies, rendered once (a few thousand typical answers).
_cached_bodies = CachedBodies(max_bytes=8 * 1024 * 1024)

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (404, 408, 413, 422, 429, 503, 504)
}


_STREAM_DOC: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/event-stream": {}}, "description": "the answer, or its event stream"}
}


async def answer_ask(body: AskRequest, request: Request) -> Response:
    """The answer to a validated ``/ask`` body (see :func:`ask`)."""
    started = time.perf_counter()
    # Read from the application, not through a dependency: each costs a resolution per request.
    services = services_of(request)
    rag, settings = services.rag, services.settings
    note(
        request.scope, property=body.property_id, session_id=body.session_id, question=body.question
    )
    if len(body.question) > settings.max_question_chars:
        raise InvalidRequest(
            f"question: at most {settings.max_question_chars} characters are accepted"
        )
    top_k = body.top_k or settings.top_k
    if top_k > settings.max_top_k:
        raise InvalidRequest(f"top_k: at most {settings.max_top_k}")
    services.rate_limits.check_property(body.property_id)
    if body.stream or "text/event-stream" in (header(request.scope, b"accept") or ""):
        return await stream_answer(body, top_k, request, rag, settings, started)
    async with answer_deadline(settings.request_timeout_s):
        result, cached = await rag.ask(
            body.property_id,
            body.question,
            top_k,
            body.session_id,
            body.room,
            language=body.language,
        )
    total = (time.perf_counter() - started) * 1000
    response: Response
    if CachedBodies.applies(result, cached):
        body_bytes = _cached_bodies.body(result, request_id_of(request.scope), total)
        response = Response(body_bytes, media_type=JSONBytes.media_type)
        timings: object = {"embed": 0.0, "search": 0.0, "answer": 0.0, "total": round(total, 2)}
    else:
        rendered = render_answer(result, cached, request_id_of(request.scope), total)
        response, timings = JSONBytes(rendered), rendered["timings_ms"]
    note(
        request.scope,
        cached=cached,
        escalate=result.escalate,
        answer_source=result.answer_source,
        timings_ms=timings,
    )
    return response


async def ask(body: AskRequest, request: Request) -> Response:
    """Answer a guest's question from the property's knowledge base, with cited sources.

    With ``"stream": true`` or ``Accept: text/event-stream`` the answer streams as Server-Sent
    Events (``sources``, ``delta``…, ``done`` or ``error``).
    """
    return await answer_ask(body, request)


# A plain JSON body is read and validated once, from its bytes, without FastAPI's body and
# dependency machinery; any other body takes the declared signature above (same errors).
router.add_api_route(
    "/ask",
    ask,
    methods=["POST"],
    response_model=AskResponse,
    responses={**_STREAM_DOC, **_ERRORS},
    tags=["guest"],
    route_class_override=plain_json_route(AskRequest, answer_ask),
)
ASK_ROUTE = router.routes[-1]


@router.get("/healthz", tags=["operations"])
async def healthz() -> JSONBytes:
    """The process is alive (says nothing about its dependencies)."""
    return JSONBytes({"status": "ok"})


@router.get("/readyz", tags=["operations"], responses={503: {"description": "not ready"}})
async def readyz(services: ServicesDep) -> JSONBytes:
    """Ready to answer: database reachable, schema at head, model loaded."""
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(2.0), services.pool.acquire() as conn:
            revision = await current_revision(conn)
        checks["database"] = "ok"
        checks["schema"] = "ok" if revision == services.schema_head else f"at {revision}"
    except Exception as exc:
        checks["database"] = f"unreachable ({type(exc).__name__})"
        checks["schema"] = "unknown"
    checks["model"] = "ok" if services.batcher.running else "not running"
    ready = all(v == "ok" for v in checks.values())
    # Whether questions are spelling-corrected yet (the lists may be read after start-up).
    corrected = "ready" if spelling.ready() else "loading"
    return JSONBytes(
        {
            "status": "ready" if ready else "unavailable",
            "checks": checks,
            "spelling": corrected,
            # Whether the partitions are read into the database's buffers yet (app.search.warm).
            "search_warm": services.warm.status,
        },
        status_code=200 if ready else 503,
    )
