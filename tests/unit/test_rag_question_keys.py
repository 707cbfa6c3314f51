"""A repeated question's language and cache-key form are remembered, within a byte bound."""

from __future__ import annotations

import pytest

from app import languages
from app.rag import question_keys
from app.rag.question_keys import MAX_KEPT_CHARS, Phrasings, normalise_question


@pytest.fixture
def detections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    calls: list[tuple[str, str | None]] = []
    real = languages.detect

    def counting(text: str, hint: str | None = None) -> str:
        calls.append((text, hint))
        return real(text, hint)

    monkeypatch.setattr(languages, "detect", counting)
    return calls


def test_a_repeated_question_is_detected_once_and_gives_the_same_answer(
    detections: list[tuple[str, str | None]],
) -> None:
    phrasings = Phrasings()
    first = phrasings.language_and_key("Wann ist der Check-out?", None)
    again = phrasings.language_and_key("Wann ist der Check-out?", None)
    assert first == again == (languages.detect("Wann ist der Check-out?"), "wann ist der check-out")
    assert len(detections) == 2  # the two calls above, plus the one in the assertion
    assert detections[0] == ("Wann ist der Check-out?", None)


def test_the_page_language_is_part_of_what_is_remembered(
    detections: list[tuple[str, str | None]],
) -> None:
    phrasings = Phrasings()
    # Too short to tell: the page's language decides, so each page gets its own entry.
    german = phrasings.language_and_key("Wifi?", "de")
    french = phrasings.language_and_key("Wifi?", "fr")
    assert german == ("de", "wifi")
    assert french == ("fr", "wifi")
    assert detections == [("Wifi?", "de"), ("Wifi?", "fr")]


def test_long_questions_are_not_kept_and_the_memory_is_bounded_in_bytes() -> None:
    phrasings = Phrasings(max_bytes=20_000)
    long_question = "Is there parking " + "x" * MAX_KEPT_CHARS + "?"
    assert phrasings.language_and_key(long_question, None)[1] == normalise_question(long_question)
    assert len(phrasings) == 0
    for n in range(1_000):
        phrasings.language_and_key(f"What time does the pool open on day {n}?", None)
    # Each entry weighs at least 200 bytes: no more than 100 fit in 20,000.
    assert 0 < len(phrasings) <= 100
    assert phrasings._kept.currsize <= 20_000


def test_whether_a_question_is_about_a_moment_is_remembered_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked: list[str] = []
    real = question_keys.wants_hours

    def counting(question: str) -> bool:
        checked.append(question)
        return real(question)

    monkeypatch.setattr(question_keys, "wants_hours", counting)
    phrasings = Phrasings()
    now = phrasings.read("Is the pool open now?", None)
    assert now.timely
    assert now == phrasings.read("Is the pool open now?", None)
    later = phrasings.read("Where is the pool?", None)
    assert not later.timely
    assert checked == ["Is the pool open now?", "Where is the pool?"]
