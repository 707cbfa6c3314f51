"""The answer-writer interface: turn a question and its numbered sources into a cited answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from app.retrieval import Hit


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


class AnswerWriter(Protocol):
    """Writes an answer grounded only in ``sources``; sets ``escalate`` when they do not answer.

    Generative writers (an OpenAI-compatible server, an in-process model) implement the same
    method and keep the extractive writer as their fallback.
    """

    name: str

    async def write(self, question: str, sources: Sequence[Source]) -> Answer: ...


def number_sources(hits: Sequence[Hit]) -> list[Source]:
    """Give each hit its citation number, starting at 1."""
    return [Source(i, hit) for i, hit in enumerate(hits, start=1)]


FALLBACK_MESSAGE = (
    "I'm sorry, I couldn't find that in the hotel's information. "
    "The front desk will be happy to help you with this."
)
