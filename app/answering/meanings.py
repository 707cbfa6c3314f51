"""What a word means, as the embedding model sees it: a vector per common English word.

A guest asks "reservation needed?" of a bistro whose text says "Booking is recommended"; "my
laundry" of a hotel that says "wash your clothes". No spelling brings one word to the other,
but the model puts them close: the cosine of the model's vectors of "reservation" and
"booking" is 0.68, of "clothes" and "laundry" 0.69. Things that are merely alike are close
too ("golf" and "sport" 0.64, "tennis" and "badminton" 0.71), so the answer writer only
takes a word's meaning as found when the search also found the sources clearly similar to the
question (:mod:`app.answering.extractive`).

The vectors of the ``_WORDS`` most common English words (the counts of ``pyspellchecker``'s
English list) are computed once per model, where a deployment computes what it needs ahead of
its first start (``python -m app prepare``; about 40 s on two cores), and kept in the model
folder (float16, about 23 MB), with the list of the words; the server maps the file at
start-up when it is there (only the rows looked up are read into memory). Looking a word up
costs a dot product with the vectors of the sources' words: no model call.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from app.files import keyed_path, write_atomically
from app.text import STOPWORDS, content_terms, per_text

log = logging.getLogger(__name__)

_WORDS = 30_000
_WORD = re.compile(r"[a-z]{3,20}")
_BATCH = 256
# Characters of the source texts whose word rows are kept (a few bytes per word).
_ROWS_CACHE_CHARS = 600_000


@lru_cache(maxsize=2)
def common_words(count: int = _WORDS) -> tuple[str, ...]:
    """The ``count`` most common English words of three to twenty letters, most common first."""
    folder = resources.files("spellchecker") / "resources"
    with folder.joinpath("en.json.gz").open("rb") as raw, gzip.open(raw) as packed:
        counts: dict[str, int] = json.load(packed)
    ranked = sorted(((c, w) for w, c in counts.items() if _WORD.fullmatch(w)), reverse=True)
    return tuple(w for _, w in ranked[:count])


class WordVectors:
    """The model's unit vector of each listed word, and the words of a text that it knows."""

    def __init__(self, words: Sequence[str], vectors: np.ndarray) -> None:
        if len(words) != len(vectors):
            raise ValueError("one vector per word is needed")
        self.words = tuple(words)
        self.vectors = np.asarray(vectors, dtype=np.float16)
        self._row = {w: i for i, w in enumerate(self.words)}
        # The stopwords' rows: never looked for in a source.
        self._stop_rows = frozenset(self._row[w] for w in STOPWORDS if w in self._row)
        self.rows_of: Callable[[str], np.ndarray] = per_text(_ROWS_CACHE_CHARS)(self._read_rows)

    def vector(self, word: str) -> np.ndarray | None:
        row = self._row.get(word)
        return None if row is None else self.vectors[row].astype(np.float32)

    def _read_rows(self, text: str) -> np.ndarray:
        """Rows of the text's listed words (stopwords out), each once."""
        row = self._row
        found = {row[w] for w in set(_WORD.findall(text.lower())) if w in row} - self._stop_rows
        return np.fromiter(sorted(found), dtype=np.int64, count=len(found))

    def alike(
        self, forms: Iterable[str], texts: Iterable[str], similarity: float
    ) -> dict[str, float]:
        """The words of ``texts`` whose vector is at least ``similarity`` from the first of
        ``forms`` (a word in the forms a guest may have typed it) that is listed, with their
        similarity; empty when none of the forms is listed."""
        return self.near(texts).alike(forms, similarity)

    def near(self, texts: Iterable[str]) -> Near:
        """The listed words of ``texts``, for several :meth:`Near.alike` lookups."""
        return Near(self, list(texts))


class Near:
    """The listed words of some texts and their vectors, read on the first lookup that needs
    them and kept for the next (one question's missing words)."""

    __slots__ = ("_matrix", "_rows", "_table", "_texts")

    def __init__(self, table: WordVectors, texts: list[str]) -> None:
        self._table = table
        self._texts = texts
        self._rows: np.ndarray | None = None
        self._matrix: np.ndarray | None = None

    def alike(self, forms: Iterable[str], similarity: float) -> dict[str, float]:
        """As :meth:`WordVectors.alike`, over these texts."""
        table = self._table
        vector = next((v for v in map(table.vector, forms) if v is not None), None)
        if vector is None:
            return {}
        rows, matrix = self._rows, self._matrix
        if rows is None or matrix is None:
            rows = np.unique(
                np.concatenate([table.rows_of(t) for t in self._texts] or [np.empty(0, int)])
            )
            matrix = table.vectors[rows].astype(np.float32)
            self._rows, self._matrix = rows, matrix
        if not len(rows):
            return {}
        sims = matrix @ vector
        keep = np.flatnonzero(sims >= similarity)
        return {table.words[rows[i]]: float(sims[i]) for i in keep}


def forms_of(term: str, typed: Sequence[str]) -> list[str]:
    """A subject term (stemmed, "cloth") and the guest's words it comes from ("clothes")."""
    return [term, *(w for w in typed if term in content_terms(w))]


def words_path(folder: Path, count: int = _WORDS) -> Path:
    """Where :func:`keep_words` keeps the list of :func:`common_words` (named after the
    ``pyspellchecker`` version it was read from)."""
    return keyed_path(folder, "common-words", ".npy", "pyspellchecker", count, _WORD.pattern)


def keep_words(folder: Path) -> Path:
    """Keeps the list of :func:`common_words` in ``folder``, which :func:`read` then takes
    instead of reading ``pyspellchecker``'s list (about 0.3 s)."""
    path = words_path(folder)
    _write(path, np.array(common_words(), dtype=str), "common-words")
    return path


def _kept_words(folder: Path) -> tuple[str, ...] | None:
    try:
        kept = np.load(words_path(folder), allow_pickle=False)
    except (OSError, ValueError):
        return None
    return tuple(kept.tolist()) if kept.ndim == 1 and kept.dtype.kind == "U" else None


def cache_path(folder: Path, model: str, words: Sequence[str]) -> Path:
    digest = hashlib.sha256(model.encode())
    for word in words:
        digest.update(b"\0" + word.encode())
    return folder / f"word-vectors-{digest.hexdigest()[:16]}.npy"


def read(folder: Path, model: str, words: Sequence[str] | None = None) -> WordVectors | None:
    """The kept vectors of ``model`` (None when not computed for it yet), mapped from their
    file: a row is read into memory when looked up."""
    if words is None:
        words = _kept_words(folder) or common_words()
    try:
        vectors = np.load(cache_path(folder, model, words), mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None
    if vectors.ndim != 2 or len(vectors) != len(words):
        return None
    return WordVectors(words, vectors)


def compute(
    encode: Callable[[Sequence[str]], np.ndarray],
    folder: Path,
    model: str,
    words: Sequence[str] | None = None,
) -> WordVectors:
    """The vectors of ``model`` (``encode``), read when kept, else computed and kept."""
    words = common_words() if words is None else words
    kept = read(folder, model, words)
    if kept is not None:
        return kept
    parts = [encode(list(words[i : i + _BATCH])) for i in range(0, len(words), _BATCH)]
    vectors = np.vstack(parts).astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    table = WordVectors(words, vectors)
    _write(cache_path(folder, model, words), table.vectors, "word-vectors")
    return table


def _write(path: Path, values: np.ndarray, kind: str) -> None:
    try:
        write_atomically(path, lambda out: np.save(out, values, allow_pickle=False))
    except OSError as exc:
        log.info("the %s could not be kept in %s: %s", kind.replace("-", " "), path, exc)
