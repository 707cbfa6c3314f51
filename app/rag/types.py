"""What the service returns: a result per question, or a stream of its answer."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.answering.types import Delta, Source


@dataclass(frozen=True, slots=True)
class AskResult:
    """Everything the API returns for one question (timings are of the computation)."""

    answer: str
    sources: tuple[Source, ...]
    citations: tuple[int, ...]
    escalate: bool
    answer_source: str
    property_id: str
    version_id: int | None
    revision: int
    embed_ms: float
    search_ms: float
    answer_ms: float
    # Generation figures of a model-written answer (ttft, generation in ms; tokens).
    extra: Mapping[str, float] = field(default_factory=dict)
    fallback_reason: str | None = None
    # The standalone form of this request's follow-up question, when it was rewritten.
    standalone_question: str | None = None
    # What kind of message it was, and the staff task it became (requests, safety).
    message_kind: str = "information"
    task: Mapping[str, Any] | None = None
    # The language the answer is in (the question's, or the page's when unsure).
    language: str = "en"


@dataclass(frozen=True, slots=True)
class StreamDone:
    """The last event of an answer stream: the complete result, as ``ask`` would return it."""

    result: AskResult
    cached: bool


StreamEvent = Delta | StreamDone


@dataclass(slots=True)
class AnswerStream:
    """An answer being written: its sources are known, ``events`` yields the text as it comes
    and ends with :class:`StreamDone`. Closing ``events`` early stops the generation."""

    sources: tuple[Source, ...]
    events: AsyncGenerator[StreamEvent, None]
    cached_result: AskResult | None = None


# property, index version, property revision, normalised question, top_k, answer language
CacheKey = tuple[str, int | None, int, str, int, str]


def is_storable(result: AskResult) -> bool:
    """Fallback answers are not cached, so that a recovered model is used again at once."""
    return result.fallback_reason is None


def result_bytes(result: AskResult) -> int:
    """About what a cached result takes in memory: its texts, and a fixed part for the rest."""
    texts = len(result.answer) + sum(
        len(s.hit.text)
        + len(s.hit.title)
        + len(s.hit.heading)
        + len(s.hit.document_id)
        + len(s.hit.derived or "")
        for s in result.sources
    )
    return 1024 + 2 * texts  # str stores 1-4 bytes per character; most text here is Latin
