"""A missing subject word found by its meaning (the model's word vectors), and misspelt
question words put right before the question is embedded and searched."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.answering.extractive import ExtractiveWriter
from app.answering.meanings import WordVectors, cache_path, compute, read
from app.answering.types import Source
from app.search.query import query_groups, rewrite
from app.search.retriever import Hit
from app.search.spelling import correction


def src(n: int, text: str, score: float, heading: str = "") -> Source:
    return Source(n, Hit(n, f"doc{n}.md", f"Doc {n}", heading, text, score, ""))


def unit(*parts: float) -> np.ndarray:
    v = np.array(parts, dtype=np.float32)
    return v / np.linalg.norm(v)


# "reservation" and "booking" mean nearly the same (cosine 0.8), as do "motorbike" and
# "motorcycle"; "golf" and "sport" are alike (0.6), as are "motorbike" and "bicycle"; every
# other pair is far apart.
WORDS = WordVectors(
    "reservation booking golf sport table dinner motorbike motorcycle bicycle".split(),
    np.vstack(
        [
            unit(1, 0, 0, 0, 0, 0, 0),
            unit(0.8, 0.6, 0, 0, 0, 0, 0),
            unit(0, 0, 1, 0, 0, 0, 0),
            unit(0, 0, 0.6, 0.8, 0, 0, 0),
            unit(0, 0, 0, 0, 1, 0, 0),
            unit(0, 0.2, 0, 0, 1, 0, 0),
            unit(0, 0, 0, 0, 0, 1, 0),
            unit(0, 0, 0, 0, 0, 0.8, 0.6),
            unit(0, 0, 0, 0, 0, 0.6, 0.8),
        ]
    ),
)
BOOKING = src(
    1,
    "Booking is recommended for dinner on Fridays. For lunch, walk-ins are welcome.",
    0.44,
    heading="Do I need to book a table?",
)
SPORT = src(1, "The sport centre has two squash courts and a climbing wall.", 0.44)


def writer(meanings: WordVectors | None) -> ExtractiveWriter:
    return ExtractiveWriter(0.16, confident_score=0.5, meanings=meanings, meaning_similarity=0.65)


def test_a_word_of_the_same_meaning_answers_the_question() -> None:
    assert writer(None).compose("reservation needed?", [BOOKING]).escalate
    answer = writer(WORDS).compose("reservation needed?", [BOOKING])
    assert not answer.escalate
    assert "Booking is recommended" in answer.text
    assert answer.citations == (1,)


def test_a_merely_alike_word_or_a_loosely_similar_source_is_handed_over() -> None:
    assert writer(WORDS).compose("is there a golf course", [SPORT]).escalate
    # The same word of one meaning, but the search found the source barely similar.
    loose = src(1, BOOKING.hit.text, 0.3, BOOKING.hit.heading)
    assert writer(WORDS).compose("reservation needed?", [loose]).escalate


def test_an_answered_question_is_answered_by_the_sentence_that_says_its_word_in_other_words() -> (
    None
):
    garage = src(
        1,
        "Bicycle parking is free in the courtyard. Motorcycle parking in the garage costs EUR 12.",
        0.55,
        heading="Parking",
    )
    assert writer(None).compose("parking for a motorbike", [garage]).text.startswith("Bicycle")
    answer = writer(WORDS).compose("parking for a motorbike", [garage])
    assert answer.text.startswith("Motorcycle parking in the garage costs EUR 12.")
    assert "Bicycle" not in answer.text


def test_words_of_a_text_are_compared_once_with_stopwords_out() -> None:
    alike = WORDS.alike(["reservations", "reservation"], ["The booking of the table."], 0.65)
    assert alike == {"booking": alike["booking"]}
    assert abs(alike["booking"] - 0.8) < 1e-3
    assert WORDS.alike(["unknownword"], ["booking"], 0.1) == {}


def test_word_vectors_are_computed_once_and_read_back(tmp_path: Path) -> None:
    calls: list[int] = []

    def encode(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)

    words = ["alpha", "beta", "gamma"]
    assert read(tmp_path, "model-a", words) is None
    made = compute(encode, tmp_path, "model-a", words)
    assert calls == [3]
    assert cache_path(tmp_path, "model-a", words).exists()
    again = compute(encode, tmp_path, "model-a", words)
    assert calls == [3]  # read, not computed
    assert np.allclose(again.vectors, made.vectors)
    assert np.allclose(np.linalg.norm(made.vectors.astype(np.float32), axis=1), 1, atol=1e-3)
    assert read(tmp_path, "model-b", words) is None


def test_misspelt_words_are_put_right_and_others_left_as_typed() -> None:
    assert correction("resevation") == "reservation"
    assert correction("parkign") == "parking"
    assert correction("brekfast") == "breakfast"
    assert correction("reservation") is None  # a word
    assert correction("lunches") is None  # a word with an ending the list leaves out
    assert correction("harbour") is None  # British spelling
    assert correction("chambre") is None  # French
    assert correction("strage") is None  # "storage" or "strange"
    assert correction("kayak") is None  # too short to tell


def test_the_corrected_question_is_embedded_and_keeps_the_typed_word_for_matching() -> None:
    assert rewrite("resevation needed?") == "reservation needed?"
    assert ["reservation", "resevation"] in query_groups("resevation needed?")


def test_no_word_vectors_are_prepared_where_the_writer_would_not_use_them() -> None:
    from app.config import Settings
    from app.prepare import prepare_word_vectors

    e5 = Settings(embedding_model="e5")
    assert e5.answer_meaning_threshold is None
    assert prepare_word_vectors(e5).path is None
    assert Settings(embedding_model="e5", answer_meaning_similarity=0.9).answer_meaning_threshold
    assert Settings().answer_meaning_threshold == 0.65
