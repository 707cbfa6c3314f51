"""Answer-level metrics: facts, markup residue, duplicated facts, reviews in the hotel's voice."""

from __future__ import annotations

from app.answering.types import Answer
from app.search.types import Hit
from evaluation.answers import (
    Case,
    fact_present,
    has_duplicate,
    has_markup,
    judge,
    review_in_hotel_voice,
    summarise,
)
from evaluation.data import Question


def test_fact_spellings_and_token_bounds() -> None:
    assert fact_present("11:00", "Check-out is by 11:00 [1].")
    assert fact_present("not allowed|not accepted", "Pets are not accepted.")
    assert fact_present("15", "Dogs cost EUR 15 per night.")
    assert not fact_present("15", "Check-in is from 15:00.")
    assert not fact_present("15", "It costs EUR 150.")


def test_markup_residue() -> None:
    assert has_markup("Q: Does the bistro serve alcohol? [1]")
    assert has_markup("**Parking** is free.")
    assert has_markup("Does the hotel have parking? Yes, it does [1].")
    assert not has_markup("Parking costs EUR 28 per 24 hours [1].")


def test_duplicated_facts() -> None:
    twice = (
        "The Wi-Fi network is HarbourGrand_Guest and the password is Anchor2024! [1] "
        "Wi-Fi password: Anchor2024! [2]"
    )
    assert has_duplicate(twice)
    assert not has_duplicate(
        "Check-in is from 15:00 [1]. Late check-out until 14:00 costs EUR 35 [1]."
    )


def test_review_copied_in_the_first_person() -> None:
    review = Hit(
        1,
        "reviews/r1.md",
        "Review",
        "",
        "I also saw some hairs in the bathroom sink.",
        0.5,
        "review",
    )
    assert review_in_hotel_voice("I also saw some hairs in the bathroom sink [1].", [review])
    assert not review_in_hotel_voice(
        'One guest wrote: "I also saw some hairs in the bathroom sink" [1].', [review]
    )


def test_summary_rates() -> None:
    gold = Question("a", "check out?", frozenset({"faq.md"}), "h", facts=("11:00",))
    none = Question("b", "casino?", frozenset(), "h")
    hit = Hit(1, "faq.md", "FAQ", "", "Check-out is by 11:00.", 0.8)
    judged = [
        judge(Case(gold, [hit]), Answer("Check-out is by 11:00 [1].", (1,)), 0.1),
        judge(Case(none, [hit]), Answer("Please ask the front desk.", escalate=True), 0.1),
    ]
    figures = summarise("extractive", judged).figures
    assert figures["fact_accuracy"] == 1.0
    assert figures["citation_precision"] == 1.0
    assert figures["handover_unanswerable"] == 1.0
    assert figures["false_handover"] == 0.0
