"""Misspelt English words of a question put right before it is embedded and searched.

A word the English model does not know is split into meaningless pieces: "resevation
needed?" lands far from "Do I need to book a table?" (cosine 0.08), "reservation needed?"
near it (0.47). A question word of at least six letters that is no word of English, German,
French, Spanish or Italian (the word lists of ``pyspellchecker``) is replaced by the English
word spelled almost the same: same first letter, one edit away (a letter left out, added or
changed, or two swapped; two in a word of ten letters or more), among the words common
enough (``_COMMON``), and either the only one that close or far more common than the others
(``_CLEARLY``). A word of another language, a name the lists hold or a rare real word is left
as typed; the guest's own word is also kept beside the correction for matching the hotel's
text (:func:`corrections`), so a name the hotel writes is still found.

The lists are read once per process. Reading ``pyspellchecker``'s lists takes about 1.7 s,
so ``python -m app prepare`` keeps what is read of them (3 MB of word hashes and 37,000
English words with their counts) in the model folder (:func:`write`), which the server reads
at start-up in milliseconds (:func:`read`). Without it the server reads ``pyspellchecker``'s
lists on a thread once it is ready (:func:`load_behind`), and questions asked meanwhile are
not corrected (:func:`ready` says which); elsewhere the first question that needs them reads
them.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from cachetools import LRUCache
from rapidfuzz import process
from rapidfuzz.distance import OSA

from app.files import keyed_path, write_atomically
from app.text import content_terms

LANGUAGES = ("en", "de", "fr", "es", "it")
_MIN_CHARS = 6
_LONG_CHARS = 10  # a word this long may have two edits
# Occurrences in the English list's counts (rare words start at 50) a correction must have.
_COMMON = 200
# Of two words equally close, the more common is taken when it is this many times as common.
_CLEARLY = 10
_ASCII_WORD = re.compile(r"[a-z]+")
_WORD = re.compile(r"[a-zà-ÿ]+")


@dataclass(frozen=True, slots=True, eq=False)
class _Lists:
    # Hashes (crc32) of every word of at least four letters of every language,
    # sorted: a word whose hash is there is known (a collision only leaves a typo as typed).
    known: np.ndarray
    # The common English words by first letter and length, with their counts.
    common: dict[tuple[str, int], tuple[tuple[str, ...], tuple[int, ...]]]

    def knows(self, word: str) -> bool:
        key = zlib.crc32(word.encode())
        at = int(np.searchsorted(self.known, key))
        return at < len(self.known) and int(self.known[at]) == key


log = logging.getLogger(__name__)
_lock = threading.Lock()
_lists: _Lists | None = None
_behind: threading.Thread | None = None  # reading pyspellchecker's lists after start-up


def load() -> None:
    """Reads the word lists (once per process)."""
    global _lists
    with _lock:
        if _lists is not None:
            return
        _lists = _read_lists()


def ready() -> bool:
    """Whether the lists are read (questions are corrected)."""
    return _lists is not None


def _read_lists() -> _Lists:
    """``pyspellchecker``'s lists, read and reduced (about 1.7 s)."""
    hashes = []
    words: list[str] = []
    counts_of: list[int] = []
    folder = resources.files("spellchecker") / "resources"
    for language in LANGUAGES:
        with (
            folder.joinpath(f"{language}.json.gz").open("rb") as raw,
            gzip.open(raw) as packed,
        ):
            counts: dict[str, int] = json.load(packed)
        long = [w for w in counts if len(w) >= _MIN_CHARS - 2]
        hashes.append(np.fromiter((zlib.crc32(w.encode()) for w in long), np.uint32, len(long)))
        if language == "en":
            for word, count in counts.items():
                if count >= _COMMON and len(word) >= _MIN_CHARS - 2 and word.isalpha():
                    words.append(word)
                    counts_of.append(count)
    return _lists_of(np.unique(np.concatenate(hashes)), words, counts_of)


def _lists_of(known: np.ndarray, words: Iterable[str], counts_of: Iterable[int]) -> _Lists:
    """The lists from the hashes and the common words with their counts (in the order of
    ``pyspellchecker``'s English list)."""
    common: dict[tuple[str, int], dict[str, int]] = {}
    for word, count in zip(words, counts_of, strict=True):
        common.setdefault((word[0], len(word)), {})[word] = count
    buckets = {key: (tuple(found), tuple(found.values())) for key, found in common.items()}
    return _Lists(known, buckets)


def kept_path(folder: Path) -> Path:
    """Where :func:`write` keeps the lists: named after the ``pyspellchecker`` version and
    the choices that reduce its lists, so that a change of either is not read."""
    choices = (",".join(LANGUAGES), _MIN_CHARS, _COMMON)
    return keyed_path(folder, "spelling", ".npz", "pyspellchecker", *choices)


def write(folder: Path) -> Path:
    """Keeps the reduced lists in ``folder`` (``python -m app prepare``), for :func:`read`."""
    load()
    lists = _lists
    assert lists is not None
    words = [w for found, _ in lists.common.values() for w in found]
    counts = [c for _, found in lists.common.values() for c in found]
    path = kept_path(folder)
    write_atomically(
        path,
        lambda out: np.savez(
            out,
            known=lists.known,
            words=np.array(words, dtype=str),
            counts=np.array(counts, dtype=np.int64),
        ),
    )
    return path


