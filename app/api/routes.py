"""Guest and health routes: parse, call one service, return."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Request

from app.api.deps import RagDep, ServicesDep, SettingsDep
from app.api.middleware import request_id_of
from app.api.responses import JSONBytes
from app.api.schemas import AskRequest, AskResponse, ErrorResponse
from app.api.security import limits_of
from app.errors import InvalidRequest, RequestTimedOut
from app.rag import AskResult
from app.schema import current_revision

router = APIRouter()

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (404, 408, 413, 422, 429, 503, 504)
}


@router.post("/ask", response_model=AskResponse, responses=_ERRORS, tags=["guest"])
async def ask(body: AskRequest, request: Request, rag: RagDep, settings: SettingsDep) -> JSONBytes:
    """Answer a guest's question from the property's knowledge base, with cited sources."""
    started = time.perf_counter()
    if len(body.question) > settings.max_question_chars:
        raise InvalidRequest(
            f"question: at most {settings.max_question_chars} characters are accepted"
        )
    top_k = body.top_k or settings.top_k
    if top_k > settings.max_top_k:
        raise InvalidRequest(f"top_k: at most {settings.max_top_k}")
    limits_of(request).check_property(body.property_id)
    try:
        async with asyncio.timeout(settings.request_timeout_s):
            result, cached = await rag.ask(body.property_id, body.question, top_k)
    except TimeoutError:
        raise RequestTimedOut("the answer took too long, please try again") from None
    total = (time.perf_counter() - started) * 1000
    return JSONBytes(render_answer(result, cached, request_id_of(request.scope), total))


def render_answer(
    result: AskResult, cached: bool, request_id: str, total_ms: float
) -> dict[str, object]:
    """The ``/ask`` response body. Stage timings are zero when the answer came from the cache."""
    return {
        "answer": result.answer,
        "sources": [
            {
                "n": s.n,
                "document_id": s.hit.document_id,
                "title": s.hit.title,
                "chunk_id": s.hit.chunk_id,
                "score": round(s.hit.score, 4),
                "text": s.hit.text,
            }
            for s in result.sources
        ],
        "citations": list(result.citations),
        "cached": cached,
        "escalate": result.escalate,
        "answer_source": result.answer_source,
        "request_id": request_id,
        "timings_ms": {
            "embed": 0.0 if cached else round(result.embed_ms, 2),
            "search": 0.0 if cached else round(result.search_ms, 2),
            "answer": 0.0 if cached else round(result.answer_ms, 2),
            "total": round(total_ms, 2),
        },
    }


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
    return JSONBytes(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
