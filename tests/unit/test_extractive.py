"""Extractive answers: the right sentence, its citation, and escalation when nothing fits."""

from __future__ import annotations

import re

from app.answering.extractive import ExtractiveWriter
from app.answering.types import FALLBACK_MESSAGE, Source
from app.search.types import Hit
from app.text import content_terms, split_units


def source(n: int, text: str, score: float, doc: str = "doc.md") -> Source:
    return Source(n, Hit(n * 10, doc, doc.removesuffix(".md").title(), "", text, score))


CHECKOUT = source(
    1,
    "Check-in starts at 15:00.\nCheck-out is until 11:00 on the day of departure.\n"
    "Late check-out until 14:00 costs EUR 30.",
    0.71,
    "check-in-check-out.md",
)
PARKING = source(
    2, "The garage is on level -1. Parking costs EUR 28 per night.", 0.42, "parking.md"
)


async def test_picks_the_sentence_that_answers_and_cites_it() -> None:
    writer = ExtractiveWriter(min_score=0.3, max_sentences=1)
    answer = await writer.write("What time is check-out?", [CHECKOUT, PARKING])
    assert answer.text == "Check-out is until 11:00 on the day of departure. [1]"
    assert answer.citations == (1,)
    assert not answer.escalate


async def test_cites_every_source_it_quotes() -> None:
    writer = ExtractiveWriter(min_score=0.3, max_sentences=3)
    answer = writer.compose("how much is parking per night", [PARKING, CHECKOUT])
    assert "Parking costs EUR 28 per night. [2]" in answer.text
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert cited == set(answer.citations)


async def test_escalates_when_no_source_is_similar_enough() -> None:
    writer = ExtractiveWriter(min_score=0.5)
    answer = await writer.write("Do you have a casino?", [PARKING])
    assert answer.escalate
    assert answer.text == FALLBACK_MESSAGE
    assert answer.citations == ()


async def test_escalates_on_a_loose_match_sharing_no_word() -> None:
    writer = ExtractiveWriter(min_score=0.3, confident_score=0.55)
    answer = await writer.write("helipad?", [PARKING])
    assert answer.escalate


async def test_a_confident_match_answers_even_in_other_words() -> None:
    writer = ExtractiveWriter(min_score=0.3, confident_score=0.55)
    answer = await writer.write("when do I need to leave my room", [CHECKOUT])
    assert not answer.escalate
    assert answer.citations == (1,)


async def test_no_sources_means_escalation() -> None:
    answer = await ExtractiveWriter(min_score=0.3).write("anything", [])
    assert answer.escalate


def test_units_strip_markdown_and_split_sentences() -> None:
    units = split_units("## Hours\n- **Pool:** 07:00-22:00\n1. First. Second one here.")
    assert units == ["Pool: 07:00-22:00", "First.", "Second one here."]


def test_content_terms_drop_stopwords_and_stem() -> None:
    assert content_terms("What are the opening hours of the pools?") == ["open", "hour", "pool"]


async def test_an_answer_is_bounded_in_characters_even_for_one_endless_sentence() -> None:
    endless = "The pool is open daily from 07:00 " + "and then again " * 1500 + "until 22:00."
    writer = ExtractiveWriter(min_score=0.3, max_sentences=3, max_chars=1200)
    answer = await writer.write("When is the pool open?", [source(1, endless, 0.8, "pool.md")])
    assert len(endless) > 20_000
    assert len(answer.text) <= 1200
    assert answer.text.startswith("The pool is open daily from 07:00")
    assert answer.text.endswith("… [1]")
    assert answer.citations == (1,)


def test_the_plan_names_the_sentences_it_says_and_none_when_it_hands_over() -> None:
    writer = ExtractiveWriter(min_score=0.3, max_sentences=1)
    plan = writer.plan("What time is check-out?", [CHECKOUT, PARKING])
    assert [(s.source, s.text) for s in plan.sentences] == [
        (1, "Check-out is until 11:00 on the day of departure.")
    ]
    assert plan.answer == writer.compose("What time is check-out?", [CHECKOUT, PARKING])
    handed_over = ExtractiveWriter(min_score=0.5).plan("Do you have a casino?", [PARKING])
    assert handed_over.answer.escalate
    assert handed_over.sentences == ()
