"""Answer orchestration: cache → embed → property-scoped search → answer writer, with timings."""

from __future__ import annotations

import contextlib
import re
import time
import unicodedata
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from app.answering.types import Answer, AnswerWriter, Delta, Source, number_sources
from app.db.properties import PropertyRegistry, PropertyState
from app.embedding.batcher import MicroBatcher
from app.rag.cache import AnswerCache
from app.rag.sessions import FollowUpRewriter, SessionStore, Turn
from app.search.retriever import Retriever
from app.tasks.desk import FrontDesk, Handled

_SPACES = re.compile(r"\s+")
_TRAILING = re.compile(r"[\s?!.]+$")


def normalise_question(question: str) -> str:
    """Cache-key form of a question: NFKC, case-folded, single spaces, no trailing punctuation."""
    text = unicodedata.normalize("NFKC", question).casefold()
    return _TRAILING.sub("", _SPACES.sub(" ", text).strip())


def clean_question(question: str) -> str:
    """The question as sent to the model: control characters removed, spaces collapsed."""
    if question.isprintable():  # the common case: nothing to strip, skip the per-character scan
        kept = question
    else:
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
    # Generation figures of a model-written answer (ttft, generation in ms; tokens).
    extra: Mapping[str, float] = field(default_factory=dict)
    fallback_reason: str | None = None
    # The standalone form of this request's follow-up question, when it was rewritten.
    standalone_question: str | None = None
    # What kind of message it was, and the staff task it became (requests, safety).
    message_kind: str = "information"
    task: Mapping[str, Any] | None = None


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


