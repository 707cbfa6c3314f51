"""Answer orchestration: cache → embed → property-scoped search → answer writer, with timings."""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass

from app.answers import AnswerWriter, Source, number_sources
from app.batcher import MicroBatcher
from app.cache import AnswerCache
from app.properties import PropertyRegistry
from app.retrieval import Retriever

_SPACES = re.compile(r"\s+")
_TRAILING = re.compile(r"[\s?!.]+$")


def normalise_question(question: str) -> str:
    """Cache-key form of a question: NFKC, case-folded, single spaces, no trailing punctuation."""
    text = unicodedata.normalize("NFKC", question).casefold()
    return _TRAILING.sub("", _SPACES.sub(" ", text).strip())


def clean_question(question: str) -> str:
    """The question as sent to the model: control characters removed, spaces collapsed."""
    kept = "".join(ch for ch in question if unicodedata.category(ch)[0] != "C" or ch in "\t\n")
    return _SPACES.sub(" ", unicodedata.normalize("NFC", kept)).strip()


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


CacheKey = tuple[str, int | None, int, str, int]


class RagService:
    """Answers guest questions; every collaborator is injected so tests can swap any of them."""

    def __init__(
        self,
        registry: PropertyRegistry,
        batcher: MicroBatcher,
        retriever: Retriever,
        writer: AnswerWriter,
        cache: AnswerCache[CacheKey, AskResult],
    ) -> None:
        self.registry = registry
        self.batcher = batcher
        self.retriever = retriever
        self.writer = writer
        self.cache = cache

    async def ask(self, property_id: str, question: str, top_k: int) -> tuple[AskResult, bool]:
        """Answer ``question`` for ``property_id``; returns the result and whether it was cached."""
        prop = await self.registry.get(property_id)
        question = clean_question(question)
        key: CacheKey = (
            prop.id,
            prop.version_id,
            prop.revision,
            normalise_question(question),
            top_k,
        )

        async def compute() -> AskResult:
            t0 = time.perf_counter()
            vector = await self.batcher.embed(self.retriever.embedding_text(question))
            t1 = time.perf_counter()
            hits = await self.retriever.search(prop, vector, top_k, question=question)
            t2 = time.perf_counter()
            sources = number_sources(hits)
            answer = await self.writer.write(question, sources)
            t3 = time.perf_counter()
            return AskResult(
                answer=answer.text,
                sources=tuple(sources),
                citations=answer.citations,
                escalate=answer.escalate,
                answer_source=answer.answer_source,
                property_id=prop.id,
                version_id=prop.version_id,
                revision=prop.revision,
                embed_ms=(t1 - t0) * 1000,
                search_ms=(t2 - t1) * 1000,
                answer_ms=(t3 - t2) * 1000,
            )

        return await self.cache.get_or_compute(key, compute)
