"""Builds the answer writer chosen in the settings, and closes what it opened.

``extractive`` needs nothing. ``openai`` opens one shared HTTP client (bounded pool) to an
OpenAI-compatible server. ``local`` loads a GGUF model in process, on its own thread. Both
generative writers keep the extractive writer as their fallback, share one circuit breaker and
one concurrency bound, and also rewrite follow-up questions when they use the chat style.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from app.answering.extractive import ExtractiveWriter
from app.answering.followup import FollowUpRewriter
from app.answering.generative import GenerationLimits, GenerativeWriter
from app.answering.llm.backend import LLMBackend, PromptStyle
from app.answering.llm.guards import CircuitBreaker, ConcurrencyGate
from app.answering.meanings import WordVectors
from app.answering.prompts import PromptBuilder
from app.answering.types import AnswerWriter
from app.config import Settings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Writers:
    """The answer writer and the follow-up rewriter that go with it."""

    writer: AnswerWriter
    rewriter: FollowUpRewriter


def prompt_style(settings: Settings) -> PromptStyle:
    """``auto``: completions for the packaged base model (Gemma-3-270M), chat otherwise
    (servers, the packaged instruct models, a GGUF file given by path)."""
    if settings.llm_api != "auto":
        return settings.llm_api
    from app.answering.llm.models import PACKAGED

    base = not PACKAGED[settings.llm_packaged_model].chat
    local_packaged = settings.answer_writer == "local" and settings.llm_model_path is None
    return "completions" if local_packaged and base else "chat"


def extractive_writer(settings: Settings, meanings: WordVectors | None = None) -> ExtractiveWriter:
    """The extractive writer with the configured thresholds and bounds, and the model's word
    vectors when they were computed (``python -m app prepare``)."""
    similarity = settings.answer_meaning_threshold
    return ExtractiveWriter(
        settings.answer_threshold,
        settings.answer_max_sentences,
        settings.answer_max_sources,
        settings.answer_confident_threshold,
        max_chars=settings.answer_max_chars,
        other_language_min_score=settings.answer_other_language_threshold,
        meanings=meanings if similarity is not None else None,
        meaning_similarity=similarity if similarity is not None else 1.0,
    )


def phrases(settings: Settings, style: PromptStyle) -> bool:
    """Whether the model only phrases the composed answer's sentences (``llm_context``)."""
    if settings.llm_context != "auto":
        return settings.llm_context == "sentences" and style == "chat"
    return settings.answer_writer == "local" and style == "chat"


async def _open_backend(settings: Settings, style: PromptStyle) -> LLMBackend:
    if settings.answer_writer == "openai":
        from app.answering.llm.openai_compat import OpenAICompatibleBackend

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return OpenAICompatibleBackend.create(
            settings.llm_base_url,
            settings.llm_model,
            style,
            api_key=key,
            connect_timeout_s=settings.llm_connect_timeout_s,
            read_timeout_s=settings.llm_total_timeout_s,
            max_connections=settings.llm_max_concurrency,
            temperature=settings.llm_temperature,
        )
    from app.answering.llm.local import LocalBackend
    from app.answering.llm.models import packaged_gguf_path

    path: Path = (
        settings.llm_model_path
        if settings.llm_model_path is not None
        else await asyncio.to_thread(packaged_gguf_path, settings.llm_packaged_model)
    )
    backend = await asyncio.to_thread(
        LocalBackend.load, path, style, settings.llm_threads, settings.llm_context_tokens
    )
    log.info("local answer model loaded from %s (%d thread(s))", path, settings.llm_threads)
    return backend


@asynccontextmanager
async def open_writers(
    settings: Settings, meanings: WordVectors | None = None
) -> AsyncIterator[Writers]:
    """The configured writer (and rewriter) for the lifetime of the service."""
    extractive = extractive_writer(settings, meanings)
    if settings.answer_writer == "extractive":
        yield Writers(extractive, FollowUpRewriter())
        return
    style = prompt_style(settings)
    backend = await _open_backend(settings, style)
    try:
        prompts = PromptBuilder(style, settings.llm_source_chars)
        # The in-process model runs one generation at a time on its thread.
        limit = 1 if settings.answer_writer == "local" else settings.llm_max_concurrency
        writer = GenerativeWriter(
            backend,
            extractive,
            prompts,
            GenerationLimits(
                ttft_timeout_s=settings.llm_ttft_timeout_s,
                stall_timeout_s=settings.llm_stall_timeout_s,
                total_timeout_s=settings.llm_total_timeout_s,
                retries=settings.llm_retries,
                max_tokens=settings.llm_max_tokens,
                prompt_sources=settings.llm_prompt_sources,
            ),
            CircuitBreaker(settings.llm_breaker_failures, settings.llm_breaker_reset_s),
            ConcurrencyGate(limit, settings.llm_queue_wait_s),
            phrase=phrases(settings, style),
        )
        if settings.answer_writer == "local":
            await writer.warm()
        # Base models do not follow rewrite instructions reliably: the rule does better.
        rewriter = (
            FollowUpRewriter(
                backend,
                prompts,
                settings.llm_rewrite_timeout_s,
                guards=(writer.breaker, writer.gate),
            )
            if style == "chat"
            else FollowUpRewriter()
        )
        yield Writers(writer, rewriter)
    finally:
        await backend.aclose()
