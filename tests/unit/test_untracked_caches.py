"""What the answer writer keeps of each chunk's text is made of objects that the garbage
collector does not walk: a full collection then costs the same however many texts are kept."""

from __future__ import annotations

import gc

from app import reading
from app.answering import composer, matching
from app.answering.types import Source
from app.search.retriever import Hit

TEXT = (
    "Check-out is until 11:00. Late check-out until 14:00 costs EUR 30 and depends on "
    "availability. The rooftop bar serves cocktails.\n"
    "Our wellness area includes:\n- a sauna\n- a steam bath\n- a heated pool\n"
    "We accept Visa and American Express. The gym opens at 06:00."
)


def _tracked(value: object) -> list[object]:
    """``value`` and what it holds, where the collector tracks them."""
    found = []
    todo = [value]
    while todo:
        item = todo.pop()
        if gc.is_tracked(item):
            found.append(item)
        if isinstance(item, tuple | list | frozenset | set):
            todo.extend(item)
        elif isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
    return found


def test_a_texts_sentences_are_kept_untracked() -> None:
    units = reading._units(TEXT)
    # A collection untracks a tuple whose items are untracked at that moment: the tuple of
    # sentences at the next one, after the sentences themselves.
    gc.collect()
    gc.collect()
    assert len(units) >= 5
    assert _tracked(units) == []


def test_kept_sentences_give_the_same_words() -> None:
    source = Source(1, Hit(1, "doc.md", "Doc", "Wellness", TEXT, 0.6, ""))
    sentences = composer.sentences_of(source)
    sauna = next(s for s in sentences if "sauna" in s.text)
    # The caption line above the list is part of each list item's words.
    assert {"sauna", "wellnes", "area", "includ"} <= sauna.words


def test_lookups_through_the_kept_index_find_sound_alikes_short_forms_and_other_forms() -> None:
    vocabulary = matching.Vocabulary.of([TEXT])
    assert "gym" in vocabulary.matches("gem")  # sound-alike
    assert {"american", "express"} <= vocabulary.matches("amex")  # short form of a name
    assert "availability" in vocabulary.matches("availabl")  # another form of the word


def test_lookups_over_several_texts_find_each_texts_words() -> None:
    vocabulary = matching.Vocabulary.of(
        ["The gym opens at 06:00.", "We accept American Express.", "Rooms have a terrace."]
    )
    assert "gym" in vocabulary.matches("gem")  # sound-alike, first text
    assert {"american", "express"} <= vocabulary.matches("amex")  # short form, second text
    assert "terrace" in vocabulary.matches("terraces")  # another form, third text
    assert "terrace" in vocabulary.matches("terr")  # the first part of a word
    assert vocabulary.matches("casino") == set()
