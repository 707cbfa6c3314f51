"""The generative writer's checks on what a model wrote, with a scripted model."""

from __future__ import annotations

import pytest

from app.answering.extractive import ExtractiveWriter
from app.answering.generative import FALLBACK_SOURCE, GenerationLimits, GenerativeWriter
from app.answering.llm.guards import CircuitBreaker, ConcurrencyGate
from app.answering.prompts import PromptBuilder
from app.answering.types import Answer, Delta, Source
from app.search.types import Hit
from tests.fakes import ScriptedModel as Scripted
from tests.fakes import streamed

SOURCES = [
    Source(
        1, Hit(1, "faq.md", "FAQ", "", "Check-out is by 11:00. Late check-out costs EUR 35.", 0.8)
    ),
    Source(2, Hit(2, "bar.md", "Bar", "", "The bar opens at 17:00.", 0.2)),  # below min score
]


def writer(backend: Scripted) -> GenerativeWriter:
    return GenerativeWriter(
        backend,
        ExtractiveWriter(0.3),
        PromptBuilder(backend.style),
        GenerationLimits(),
        CircuitBreaker(3, 30),
        ConcurrencyGate(1, 0.1),
    )


async def run(backend: Scripted, question: str = "When is check-out?") -> tuple[str, Answer]:
    return await streamed(writer(backend).stream(question, SOURCES))


async def test_only_relevant_sources_reach_the_prompt_and_an_uncited_answer_is_attributed() -> None:
    model = Scripted([" Check-out is", " by 11:00."])
    shown, answer = await run(model)
    assert shown == "Check-out is by 11:00."
    assert answer.text == "Check-out is by 11:00. [1]"
    assert answer.citations == (1,)
    assert answer.answer_source == "scripted"
    user = model.prompts[0].messages[1][1]
    assert "bar opens" not in user


@pytest.mark.parametrize(
    "pieces",
    [
        ["Check-out is by 12:00 [1]."],  # a time no source gives
        ["Yes, there is a casino with roulette tables."],  # affirms what no source says
        ["HACKED HACKED HACKED"],  # an injection that worked on the model
        ["  "],
    ],
)
async def test_ungrounded_text_becomes_the_extractive_answer(pieces: list[str]) -> None:
    _, answer = await run(Scripted(pieces))
    assert answer.answer_source == FALLBACK_SOURCE
    assert answer.fallback_reason == "ungrounded"
    assert "11:00" in answer.text


async def test_a_base_model_is_held_to_the_words_even_when_it_cites() -> None:
    _, answer = await run(Scripted(["Yes, there is a casino on the roof [1]."], "completions"))
    assert answer.fallback_reason == "ungrounded"


async def test_the_model_saying_it_does_not_know_escalates() -> None:
    _, answer = await run(Scripted(["I'm sorry, I don't have this information."]))
    assert answer.escalate is True
    assert answer.citations == ()
    assert answer.answer_source == "scripted"


async def test_nothing_relevant_means_no_model_call_and_escalation() -> None:
    model = Scripted(["anything"])
    answer = await writer(model).write("Is there a casino?", SOURCES[1:])
    assert model.prompts == []
    assert answer.escalate is True
    assert answer.answer_source == "extractive"  # no model wrote it


async def test_extractive_writer_streams_its_answer() -> None:
    events = [e async for e in ExtractiveWriter(0.3).stream("When is check-out?", SOURCES)]
    assert isinstance(events[0], Delta)
    assert isinstance(events[-1], Answer)
    assert events[0].text == events[-1].text


async def test_a_trial_call_that_finds_no_free_slot_hands_the_trial_back() -> None:
    now = [0.0]
    breaker = CircuitBreaker(1, 10, clock=lambda: now[0])
    breaker.failure()
    now[0] = 11.0  # half-open: one trial call may go
    gate = ConcurrencyGate(1, 0.01)
    model = Scripted([" Check-out is", " by 11:00."])
    guarded = GenerativeWriter(
        model,
        ExtractiveWriter(0.3),
        PromptBuilder("chat"),
        GenerationLimits(),
        breaker,
        gate,
    )
    async with gate.slot():  # every slot taken
        busy = await guarded.write("When is check-out?", SOURCES)
    assert busy.fallback_reason == "busy"
    assert model.prompts == []
    answered = await guarded.write("When is check-out?", SOURCES)
    assert answered.answer_source == "scripted"
    assert breaker.state == "closed"