def read(folder: Path) -> bool:
    """Reads the lists kept by :func:`write` (milliseconds); False when there are none."""
    global _lists
    try:
        with np.load(kept_path(folder), allow_pickle=False) as kept:
            known, words, counts = kept["known"], kept["words"], kept["counts"]
    except (OSError, ValueError, KeyError) as exc:
        log.info("no spelling lists kept in %s (%s): run python -m app prepare", folder, exc)
        return False
    lists = _lists_of(known.astype(np.uint32), words.tolist(), counts.tolist())
    with _lock:
        if _lists is None:
            _lists = lists
    return True


def load_behind(folder: Path) -> None:
    """Makes the lists ready without holding up start-up: the kept ones when prepared, else
    ``pyspellchecker``'s read on a thread; questions are not corrected until then."""
    global _behind
    if ready() or read(folder):
        return
    with _lock:
        if _behind is None or not _behind.is_alive():
            _behind = threading.Thread(target=load, name="spelling-lists", daemon=True)
            _behind.start()


def _loaded() -> _Lists | None:
    """The lists; read now unless they are being read behind start-up (None meanwhile)."""
    if _lists is None:
        behind = _behind
        if behind is not None and behind.is_alive():
            return None
        load()
    return _lists


def correction(word: str) -> str | None:
    """The English word ``word`` (lower case) is a misspelling of, or None (also while the
    lists are being read behind start-up)."""
    if len(word) < _MIN_CHARS or not _ASCII_WORD.fullmatch(word):
        return None
    lists = _loaded()
    return None if lists is None else _remembered(word, lists)


# The words already looked at, and what each is a misspelling of (None: none), for the lists
# they were looked up in. Bounded in bytes: a word and its correction are short, so the
# entry's own bookkeeping is most of what each costs. Questions repeat few words: a thousand
# or two cover what a process sees (a few hundred in the evaluation, a hundred in the bench).
MEMO_BYTES = 512 * 1024
_ENTRY_BYTES = 200
_MEMO_WORD_CHARS = 40  # a longer run of letters is no word of the lists: looked at each time


def _memo(max_bytes: int) -> LRUCache[str, tuple[str | None, int]]:
    return LRUCache(maxsize=max_bytes, getsizeof=lambda kept: kept[1])


_memo_lock = threading.Lock()
_remembered_words = _memo(MEMO_BYTES)
_remembered_for: list[_Lists] = []  # the lists the words were looked up in


def _remembered(word: str, lists: _Lists) -> str | None:
    memo = _remembered_words
    with _memo_lock:
        if not _remembered_for or _remembered_for[0] is not lists:
            memo.clear()
            _remembered_for[:] = [lists]
        kept = memo.get(word)
    if kept is not None:
        return kept[0]
    right = _correction(word, lists)
    if len(word) <= _MEMO_WORD_CHARS:
        weight = _ENTRY_BYTES + 2 * len(word) + len(right or "")
        with _memo_lock:
            if _remembered_for[0] is lists:
                memo[word] = (right, weight)
    return right


def _correction(word: str, lists: _Lists) -> str | None:
    # A known word, or one with an ending the lists leave out ("noches", "lunches").
    plural = [word[: -len(end)] for end in ("s", "es") if word.endswith(end)]
    forms = {word, *plural, *content_terms(word)}
    if any(lists.knows(form) for form in forms if len(form) >= _MIN_CHARS - 2):
        return None
    edits = 2 if len(word) >= _LONG_CHARS else 1
    near: list[tuple[int, int, str]] = []  # (edits, -count, word)
    for n in range(len(word) - edits, len(word) + edits + 1):
        bucket = lists.common.get((word[0], n))
        if bucket is None:
            continue
        words, counts = bucket
        for _, distance, i in process.extract(
            word, words, scorer=OSA.distance, score_cutoff=edits, limit=None
        ):
            near.append((distance, -counts[i], words[i]))
    if not near:
        return None
    near.sort()
    closest, best = near[0][0], near[0][2]
    rivals = [-count for distance, count, _ in near[1:] if distance == closest]
    if rivals and -near[0][1] < _CLEARLY * rivals[0]:
        return None
    if _american(word) == _american(best):  # "harbour", "colour": the lists are American
        return None
    return best


_BRITISH = (("our", "or"), ("ll", "l"), ("oe", "e"), ("ae", "e"), ("ise", "ize"), ("tre", "ter"))


def _american(word: str) -> str:
    for british, american in _BRITISH:
        word = word.replace(british, american)
    return word


def corrections(text: str) -> dict[str, str]:
    """The misspelt words of ``text`` (lower case) and the word each stands for."""
    out: dict[str, str] = {}
    for word in _WORD.findall(text):
        right = correction(word)
        if right is not None:
            out[word] = right
    return out


def corrected(text: str) -> str:
    """``text`` (lower case) with its misspelt words replaced."""
    found = corrections(text)
    if not found:
        return text
    return _WORD.sub(lambda m: found.get(m.group(0), m.group(0)), text)