def is_storable(result: AskResult) -> bool:
    """Fallback answers are not cached, so that a recovered model is used again at once."""
    return result.fallback_reason is None


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
        sessions: SessionStore | None = None,
        rewriter: FollowUpRewriter | None = None,
        desk: FrontDesk | None = None,
    ) -> None:
        self.registry = registry
        self.batcher = batcher
        self.retriever = retriever
        self.writer = writer
        self.cache = cache
        self.sessions = sessions
        self.rewriter = rewriter or FollowUpRewriter()
        self.desk = desk

    async def _standalone(
        self, prop: PropertyState, question: str, session_id: str | None
    ) -> tuple[str, str | None]:
        """The question to answer, and its rewritten form when it was a follow-up."""
        if session_id is None or self.sessions is None:
            return question, None
        history = self.sessions.history(prop.id, session_id)
        standalone = await self.rewriter.standalone(history, question)
        return standalone, (standalone if standalone != question else None)

    def _remember(self, prop_id: str, session_id: str | None, asked: str) -> None:
        if session_id is not None and self.sessions is not None:
            self.sessions.record(prop_id, session_id, Turn(asked))

    def _result(
        self,
        prop: PropertyState,
        sources: list[Source],
        answer: Answer,
        timings: tuple[float, float, float],
    ) -> AskResult:
        return AskResult(
            answer=answer.text,
            sources=tuple(sources),
            citations=answer.citations,
            escalate=answer.escalate,
            answer_source=answer.answer_source,
            property_id=prop.id,
            version_id=prop.version_id,
            revision=prop.revision,
            embed_ms=timings[0],
            search_ms=timings[1],
            answer_ms=timings[2],
            extra=answer.extra,
            fallback_reason=answer.fallback_reason,
        )

    async def _retrieve(
        self, prop: PropertyState, question: str, top_k: int
    ) -> tuple[list[Source], float, float]:
        t0 = time.perf_counter()
        vector = await self.batcher.embed(self.retriever.embedding_text(question))
        t1 = time.perf_counter()
        hits = await self.retriever.search(prop, vector, top_k, question=question)
        t2 = time.perf_counter()
        return number_sources(hits), (t1 - t0) * 1000, (t2 - t1) * 1000

    async def _at_desk(
        self,
        prop: PropertyState,
        question: str,
        top_k: int,
        session_id: str | None,
        room: str | None,
    ) -> AskResult | None:
        """Requests, complaints, safety messages and small talk: not answered from the FAQ."""
        if self.desk is None:
            return None

        async def retrieve(text: str) -> list[Source]:
            return (await self._retrieve(prop, text, top_k))[0]

        handled = await self.desk.handle(prop.id, question, session_id, room, retrieve)
        return None if handled is None else _handled_result(prop, handled)

    async def ask(
        self,
        property_id: str,
        question: str,
        top_k: int,
        session_id: str | None = None,
        room: str | None = None,
    ) -> tuple[AskResult, bool]:
        """Answer ``question`` for ``property_id``; returns the result and whether it was cached.

        With a ``session_id``, a follow-up is first rewritten into a standalone question from
        the session's earlier turns; the answer is cached under that standalone form.
        """
        prop = await self.registry.get(property_id)
        question = clean_question(question)
        if (handled := await self._at_desk(prop, question, top_k, session_id, room)) is not None:
            return handled, False
        asked, rewritten = await self._standalone(prop, question, session_id)
        key = self._key(prop, asked, top_k)

        async def compute() -> AskResult:
            sources, embed_ms, search_ms = await self._retrieve(prop, asked, top_k)
            t2 = time.perf_counter()
            answer = await self.writer.write(asked, sources)
            answer_ms = (time.perf_counter() - t2) * 1000
            return self._result(prop, sources, answer, (embed_ms, search_ms, answer_ms))

        result, cached = await self.cache.get_or_compute(key, compute)
        if self.desk is not None:
            self.desk.note_answer(prop.id, question, result.escalate, result.answer)
        self._remember(prop.id, session_id, asked)
        if rewritten is not None:
            result = replace(result, standalone_question=rewritten)
        return result, cached

    async def ask_stream(
        self,
        property_id: str,
        question: str,
        top_k: int,
        session_id: str | None = None,
        room: str | None = None,
    ) -> AnswerStream:
        """Like :meth:`ask`, but returns once the sources are known; the answer then streams.

        Everything that can fail with a client or availability error (unknown property,
        overload, database) happens before this returns; the stream itself always ends with
        an answer (a fallback one if the model fails). A cached answer streams too.
        """
        prop = await self.registry.get(property_id)
        question = clean_question(question)
        if (handled := await self._at_desk(prop, question, top_k, session_id, room)) is not None:
            return AnswerStream(handled.sources, _replay(handled, cached=False), handled)
        asked, rewritten = await self._standalone(prop, question, session_id)
        key = self._key(prop, asked, top_k)
        hit = self.cache.get(key)
        if hit is not None:
            self._remember(prop.id, session_id, asked)
            if rewritten is not None:
                hit = replace(hit, standalone_question=rewritten)
            return AnswerStream(hit.sources, _replay(hit), hit)
        sources, embed_ms, search_ms = await self._retrieve(prop, asked, top_k)

        async def events() -> AsyncGenerator[StreamEvent, None]:
            started = time.perf_counter()
            stream = self.writer.stream(asked, sources)
            async with contextlib.aclosing(stream):
                async for event in stream:
                    if isinstance(event, Delta):
                        yield event
                        continue
                    answer_ms = (time.perf_counter() - started) * 1000
                    timings = (embed_ms, search_ms, answer_ms)
                    result = self._result(prop, sources, event, timings)
                    self.cache.put(key, result)
                    if self.desk is not None:
                        self.desk.note_answer(prop.id, question, result.escalate, result.answer)
                    self._remember(prop.id, session_id, asked)
                    if rewritten is not None:
                        result = replace(result, standalone_question=rewritten)
                    yield StreamDone(result, False)
                    return

        return AnswerStream(tuple(sources), events())

    @staticmethod
    def _key(prop: PropertyState, question: str, top_k: int) -> CacheKey:
        return (prop.id, prop.version_id, prop.revision, normalise_question(question), top_k)


async def _replay(result: AskResult, cached: bool = True) -> AsyncGenerator[StreamEvent, None]:
    yield Delta(result.answer)
    yield StreamDone(result, cached)


def _handled_result(prop: PropertyState, handled: Handled) -> AskResult:
    return AskResult(
        answer=handled.answer,
        sources=handled.sources,
        citations=handled.citations,
        escalate=handled.escalate,
        answer_source=handled.answer_source,
        property_id=prop.id,
        version_id=prop.version_id,
        revision=prop.revision,
        embed_ms=0.0,
        search_ms=0.0,
        answer_ms=0.0,
        message_kind=handled.kind,
        task=handled.task,
    )
