"""``POST /admin/properties/{id}/ask-batch``: staff run the questions guests ask most and see
every answer, source and hand-over at once (see :mod:`app.rag.batch`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from app.api.admin import AdminDep, PropertyId, audit_event
from app.api.deps import ServicesDep
from app.api.responses import JSONBytes
from app.api.schemas import ErrorResponse
from app.errors import InvalidRequest
from app.rag.batch import answer_all

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={code: {"model": ErrorResponse} for code in (401, 403, 404, 422, 503)},
)


class AskBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    questions: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    top_k: int | None = Field(None, ge=1)


@router.post("/properties/{property_id}/ask-batch")
async def ask_batch(
    property_id: PropertyId,
    body: AskBatchIn,
    request: Request,
    services: ServicesDep,
    actor: AdminDep,
) -> JSONBytes:
    """Answer up to ``RAG_ADMIN_BATCH_MAX_QUESTIONS`` questions as guests would get them.

    Each result has the answer, its sources (``cited`` marks those the answer uses), and
    ``handover``: why a guest would be passed to staff (no answer, or a message the front desk
    takes). No staff task is created. The batch takes at most ``RAG_ADMIN_BATCH_TIMEOUT_S``:
    questions not reached by then come back with an ``error`` saying they were not answered in
    time.
    """
    settings = services.settings
    if len(body.questions) > settings.admin_batch_max_questions:
        raise InvalidRequest(
            f"questions: at most {settings.admin_batch_max_questions} per request "
            "(RAG_ADMIN_BATCH_MAX_QUESTIONS)"
        )
    too_long = [q for q in body.questions if len(q) > settings.max_question_chars]
    if too_long:
        raise InvalidRequest(f"questions: at most {settings.max_question_chars} characters each")
    top_k = body.top_k or settings.top_k
    if top_k > settings.max_top_k:
        raise InvalidRequest(f"top_k: at most {settings.max_top_k}")
    results = await answer_all(
        services.rag,
        property_id,
        body.questions,
        top_k,
        settings.request_timeout_s,
        settings.admin_batch_timeout_s,
    )
    audit_event(request, actor, "ask_batch", property=property_id, questions=len(results))
    return JSONBytes({"property_id": property_id, "results": [r.as_dict() for r in results]})
