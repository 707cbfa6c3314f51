"""A model that only phrases the composed answer: the gate decides, the checks hold it to the
sentences, and the composed answer stands in whenever the reply does not keep to them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from app.answering.composer import sentences_of
from app.answering.extractive import ExtractiveWriter
from app.answering.generative import FALLBACK_SOURCE, GenerationLimits, GenerativeWriter
from app.answering.llm.backend import Prompt
from app.answering.llm.guards import CircuitBreaker, ConcurrencyGate
from app.answering.phrasing import cited, rejection, tidy
from app.answering.prompts import PromptBuilder
from app.answering.types import Answer, Source
from app.search.types import Hit
from tests.fakes import ScriptedModel as Scripted
from tests.fakes import streamed

CHECKOUT = Source(
    1,
    Hit(
        1,
        "check-out.md",
        "Check-out",
        "",
        "Check-out is by 11:00. Late check-out until 14:00 costs EUR 35.\n"
        "The garage is on level -1.",
        0.8,
    ),
)
PARKING = Source(2, Hit(2, "parking.md", "Parking", "", "Parking costs EUR 28 per night.", 0.6))
SOURCES = [CHECKOUT, PARKING]
QUESTION = "When is check-out?"
# The check-out source's first two sentences, as a composed answer might say them.
SAID = tuple(sentences_of(CHECKOUT)[:2])


def writer(model: Scripted, limits: GenerationLimits | None = None) -> GenerativeWriter:
    return GenerativeWriter(
        model,
        ExtractiveWriter(0.3, confident_score=0.9),
        PromptBuilder("chat"),
        limits or GenerationLimits(),
        CircuitBreaker(3, 30),
        ConcurrencyGate(1, 0.1),
        phrase=True,
    )


async def run(model: Scripted, question: str = QUESTION) -> tuple[str, Answer]:
    return await streamed(writer(model).stream(question, SOURCES))


class SilentModel(Scripted):
    """A model that never writes its first token."""

    async def generate(self, prompt: Prompt, max_tokens: int) -> AsyncGenerator[str, None]:
        self.prompts.append(prompt)
        await asyncio.Event().wait()
        yield ""


async def test_warming_a_model_that_never_answers_gives_up_within_one_answers_budget() -> None:
    model = SilentModel([])
    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(writer(model, GenerationLimits(total_timeout_s=0.05)).warm(), 5)
    assert len(model.prompts) == 1
    assert asyncio.get_running_loop().time() - started < 5


def composed(question: str = QUESTION) -> Answer:
    return ExtractiveWriter(0.3, confident_score=0.9).compose(question, SOURCES)


async def test_the_model_gets_only_the_composed_sentences_and_its_reply_is_cited() -> None:
    model = Scripted(["Check-out", " is by 11:00 at the latest."])
    shown, answer = await run(model)
    assert composed().text == "Check-out is by 11:00. [1]"
    assert answer.answer_source == "scripted"
    assert answer.text == "Check-out is by 11:00 at the latest. [1]"
    assert answer.citations == (1,)
    assert shown == "Check-out is by 11:00 at the latest."
    request = model.prompts[0].messages[-1][1]
    assert "Check-out is by 11:00." in request
    # Neither the unchosen sentences of the same source nor the other source are sent.
    assert "garage" not in request
    assert "EUR 35" not in request
    assert "EUR 28" not in request


async def test_a_handed_over_question_never_reaches_the_model() -> None:
    model = Scripted(["Yes, there is a casino."])
    shown, answer = await run(model, "Do you have a casino?")
    assert model.prompts == []
    assert answer.escalate
    assert shown == answer.text == composed("Do you have a casino?").text


@pytest.mark.parametrize(
    ("pieces", "reason"),
    [
        (["Check-out is by 12:00."], "ungrounded"),  # a time the sentences do not give
        (["Check-out is in the morning."], "incomplete"),  # drops the time asked for
        (["I'm sorry, I don't have that information."], "declined"),
        (["Our rooftop casino and spa bar are open to 11:00."], "ungrounded"),
        (["  "], "ungrounded"),
    ],
)
async def test_a_reply_that_does_not_keep_to_the_sentences_gives_the_composed_answer(
    pieces: list[str], reason: str
) -> None:
    _, answer = await run(Scripted(pieces))
    assert answer.answer_source == FALLBACK_SOURCE
    assert answer.fallback_reason == reason
    assert answer.text == composed().text
    assert not answer.escalate


def test_markers_emphasis_and_a_closing_question_are_tidied_away() -> None:
    text = tidy("**Check-out** is by 11:00 [1]. Is there anything else I can help with?")
    assert text == "Check-out is by 11:00."


def test_a_reply_in_another_language_is_held_to_the_figures_only() -> None:
    german = "Der Check-out ist bis 11:00 Uhr; ein später Check-out bis 14:00 kostet EUR 35."
    assert rejection(german, SAID, QUESTION, "de") is None
    assert rejection(german, SAID, QUESTION, "en") == "unsupported_words"
    assert rejection(german.replace("11:00", "10:00"), SAID, QUESTION, "de") == "invented_figure"


def test_the_figures_asked_for_must_be_kept_and_most_others() -> None:
    price = "How much is late check-out?"
    assert rejection("Late check-out until 14:00 costs EUR 35.", SAID, price, "en") is None
    assert rejection("Late check-out is possible until 14:00.", SAID, price, "en") == (
        "dropped_figure"
    )
    assert rejection("Check-out is by 11:00.", SAID, "check-out?", "en") == "dropped_figure"


def test_a_reply_that_says_little_of_the_sentences_is_refused() -> None:
    menu = Source(3, Hit(3, "menu.md", "Menu", "Mains", "Vegan mains: lentil dhal, "
                         "mushroom risotto and grilled aubergine with tahini.", 0.7))  # fmt: skip
    said = tuple(sentences_of(menu))
    assert rejection("Yes, vegan mains.", said, "vegn mains", "en") == "dropped_words"
    assert (
        rejection(
            "Our vegan mains are lentil dhal, mushroom risotto and grilled aubergine.",
            said,
            "vegn mains",
            "en",
        )
        is None
    )


def test_a_reply_that_affirms_the_guests_subject_is_refused() -> None:
    cart = Source(4, Hit(4, "faq.md", "FAQ", "", "A free golf-cart shuttle runs from 07:00 "
                         "to 23:00.", 0.6))  # fmt: skip
    said = tuple(sentences_of(cart))
    question = "do you have a golf course"
    assert rejection("Yes, we have a golf course from 07:00 to 23:00.", said, question, "en") == (
        "unsupported_words"
    )
    assert (
        rejection("A free golf-cart shuttle runs from 07:00 to 23:00.", said, question, "en")
        is None
    )


def test_two_sentences_stating_one_fact_are_refused() -> None:
    text = "Check-out is by 11:00, late until 14:00 for EUR 35. Check-out by 11:00, EUR 35 late."
    assert rejection(text, SAID, QUESTION, "en") == "duplicate"


def test_each_source_whose_sentence_is_said_is_cited() -> None:
    both = ExtractiveWriter(0.3, max_sentences=3).plan("check-out and parking prices", SOURCES)
    assert {s.source for s in both.sentences} == {1, 2}
    assert cited("Late check-out costs EUR 35 and parking EUR 28.", both.sentences) == (1, 2)
    assert cited("Late check-out costs EUR 35.", both.sentences) == (1,)
    assert cited("Parking costs EUR 28 per night.", both.sentences) == (2,)


def test_the_in_process_chat_model_phrases_and_a_server_answers_from_sources() -> None:
    from app.answering.writers import phrases
    from app.config import Settings

    assert phrases(Settings(answer_writer="local"), "chat")
    assert not phrases(Settings(answer_writer="local"), "completions")
    assert not phrases(Settings(answer_writer="openai"), "chat")
    assert phrases(Settings(answer_writer="openai", llm_context="sentences"), "chat")
    assert not phrases(Settings(answer_writer="local", llm_context="sources"), "chat")
