"""The JSON bodies of answers, shared by the plain and the streamed ``/ask``."""

from __future__ import annotations

from collections.abc import Sequence

from app.answering.types import Source
from app.rag.types import AskResult


def render_answer(
    result: AskResult, cached: bool, request_id: str, total_ms: float
) -> dict[str, object]:
    """The ``/ask`` response body. Stage timings are zero when the answer came from the cache."""
    body: dict[str, object] = {
        "answer": result.answer,
        "sources": render_sources(result.sources, result.citations),
        "citations": list(result.citations),
        "cached": cached,
        "escalate": result.escalate,
        "answer_source": result.answer_source,
        "language": result.language,
        "request_id": request_id,
        "timings_ms": {
            "embed": 0.0 if cached else round(result.embed_ms, 2),
            "search": 0.0 if cached else round(result.search_ms, 2),
            "answer": 0.0 if cached else round(result.answer_ms, 2),
            "total": round(total_ms, 2),
        },
    }
    if result.extra and not cached:
        timings = body["timings_ms"]
        assert isinstance(timings, dict)
        for name in ("ttft", "generation"):
            if name in result.extra:
                timings[name] = result.extra[name]
        if "tokens" in result.extra:
            body["tokens"] = int(result.extra["tokens"])
    if result.fallback_reason is not None:
        body["fallback_reason"] = result.fallback_reason
    if result.standalone_question is not None:
        body["standalone_question"] = result.standalone_question
    body["kind"] = result.message_kind
    if result.task is not None:
        body["task"] = dict(result.task)
    return body


def render_sources(
    sources: Sequence[Source], citations: Sequence[int] | None
) -> list[dict[str, object]]:
    """The retrieved sources; ``cited`` says whether the answer cites each (None: not yet known)."""
    cited = set(citations) if citations is not None else None
    return [
        {
            "n": s.n,
            "document_id": s.hit.document_id,
            "title": s.hit.title,
            "chunk_id": s.hit.chunk_id,
            "score": round(s.hit.score, 4),
            "text": s.hit.text,
            "cited": None if cited is None else s.n in cited,
        }
        for s in sources
    ]
