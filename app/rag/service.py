"""The question-answering service: prepare → cache → retrieve → write, each stage once.

``ask`` and ``ask_stream`` take the same path: :meth:`RagService._prepare` settles what is
asked (the cleaned question, a follow-up rewritten into a standalone one) and its cache key;
the answer then comes from the cache, from an identical question being answered right now
(single-flight, streamed or not), or from the retriever and the answer writer.
"""

from __future__ import annotations

import contextlib
import re
import time
import unicodedata
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, replace

from app.answering.followup import FollowUpRewriter, Turn, is_follow_up
from app.answering.messages import localise
from app.answering.types import Answer, AnswerWriter, Delta, Source, number_sources
from app.db.properties import PropertyRegistry, PropertyState
from app.facts.stage import FactsStage
from app.rag.cache import AnswerCache, Flight
from app.rag.question_keys import Phrasings
from app.rag.sessions import SessionStore
from app.rag.shadow import Shadow
from app.rag.types import AnswerStream, AskResult, CacheKey, StreamDone, StreamEvent
from app.search import spelling
from app.search.retriever import Retriever
from app.search.types import Retrieval
from app.tasks.desk import FrontDesk, Handled

_SPACES = re.compile(r"\s+")


def clean_question(question: str) -> str:
    """The question as sent to the model: control characters removed, spaces collapsed."""
    if question.isascii() and question.isprintable() and "  " not in question:
        return question.strip()  # nothing to remove, normalise or collapse: the common case
    if question.isprintable():  # the common case: nothing to strip, skip the per-character scan
        kept = question
    else:
        kept = "".join(ch for ch in question if unicodedata.category(ch)[0] != "C" or ch in "\t\n")
    return _SPACES.sub(" ", unicodedata.normalize("NFC", kept)).strip()


@dataclass(frozen=True, slots=True)
class Asked:
    """One request once prepared: what is answered, for which property, under which key."""

    prop: PropertyState
    question: str  # the standalone question: answered, and cached under
    top_k: int
    session_id: str | None
    rewritten: str | None  # ``question`` when it was rewritten from a follow-up
    key: CacheKey
    language: str = "en"  # the answer's: the question's, else the page's


