"""An OpenAI-compatible chat API, so Open WebUI, LibreChat or any OpenAI client can use a hotel's
concierge: ``POST /v1/chat/completions`` (plain or streamed) and ``GET /v1/models``.

- ``model`` is the property id; ``GET /v1/models`` lists the properties.
- The last ``user`` message is the question; earlier ``user`` messages are the conversation a
  follow-up is rewritten against (the client keeps it, so no ``session_id`` is needed).
  System and assistant messages are accepted and not used: the answer comes from the hotel's
  knowledge base, not from instructions in the request.
- The sources, citations and hand-over flag travel in an extension field, ``concierge``, on the
  completion (streamed: on the first and the last chunk). OpenAI clients ignore it; read it as
  ``completion.model_extra["concierge"]`` with the official Python client.
- Errors keep the service's shape ``{"error": {"code", "message", "request_id"}}``, which
  OpenAI clients read as an API error with that message.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from app.answering.types import Delta
from app.api.deadline import answer_deadline
from app.api.deps import ServicesDep
from app.api.middleware import request_id_of
from app.api.render import render_answer, render_sources
from app.api.responses import JSONBytes
from app.api.schemas import PROPERTY_ID_PATTERN, ErrorResponse
from app.api.sse import event_stream, shutdown_error
from app.api.telemetry import note
from app.errors import InvalidRequest
from app.rag.types import AnswerStream, AskResult

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/v1",
    tags=["openai-compatible"],
    responses={code: {"model": ErrorResponse} for code in (404, 413, 422, 429, 503, 504)},
)

MAX_MESSAGES = 64


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: str


class OtherPart(BaseModel):
    """An image or audio part: accepted in the conversation, never read."""

    model_config = ConfigDict(extra="ignore")
    type: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart | OtherPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content or [] if isinstance(p, TextPart))


class ChatRequest(BaseModel):
    """OpenAI's chat-completions request; sampling options are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field(pattern=PROPERTY_ID_PATTERN, description="the property id")
    messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=MAX_MESSAGES)]
    stream: bool = False
    user: str | None = Field(None, max_length=256)


@router.get("/models")
async def list_models(services: ServicesDep) -> JSONBytes:
    """Every property that can answer, as an OpenAI model (its id is the property id)."""
    properties = services.rag.registry.snapshot().values()
    data = [
        {"id": p.id, "object": "model", "created": 0, "owned_by": "concierge", "name": p.name}
        for p in sorted(properties, key=lambda p: p.id)
        if p.version_id is not None
    ]
    return JSONBytes({"object": "list", "data": data})


@router.post(
    "/chat/completions",
    responses={200: {"content": {"text/event-stream": {}}, "description": "a chat completion"}},
)
async def chat_completions(body: ChatRequest, request: Request, services: ServicesDep) -> Response:
    """Answer the last user message from the hotel's knowledge base (``model`` = property id)."""
    started = time.perf_counter()
    rag, settings = services.rag, services.settings
    questions = [m.text() for m in body.messages if m.role == "user"]
    if not questions or not questions[-1].strip():
        raise InvalidRequest("messages: the last user message is the question; none was sent")
    question = questions[-1]
    history = [q for q in questions[:-1] if q.strip()][-settings.session_turns :]
    for text in (question, *history):
        if len(text) > settings.max_question_chars:
            raise InvalidRequest(
                f"messages: at most {settings.max_question_chars} characters per user message"
            )
    note(request.scope, property=body.model, question=question)
    services.rate_limits.check_property(body.model)
    request_id = request_id_of(request.scope)
    completion_id = f"chatcmpl-{request_id}"
    if body.stream:
        async with answer_deadline(settings.request_timeout_s):
            stream = await rag.ask_stream(body.model, question, settings.top_k, history=history)
        chunks = _chunks(stream, body.model, completion_id, request_id, started)
        farewell = b"data: " + orjson.dumps(shutdown_error(request_id)) + b"\n\ndata: [DONE]\n\n"
        return event_stream(chunks, settings.stream_ping_s, farewell)
    async with answer_deadline(settings.request_timeout_s):
        result, cached = await rag.ask(body.model, question, settings.top_k, history=history)
    total = (time.perf_counter() - started) * 1000
    note(request.scope, cached=cached, escalate=result.escalate)
    return JSONBytes(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result.answer},
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(result),
            "concierge": _extension(result, cached, request_id, total),
        }
    )


def _usage(result: AskResult) -> dict[str, int]:
    tokens = int((result.extra or {}).get("tokens", 0))
    return {"prompt_tokens": 0, "completion_tokens": tokens, "total_tokens": tokens}


def _extension(
    result: AskResult, cached: bool, request_id: str, total_ms: float, *, answer: bool = False
) -> Any:
    """The ``/ask`` body: sources, citations, flags, timings. The answer is in the message; a
    stream's last chunk repeats it, since it is authoritative (after a fallback it may differ
    from the deltas)."""
    body = render_answer(result, cached, request_id, total_ms)
    if not answer:
        body.pop("answer")
    return body


def _chunk(completion_id: str, model: str, delta: dict[str, Any], **extra: Any) -> bytes:
    payload = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": extra.pop("finish", None)}],
        **extra,
    }
    return b"data: " + orjson.dumps(payload) + b"\n\n"


async def _chunks(
    stream: AnswerStream, model: str, completion_id: str, request_id: str, started: float
) -> AsyncGenerator[bytes, None]:
    citations = stream.cached_result.citations if stream.cached_result is not None else None
    sources = {"sources": render_sources(stream.sources, citations), "request_id": request_id}
    yield _chunk(completion_id, model, {"role": "assistant", "content": ""}, concierge=sources)
    try:
        async with contextlib.aclosing(stream.events):
            async for event in stream.events:
                if isinstance(event, Delta):
                    yield _chunk(completion_id, model, {"content": event.text})
                else:
                    total = (time.perf_counter() - started) * 1000
                    extension = _extension(
                        event.result, event.cached, request_id, total, answer=True
                    )
                    yield _chunk(
                        completion_id, model, {}, finish="stop", concierge=extension,
                        usage=_usage(event.result),
                    )  # fmt: skip
    except Exception:
        log.exception("chat completion stream failed")
        error = {
            "code": "internal_error",
            "message": "something went wrong on our side",
            "request_id": request_id,
        }
        yield b"data: " + orjson.dumps({"error": error}) + b"\n\n"
    yield b"data: [DONE]\n\n"
