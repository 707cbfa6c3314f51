"""The generative answer writer: a language model grounded in the sources, with a safety net.

Whatever goes wrong — the circuit is open, every slot is busy, the first token is late, the
stream stalls or breaks, the server answers 500 or garbage, the answer is empty or shares no
word with the sources — the guest gets the extractive answer, marked
``answer_source="extractive_fallback"``, within the writer's time budget. Retries happen only
before the first token was sent, never after text reached the guest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, replace

from app.answering.citations import (
    StreamingCitationFilter,
    attribute,
    clean_citations,
    figures_supported,
    says_not_found,
    words_supported,
)
from app.answering.extractive import ExtractiveWriter
from app.answering.llm.backend import LLMBackend, LLMError, Prompt
from app.answering.llm.guards import Busy, CircuitBreaker, ConcurrencyGate
from app.answering.prompts import PromptBuilder
from app.answering.types import Answer, AnswerEvents, Delta, Source

log = logging.getLogger(__name__)

FALLBACK_SOURCE = "extractive_fallback"


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
    ) -> None:
        self.backend = backend
        self.name = backend.name
        self._fallback = fallback
        self._prompts = prompts
        self._limits = limits
        self.breaker = breaker
        self.gate = gate

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
        # One relevance threshold for both writers: the extractive writer's.
        relevant = self._fallback.relevant(sources, question, language)
        relevant = relevant[: self._limits.prompt_sources]
        if not relevant:
            # Nothing to ground an answer in: no model call; the extractive writer escalates.
            async for event in self._fallback.stream(question, sources, language):
                yield event
            return
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
                    prompt = self._prompts.answer(question, relevant, language)
                    citations = StreamingCitationFilter({s.n for s in relevant})
                    pieces: list[str] = []
                    ttft: float | None = None
                    tokens = 0
                    generation = self._generate(prompt)
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
        checked = self._finish("".join(pieces), relevant, extra)
        if checked is None:
            log.info("generated answer rejected as ungrounded: %r", "".join(pieces)[:300])
            async for event in self._fall_back(
                question, sources, language, "ungrounded", sent, extra
            ):
                yield event
            return
        yield checked

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

    async def _generate(self, prompt: Prompt) -> AsyncGenerator[str, None]:
        """The backend's pieces under the time budget, with retries before the first token."""
        limits = self._limits
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limits.total_timeout_s
        attempt = 0
        while True:
            stream = self.backend.generate(prompt, limits.max_tokens)
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