class RagService:
    """Answers guest questions; every collaborator is injected so tests can swap any of them."""

    def __init__(
        self,
        registry: PropertyRegistry,
        retriever: Retriever,
        writer: AnswerWriter,
        cache: AnswerCache[CacheKey, AskResult],
        sessions: SessionStore | None = None,
        rewriter: FollowUpRewriter | None = None,
        desk: FrontDesk | None = None,
        shadow: Shadow | None = None,
        facts: FactsStage | None = None,
    ) -> None:
        self.facts = facts  # answers about opening hours at the property's local time
        self.registry = registry
        self.retriever = retriever
        self.writer = writer
        self.cache = cache
        self.sessions = sessions
        self.rewriter = rewriter or FollowUpRewriter()
        self.shadow = shadow
        self.desk = desk  # requests, complaints, safety and small talk: not answered from FAQs
        self.phrasings = Phrasings()  # a repeated question's language and key, remembered

    async def ask(
        self,
        property_id: str,
        question: str,
        top_k: int,
        session_id: str | None = None,
        room: str | None = None,
        *,
        history: Sequence[str] | None = None,
        desk: bool = True,
        language: str | None = None,
    ) -> tuple[AskResult, bool]:
        """Answer ``question`` for ``property_id``; returns the result and whether it was cached.

        With a ``session_id``, a follow-up is first rewritten into a standalone question from
        the session's earlier turns; the answer is cached under that standalone form. A client
        that keeps the conversation itself (OpenAI's chat API) passes its earlier questions as
        ``history`` instead. The answer is in the question's language; ``language`` (the
        page's or browser's tag) decides when the question is too short to tell.
        ``desk=False`` skips the front desk (a staff check of the knowledge base must not
        create tasks).
        """
        taken = await self._take(
            property_id, question, top_k, session_id, room, history, language, desk=desk
        )
        if isinstance(taken, AskResult):
            return taken, False
        result, cached = await self.cache.get_or_compute(taken.key, lambda: self._compute(taken))
        return await self._finish(taken, result, guest=desk), cached

    async def ask_stream(
        self,
        property_id: str,
        question: str,
        top_k: int,
        session_id: str | None = None,
        room: str | None = None,
        *,
        history: Sequence[str] | None = None,
        language: str | None = None,
    ) -> AnswerStream:
        """Like :meth:`ask`, but returns once the sources are known; the answer then streams.

        Everything that can fail with a client or availability error (unknown property,
        overload, database) happens before this returns; the stream itself always ends with
        an answer (a fallback one if the model fails). A cached answer streams too.
        """
        asked = await self._take(property_id, question, top_k, session_id, room, history, language)
        if isinstance(asked, AskResult):  # the desk's reply
            return AnswerStream(asked.sources, _replay(asked, cached=False), asked)
        shared = await self.cache.shared(asked.key)
        if shared is not None:
            result = await self._finish(asked, shared)
            return AnswerStream(result.sources, _replay(result), result)
        retrieval = await self._retrieve(asked)
        sources = number_sources(retrieval.hits)
        fact = await self._fact(asked, sources)
        sources = fact[1] if fact else sources
        stream = self._stream(asked, sources, retrieval, fact[0] if fact else None)
        return AnswerStream(tuple(sources), stream)

    async def _take(
        self,
        property_id: str,
        question: str,
        top_k: int,
        session_id: str | None,
        room: str | None,
        history: Sequence[str] | None,
        page_language: str | None,
        *,
        desk: bool = True,
    ) -> AskResult | Asked:
        """The desk's reply when the message is not an information question, else the question
        prepared for an answer; the property is looked up and the text cleaned once for both."""
        prop = await self.registry.get(property_id)
        cleaned = clean_question(question)
        if (
            desk
            and self.desk is not None
            and (handled := await self._at_desk(prop, cleaned, top_k, session_id, room))
        ):
            return handled
        return await self._prepare(prop, cleaned, top_k, session_id, history, page_language)

    async def _at_desk(
        self,
        prop: PropertyState,
        cleaned: str,
        top_k: int,
        session_id: str | None,
        room: str | None,
    ) -> AskResult | None:
        """The desk's reply when the message is not an information question."""
        if self.desk is None:
            return None

        async def retrieve(text: str) -> list[Source]:
            return number_sources((await self.retriever.retrieve(prop, text, top_k)).hits)

        handled = await self.desk.handle(prop.id, cleaned, session_id, room, retrieve)
        return None if handled is None else _handled_result(prop, handled)

    async def _prepare(
        self,
        prop: PropertyState,
        cleaned: str,
        top_k: int,
        session_id: str | None,
        history: Sequence[str] | None,
        page_language: str | None,
    ) -> Asked:
        """Every stage before the answer is looked up (a new pre-answer stage goes here)."""
        standalone = cleaned
        if history:
            turns = [Turn(clean_question(q)) for q in history]
            standalone = await self.rewriter.standalone(turns, cleaned)
        # Only a follow-up needs the session's history: a question that stands alone costs no
        # read (its turn is still recorded, for the follow-ups after it).
        elif session_id is not None and self.sessions is not None and is_follow_up(cleaned):
            earlier = await self.sessions.history(prop.id, session_id)
            standalone = await self.rewriter.standalone(earlier, cleaned)
        rewritten = standalone if standalone != cleaned else None
        language, normalised, timely = self.phrasings.read(standalone, page_language)
        if timely and self.facts:  # time-bound answers: cached per local minute
            normalised += self.facts.cache_tag(prop, standalone, timely)
        if not spelling.ready():  # answered uncorrected: not to be served once the lists are read
            normalised += "\x00uncorrected"
        key = (prop.id, prop.version_id, prop.revision, normalised, top_k, language)
        return Asked(prop, standalone, top_k, session_id, rewritten, key, language)

    async def _retrieve(self, asked: Asked) -> Retrieval:
        return await self.retriever.retrieve(
            asked.prop, asked.question, asked.top_k, language=asked.language
        )

    async def _compute(self, asked: Asked) -> AskResult:
        retrieval = await self._retrieve(asked)
        sources = number_sources(retrieval.hits)
        started = time.perf_counter()
        fact = await self._fact(asked, sources)
        if fact is not None:
            return self._result(asked, fact[1], fact[0], retrieval, started)
        answer = await self.writer.write(asked.question, sources, language=asked.language)
        return self._result(asked, sources, answer, retrieval, started)

    async def _fact(
        self, asked: Asked, sources: list[Source]
    ) -> tuple[Answer, list[Source]] | None:
        """An answer from the property's structured facts, before the writer is asked."""
        return await self.facts.answer(asked.prop, asked.question, sources) if self.facts else None

    async def _stream(
        self, asked: Asked, sources: list[Source], retrieval: Retrieval, fact: Answer | None
    ) -> AsyncGenerator[StreamEvent, None]:
        # The flight is taken here, once the guest reads, so an unread stream holds none.
        flight = await self.cache.join(asked.key)
        if not isinstance(flight, Flight):  # an identical question was answered meanwhile
            async for replayed in _replay(await self._finish(asked, flight)):
                yield replayed
            return
        try:
            started = time.perf_counter()
            stream = (
                self.writer.stream(asked.question, sources, language=asked.language)
                if fact is None
                else _told(fact)
            )
            async with contextlib.aclosing(stream):
                async for event in stream:
                    if isinstance(event, Delta):
                        yield event
                        continue
                    result = self._result(asked, sources, event, retrieval, started)
                    flight.finish(result)
                    yield StreamDone(await self._finish(asked, result), False)
                    return
        finally:
            flight.abandon()  # the guest left (or the writer failed): a waiter answers instead

    def _result(
        self,
        asked: Asked,
        sources: list[Source],
        answer: Answer,
        retrieval: Retrieval,
        answer_started: float,
    ) -> AskResult:
        answer = localise(answer, asked.language)
        result = AskResult(
            answer=answer.text,
            # What the writer read from each chunk is not kept with the answer (in the cache).
            sources=tuple(_without_reading(s) for s in sources),
            citations=answer.citations,
            escalate=answer.escalate,
            answer_source=answer.answer_source,
            property_id=asked.prop.id,
            version_id=asked.prop.version_id,
            revision=asked.prop.revision,
            embed_ms=retrieval.embed_ms,
            search_ms=retrieval.search_ms,
            answer_ms=(time.perf_counter() - answer_started) * 1000,
            extra=answer.extra,
            fallback_reason=answer.fallback_reason,
            language=asked.language,
        )
        if self.shadow is not None:  # off the guest's path: queued, or dropped when full
            self.shadow.offer(asked.prop, asked.question, asked.language, asked.top_k, result)
        return result

    async def _finish(self, asked: Asked, result: AskResult, guest: bool = True) -> AskResult:
        """Record the turn in the session; the result as this request sees it. A staff check
        (``guest=False``) is no guest's question: its hand-overs are no knowledge gap."""
        if asked.session_id is not None and self.sessions is not None:
            await self.sessions.record(asked.prop.id, asked.session_id, Turn(asked.question))
        if asked.rewritten is not None:
            result = replace(result, standalone_question=asked.rewritten)
        if self.desk is not None and guest:
            self.desk.note_answer(asked.prop.id, asked.question, result.escalate, result.answer)
        return result


def _without_reading(source: Source) -> Source:
    if source.hit.derived is None:
        return source
    return Source(source.n, replace(source.hit, derived=None))


async def _told(answer: Answer) -> AsyncGenerator[Delta | Answer, None]:
    yield Delta(answer.text)
    yield answer


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
