"""The spelling lists and the word list kept by ``python -m app prepare`` are read at start-up
without ``pyspellchecker``'s lists; without them start-up does not wait for those lists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.answering import meanings
from app.search import spelling
from app.search.query import rewrite

TYPOS = ["resevation", "breakfest", "restaurent", "swimmingpool", "harbour", "parking"]


@pytest.fixture
def unread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The spelling lists as in a new process (not read yet); put back afterwards."""
    monkeypatch.setattr(spelling, "_lists", None)
    monkeypatch.setattr(spelling, "_behind", None)
    yield
    behind = spelling._behind
    if behind is not None:
        behind.join(timeout=60)


def test_the_kept_lists_correct_as_the_read_ones(tmp_path: Path, unread: None) -> None:
    spelling.load()
    expected = [spelling.correction(w) for w in TYPOS]
    assert expected[0] == "reservation"
    path = spelling.write(tmp_path)
    assert path.exists()
    spelling._lists = None

    def no_json(*args: object, **kwargs: object) -> object:
        raise AssertionError("pyspellchecker's lists were read")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json, "load", no_json)
        assert spelling.read(tmp_path)
        assert [spelling.correction(w) for w in TYPOS] == expected


def test_without_kept_lists_the_lists_are_read_behind_and_questions_meanwhile_not_corrected(
    tmp_path: Path, unread: None
) -> None:
    spelling.load_behind(tmp_path)  # returns before the lists are read (about 1.7 s)
    behind = spelling._behind
    assert behind is not None
    if behind.is_alive():
        assert not spelling.ready()
        assert spelling.correction("resevation") is None
        assert "resevation" in rewrite("resevation needed?")
    behind.join(timeout=60)
    assert spelling.ready()
    # Neither the word nor the question is kept uncorrected.
    assert spelling.correction("resevation") == "reservation"
    assert "reservation" in rewrite("resevation needed?")


def test_the_kept_word_list_is_read_and_the_vectors_mapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = meanings.common_words()
    vectors = np.eye(len(words), 8, dtype=np.float16)  # as compute() keeps them
    meanings._write(meanings.cache_path(tmp_path, "m", words), vectors, "word-vectors")
    meanings.keep_words(tmp_path)

    def no_list(count: int = 0) -> tuple[str, ...]:
        raise AssertionError("pyspellchecker's list was read")

    monkeypatch.setattr(meanings, "common_words", no_list)
    table = meanings.read(tmp_path, "m")
    assert table is not None
    assert table.words == words
    base: object = table.vectors  # mapped from the file, not read into memory
    while isinstance(base, np.ndarray) and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap)
    row = table.vector(words[3])
    assert row is not None
    assert row[3] == 1.0


def test_looked_up_words_are_remembered_within_a_byte_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memo = spelling._memo(20_000)
    monkeypatch.setattr(spelling, "_remembered_words", memo)
    assert spelling.correction("resevation") == "reservation"
    assert memo.get("resevation") is not None
    letters = "bcdfghjklmnpqrstvwxz"
    words = [f"zq{a}{b}{c}xw" for a in letters for b in letters for c in letters[:5]]
    for word in words:
        spelling.correction(word)
    # Each entry weighs at least 200 bytes: no more than 100 fit in 20,000.
    assert 0 < len(memo) <= 100
    assert memo.currsize <= 20_000
    assert memo.get(words[-1]) is not None  # the latest are kept, the oldest went first
    assert memo.get("resevation") is None
    assert spelling.correction("q" * 60) is None
    assert memo.get("q" * 60) is None  # too long to be a listed word: not kept
