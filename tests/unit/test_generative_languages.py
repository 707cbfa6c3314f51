"""A generative writer decides to answer a question in another language as its fallback does."""

from __future__ import annotations

from app.answering.extractive import ExtractiveWriter
from app.answering.generative import FALLBACK_SOURCE, GenerationLimits, GenerativeWriter
from app.answering.llm.guards import CircuitBreaker, ConcurrencyGate
from app.answering.prompts import PromptBuilder
from app.answering.types import number_sources
from app.search.types import Hit
from tests.fakes import ScriptedModel as Model

BREAKFAST = number_sources(
    [
        Hit(1, "breakfast.md", "Breakfast", "Hours", "Breakfast is served daily from 06:30 to "
            "10:30 in the Quay Room; it costs EUR 24 per adult.", 0.85),
    ]
)  # fmt: skip
QUESTION = "A che ora è la colazione?"


def writer(model: Model) -> GenerativeWriter:
    # The thresholds of a multilingual model (see test_languages): an Italian question over
    # English sources is answered from a lower floor, without its words being found.
    fallback = ExtractiveWriter(0.83, confident_score=0.87, other_language_min_score=0.80)
    return GenerativeWriter(
        model,
        fallback,
        PromptBuilder("chat"),
        GenerationLimits(),
        CircuitBreaker(3, 30),
        ConcurrencyGate(1, 0.1),
    )


async def test_a_question_in_another_language_reaches_the_model() -> None:
    model = Model(["La colazione è servita dalle 06:30 alle 10:30 [1]."])
    answer = await writer(model).write(QUESTION, BREAKFAST, "it")
    assert len(model.prompts) == 1
    assert not answer.escalate
    assert answer.answer_source == "scripted"
    assert answer.citations == (1,)


async def test_its_fallback_answers_in_the_same_way() -> None:
    model = Model(["La colazione è alle 07:00 [1]."])  # a time no source gives
    answer = await writer(model).write(QUESTION, BREAKFAST, "it")
    assert answer.answer_source == FALLBACK_SOURCE
    assert answer.fallback_reason == "ungrounded"
    assert not answer.escalate
    assert "06:30" in answer.text


async def test_a_question_in_the_sources_language_keeps_the_word_rule() -> None:
    model = Model(["Yes [1]."])
    answer = await writer(model).write("Is there a casino?", BREAKFAST, "en")
    assert model.prompts == []
    assert answer.escalate
