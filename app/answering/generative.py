"""The generative answer writer: a language model grounded in the sources, with a safety net.

Whatever goes wrong — the circuit is open, every slot is busy, the first token is late, the
stream stalls or breaks, the server answers 500 or garbage, the answer is empty or shares no
word with the sources — the guest gets the extractive answer, marked
``answer_source="extractive_fallback"``, within the writer's time budget. Retries happen only
before the first token was sent, never after text reached the guest.

With ``phrase`` the model answers nothing itself: the extractive writer decides and picks the
sentences, and the model only says them (:mod:`app.answering.phrasing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable, Collection, Sequence
from dataclasses import dataclass, replace

from app.answering import phrasing
from app.answering.citations import (
    StreamingCitationFilter,
    attribute,
    clean_citations,
    figures_supported,
    says_not_found,
    words_supported,
)
from app.answering.composer import Sentence
from app.answering.extractive import ExtractiveWriter
from app.answering.llm.backend import LLMBackend, LLMError, Prompt
from app.answering.llm.guards import Busy, CircuitBreaker, ConcurrencyGate
from app.answering.phrasing import cited, facts_text, rejection, tidy, with_citations
from app.answering.prompts import PromptBuilder
from app.answering.types import Answer, AnswerEvents, Delta, Source

log = logging.getLogger(__name__)

FALLBACK_SOURCE = "extractive_fallback"
# The fallback reason for each way a phrased reply can fail its checks (others: "ungrounded").
_FALLBACK_REASONS = {
    "declined": "declined",
    "dropped_figure": "incomplete",
    "dropped_words": "incomplete",
}


@dataclass(frozen=True, slots=True)
class GenerationLimits:
    """Time budget and size of one generation."""

    ttft_timeout_s: float = 4.0
    stall_timeout_s: float = 3.0
    total_timeout_s: float = 8.0
    retries: int = 1
    max_tokens: int = 160
    prompt_sources: int = 3


class GenerativeWriter:
    """An :class:`~app.answering.types.AnswerWriter` backed by a language model."""

    def __init__(
        self,
        backend: LLMBackend,
        fallback: ExtractiveWriter,
        prompts: PromptBuilder,
        limits: GenerationLimits,
        breaker: CircuitBreaker,
        gate: ConcurrencyGate,
        phrase: bool = False,
    ) -> None:
        self.backend = backend
        # Phrase the composed answer's sentences rather than answer from whole sources
        # (see :mod:`app.answering.phrasing`).
        self.phrase = phrase
        self.name = backend.name
        self._fallback = fallback
        self._prompts = prompts
        self._limits = limits
        self.breaker = breaker
        self.gate = gate

    async def warm(self) -> None:
        """Have the model read the phrasing prompt's fixed beginning once (an in-process model
        keeps it, so no guest waits for it); failures, and a model that takes longer than one
        answer's whole budget, are left to the first answer."""
        if not self.phrase:
            return
        prompt = self._prompts.phrase("Hello?", "Welcome.")
        with contextlib.suppress(LLMError, TimeoutError):
            generation = self.backend.generate(prompt, 1)
            async with (
                asyncio.timeout(self._limits.total_timeout_s),
                contextlib.aclosing(generation),
            ):
                async for _ in generation:
                    pass

    async def write(self, question: str, sources: Sequence[Source], language: str = "en") -> Answer:
        """The final answer of :meth:`stream`."""
        final: Answer | None = None
        stream = self.stream(question, sources, language)
        async with contextlib.aclosing(stream):
            async for event in stream:
                if isinstance(event, Answer):
                    final = event
        assert final is not None
        return final

    async def stream(
        self, question: str, sources: Sequence[Source], language: str = "en"
    ) -> AnswerEvents:
        """Text deltas as the model writes them (in ``language``), then the checked answer."""
        # The checked answer, or why the text cannot stand (the fallback's reason).
        finish: Callable[[str, dict[str, float]], Answer | str]
        if self.phrase:
            # The composing writer decides (hand over or answer) and picks the sentences; the
            # model only says them.
            plan = self._fallback.plan(question, sources, language)
            if not plan.sentences:
                # A hand-over or a summary of reviews: no model call.
                yield Delta(plan.answer.text)
                yield plan.answer
                return
            prompt = self._prompts.phrase(question, facts_text(plan.sentences), language)
            valid: Collection[int] = ()  # the citations come from the sentences
            max_tokens = min(self._limits.max_tokens, phrasing.MAX_TOKENS)

            def finish(raw: str, extra: dict[str, float]) -> Answer | str:
                return self._finish_phrased(raw, plan.sentences, question, language, extra)

        else:
            # One relevance threshold for both writers: the extractive writer's.
            relevant = self._fallback.relevant(sources, question, language)
            relevant = relevant[: self._limits.prompt_sources]
            if not relevant:
                # Nothing to ground an answer in: no model call; the extractive writer escalates.
                async for event in self._fallback.stream(question, sources, language):
                    yield event
                return
            prompt = self._prompts.answer(question, relevant, language)
            valid = {s.n for s in relevant}
            max_tokens = self._limits.max_tokens

            def finish(raw: str, extra: dict[str, float]) -> Answer | str:
                return self._finish(raw, relevant, extra) or "ungrounded"

        if not self.breaker.allow():
            async for event in self._fall_back(
                question, sources, language, "circuit_open", sent=False
            ):
                yield event
            return
        # Settled by a success or a failure of the model; otherwise (no free slot, the guest
        # left) the breaker's trial, if this was one, is handed back.
        settled = False
        try:
            async with self.gate.slot():
                sent = False
                started = time.perf_counter()
                try:
                    citations = StreamingCitationFilter(valid)
                    pieces: list[str] = []
                    ttft: float | None = None
                    tokens = 0
                    generation = self._generate(prompt, max_tokens)
                    async with contextlib.aclosing(generation):
                        async for piece in generation:
                            tokens += 1
                            if ttft is None:
                                ttft = time.perf_counter() - started
                            shown = citations.feed(piece)
                            if shown:
                                # Leading spaces are dropped from the first text shown.
                                if not pieces:
                                    shown = shown.lstrip()
                                if shown:
                                    pieces.append(shown)
                                    sent = True
                                    yield Delta(shown)
                    tail = citations.flush()
                    if tail:
                        pieces.append(tail)
                        sent = True
                        yield Delta(tail)
                    self.breaker.success()
                    settled = True
                except (LLMError, TimeoutError) as exc:
                    self.breaker.failure()
                    settled = True
                    reason = exc.reason if isinstance(exc, LLMError) else "timeout"
                    log.warning("answer model failed (%s); answering extractively", reason)
                    async for event in self._fall_back(question, sources, language, reason, sent):
                        yield event
                    return
        except Busy:
            async for event in self._fall_back(question, sources, language, "busy", sent=False):
                yield event
            return
        finally:
            if not settled:
                self.breaker.release()
        total = time.perf_counter() - started
        extra = {
            "ttft": round((ttft or total) * 1000, 2),
            "generation": round(total * 1000, 2),
            "tokens": float(tokens),
        }
        checked = finish("".join(pieces), extra)
        if not isinstance(checked, Answer):
            log.info("generated answer rejected (%s): %r", checked, "".join(pieces)[:300])
            async for event in self._fall_back(question, sources, language, checked, sent, extra):
                yield event
            return
        yield checked

    def _finish_phrased(
        self,
        raw: str,
        sentences: Sequence[Sentence],
        question: str,
        language: str,
        extra: dict[str, float],
    ) -> Answer | str:
        """The phrased reply with its citations, or why it does not keep to the sentences:
        ``declined`` (it says it does not know), ``incomplete`` (it dropped a figure) or
        ``ungrounded``."""
        text = tidy(raw)
        reason = rejection(text, sentences, question, language)
        if reason is not None:
            log.info("phrased answer rejected (%s): %r", reason, text[:300])
            return _FALLBACK_REASONS.get(reason, "ungrounded")
        cited_sources = cited(text, sentences)
        return Answer(
            with_citations(text, cited_sources),
            cited_sources,
            escalate=False,
            answer_source=self.name,
            extra=extra,
        )

    def _finish(
        self, raw: str, sources: Sequence[Source], extra: dict[str, float]
    ) -> Answer | None:
        """Check the generated text; None when it cannot stand as an answer."""
        text, cited = clean_citations(raw, {s.n for s in sources})
        if len(text) < 2:
            return None
        if says_not_found(text):
            return Answer(text, (), escalate=True, answer_source=self.name, extra=extra)
        if not figures_supported(text, sources):
            return None
        # Base models copy the citation pattern without meaning it: hold them to the words.
        if (not cited or self._prompts.style == "completions") and not words_supported(
            text, sources
        ):
            return None
        if not cited:
            best = attribute(text, sources)
            if best is None:
                return None
            text, cited = f"{text} [{best}]", (best,)
        return Answer(text, cited, escalate=False, answer_source=self.name, extra=extra)

    async def _fall_back(
        self,
        question: str,
        sources: Sequence[Source],
        language: str,
        reason: str,
        sent: bool,
        extra: dict[str, float] | None = None,
    ) -> AnswerEvents:
        answer = self._fallback.compose(question, sources, language)
        answer = replace(
            answer, answer_source=FALLBACK_SOURCE, fallback_reason=reason, extra=extra or {}
        )
        if not sent:
            yield Delta(answer.text)
        yield answer

    async def _generate(self, prompt: Prompt, max_tokens: int) -> AsyncGenerator[str, None]:
        """The backend's pieces under the time budget, with retries before the first token."""
        limits = self._limits
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limits.total_timeout_s
        attempt = 0
        while True:
            stream = self.backend.generate(prompt, max_tokens)
            try:
                async with asyncio.timeout(min(limits.ttft_timeout_s, deadline - loop.time())):
                    first = await anext(stream, None)
                break
            except LLMError as exc:
                await stream.aclose()
                # A retry must leave time for a useful answer: at least one TTFT budget.
                if (
                    not exc.retryable
                    or attempt >= limits.retries
                    or deadline - loop.time() < limits.ttft_timeout_s
                ):
                    raise
                attempt += 1
                await asyncio.sleep(min(0.05 * 2**attempt, 0.5))  # back-off between attempts
            except BaseException:
                await stream.aclose()
                raise
        async with contextlib.aclosing(stream):
            if first is None:
                return
            yield first
            while True:
                budget = min(limits.stall_timeout_s, deadline - loop.time())
                async with asyncio.timeout(budget):
                    piece = await anext(stream, None)
                if piece is None:
                    return
                yield piece
