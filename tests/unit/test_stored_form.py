"""The answer writer's reading of a chunk kept with it at ingestion: read back, it is the reading
of the chunk's text; a chunk without it, or with one written by other code, is read from its
text."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pytest

from app import reading
from app.answering import composer
from app.answering.extractive import ExtractiveWriter
from app.answering.types import Source
from app.reading import derived_form
from app.search.types import Hit

TEXTS = [
    (
        "Check-in and check-out",
        "Times",
        "Check-in starts at 15:00.\nCheck-out is until 11:00. Late check-out costs EUR 30.",
    ),
    (
        "Wellness",
        "Spa > Sauna",
        "## Our spa\nThe wellness area includes:\n- a **sauna**\n- a steam bath\n"
        "Is the pool heated?\nYes, it is heated to 28 °C. It opens at 06:00.",
    ),
    ("Payments", "", "We accept Visa\tand American Express. Cash only at the bar, except tips."),
    ("Rooftop", "Bar", "The Jet Ski rental is at the pier. Café crème costs €4,50 à la carte."),
    ("Empty", "", ""),
    ("Question only", "FAQ", "Can I bring my dog?"),
]


def _hits(kept: bool) -> list[Hit]:
    hits = []
    for i, (title, heading, text) in enumerate(TEXTS, start=1):
        hit = Hit(i, f"d{i}.md", title, heading, text, 0.45)
        hits.append(replace(hit, derived=derived_form(title, heading, text)) if kept else hit)
    return hits


@pytest.mark.parametrize(("title", "heading", "text"), TEXTS)
def test_the_kept_sentences_are_those_read_from_the_text(
    title: str, heading: str, text: str
) -> None:
    hit = Hit(1, "d.md", title, heading, text, 0.5)
    kept = replace(hit, derived=derived_form(title, heading, text))
    assert composer.sentences_of(Source(1, kept)) == composer.sentences_of(Source(1, hit))


@pytest.mark.parametrize(("title", "heading", "text"), TEXTS)
def test_the_kept_words_are_those_read_from_the_text(title: str, heading: str, text: str) -> None:
    joined = f"{title}\n{heading}\n{text}"
    derived = derived_form(title, heading, text)
    assert reading.text_words(joined, derived) == reading.text_words(joined)
    if text:
        assert reading.text_words(joined, derived)


@pytest.mark.parametrize(
    "question",
    [
        "What time is check-out?",
        "is the sauna heated",
        "do you take amex",
        "can I rent a jetski",
        "Do you have a casino?",
        "how much is a coffee",
    ],
)
def test_answers_from_kept_chunks_are_the_answers_from_their_text(question: str) -> None:
    writer = ExtractiveWriter(min_score=0.3, confident_score=0.5)
    read = writer.compose(question, [Source(i, h) for i, h in enumerate(_hits(False), 1)])
    kept = writer.compose(question, [Source(i, h) for i, h in enumerate(_hits(True), 1)])
    assert kept == read


def test_a_form_written_by_other_code_is_not_read() -> None:
    title, heading, text = TEXTS[0]
    other = derived_form(title, heading, text).replace(reading.KEY, "w1:0000000000000000", 1)
    assert reading.split(other) is None
    assert reading.split(None) is None
    assert reading.split("") is None
    hit = Hit(1, "d.md", title, heading, text, 0.5, derived=other)
    # Read from the text: the words and sentences it says, not the other code's.
    assert composer.sentences_of(Source(1, hit)) == composer.sentences_of(
        Source(1, replace(hit, derived=None))
    )
    assert "checkout" in reading.text_words(f"{title}\n{heading}\n{text}", other)


def test_the_kept_form_is_read_rather_than_the_text() -> None:
    # A kept form that says other words than the text: the writer believes the kept form.
    derived = f"{reading.KEY}\nsauna\n0\t0\t010\tsauna\tThe sauna is open."
    hit = Hit(1, "d.md", "T", "", "Parking is free.", 0.5, derived=derived)
    assert [s.text for s in composer.sentences_of(Source(1, hit))] == ["The sauna is open."]
    assert reading.text_words("T\n\nParking is free.", derived) == frozenset({"sauna"})


def test_without_a_name_no_kept_form_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    title, heading, text = TEXTS[0]
    derived = derived_form(title, heading, text)
    assert reading.split(derived) is not None
    monkeypatch.setattr(reading, "KEY", "")
    assert reading.split(derived) is None


def test_the_name_of_the_kept_form_is_the_same_in_every_process() -> None:
    # Sets of words iterate in another order in each process: the name must not follow it.
    code = "import app.reading as r; print(r.KEY)"
    names = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert names == {reading.KEY}


@pytest.mark.parametrize(
    ("name", "reads_otherwise"),
    [
        ("_states_exception", lambda text: False),
        ("roots", lambda terms: list(terms)),
        ("content_terms", lambda text: text.lower().split()),
        ("split_units", lambda line: [line]),
    ],
)
def test_code_that_reads_texts_otherwise_names_its_form_otherwise(
    monkeypatch: pytest.MonkeyPatch, name: str, reads_otherwise: object
) -> None:
    monkeypatch.setattr(reading, "_units", reading._units.__wrapped__)  # type: ignore[attr-defined]
    monkeypatch.setattr(reading, "_text_words", reading._text_words.__wrapped__)  # type: ignore[attr-defined]
    assert reading._key() == reading.KEY
    monkeypatch.setattr(reading, name, reads_otherwise)
    assert reading._key() != reading.KEY


def test_the_texts_that_name_the_form_meet_every_kind_of_sentence() -> None:
    units = [u for _, _, text in reading._PROBES for u in reading._units(text)]
    for flag in (3, 4, 6):  # decisive, states an exception, leans on the one before
        assert {u[flag] for u in units} == {True, False}
    texts = "\n".join(text for _, _, text in reading._PROBES)
    kept = {u[1] for u in units}
    # Headings, copied questions and captions are read, and left out.
    assert "## Our spa" not in kept
    assert "Is the pool heated?" not in kept
    assert "The wellness area includes:" in texts
    assert "The wellness area includes:" not in kept
