"""The answer-writer interface: turn a question and its numbered sources into a cited answer."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from app.search.types import Hit


@dataclass(frozen=True, slots=True)
class Source:
    """A retrieved chunk as shown to the writer and the guest; ``n`` is its citation number."""

    n: int
    hit: Hit


@dataclass(frozen=True, slots=True)
class Answer:
    """A written answer. ``citations`` are the source numbers the text cites as ``[n]``."""

    text: str
    citations: tuple[int, ...] = ()
    escalate: bool = False
    answer_source: str = "extractive"
    extra: dict[str, float] = field(default_factory=dict)
    fallback_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of answer text as it is generated (streamed to the guest as it comes)."""

    text: str


AnswerEvent = Delta | Answer
"""What :meth:`AnswerWriter.stream` yields: text deltas, then exactly one final ``Answer``."""

AnswerEvents = AsyncGenerator[AnswerEvent, None]


class AnswerWriter(Protocol):
    """Writes an answer grounded only in ``sources``; sets ``escalate`` when they do not answer.

    Generative writers (an OpenAI-compatible server, an in-process model) implement the same
    methods and keep the extractive writer as their fallback. ``stream`` yields the text as it
    is written and ends with the final, checked ``Answer`` (whose text is authoritative: it may
    differ from the concatenated deltas, e.g. when a failure mid-stream falls back).
    ``language`` is the language to answer in (see :mod:`app.languages`); a writer that quotes
    leaves its quotes as they are, and the service localises the words around them.
    """

    name: str

    async def write(
        self, question: str, sources: Sequence[Source], language: str = "en"
    ) -> Answer: ...

    def stream(
        self, question: str, sources: Sequence[Source], language: str = "en"
    ) -> AnswerEvents: ...


def number_sources(hits: Sequence[Hit]) -> list[Source]:
    """Give each hit its citation number, starting at 1."""
    return [Source(i, hit) for i, hit in enumerate(hits, start=1)]


FALLBACK_MESSAGE = (
    "I'm sorry, I couldn't find that in the hotel's information. "
    "The front desk will be happy to help you with this."
)
