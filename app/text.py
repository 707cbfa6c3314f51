"""Text helpers shared by every stage: content words (stopwords out, light stemming, compounds
joined), the split of a text into answerable sentences and list lines, and a memo of what is
read from a chunk's text. A leaf: imports nothing of the project."""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import Callable
from typing import TypeVar

from cachetools import LRUCache

_WORD = re.compile(r"[0-9a-zà-ÿ€£$]+", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(€£$])")
_MARKUP = re.compile(r"^\s*(?:[-*+]|\d+[.)]|#+|>)\s*")

STOPWORDS = frozenset(
    """a about above after again all am an and any are as at be been before being below between
    both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just me more most
    my no nor not now of off on once only or other our ours out over own same she should so
    some such than that the their theirs them then there these they this those through to
    too under until up very was we were what when where which while who whom why will with
    would you your yours please hi hello hey thanks thank tell know get got there's what's
    is'nt im i'm u ur pls plz hotel""".split()
)

# Compounds that guests and hotels write as one word, two words, or hyphenated.
COMPOUNDS = frozenset(
    """checkin checkout wifi email roomservice carpark minibar sunbed wakeup halfboard
    fullboard allinclusive daypass""".split()
)


def _stem(word: str) -> str:
    word = word.lower()
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


# The first parts a compound can be split into ("check" of "checkout"): only a word that is
# one of them can start a compound with the next word.
_COMPOUND_HEADS = frozenset(c[:i] for c in COMPOUNDS for i in range(1, len(c)))
# Words longer than this are read each time rather than remembered (a run of letters can be
# as long as a text), so the memo below holds at most about 8 MB.
_MEMO_WORD_CHARS = 40


@functools.lru_cache(maxsize=32768)
def _memo_word(word: str) -> tuple[str, str | None]:
    return _read_word(word)


def _read_word(word: str) -> tuple[str, str | None]:
    """A word lower-cased, and its stem (None for a stopword)."""
    lower = word.lower()
    return lower, None if lower in STOPWORDS else _stem(lower)


def content_terms(text: str) -> list[str]:
    """Lower-cased, lightly stemmed words of ``text`` without stopwords.

    Adjacent words are also joined ("check out" and "check-out" both give "checkout"), so
    compounds match however a guest spells them.
    """
    read = [
        _memo_word(w) if len(w) <= _MEMO_WORD_CHARS else _read_word(w) for w in _WORD.findall(text)
    ]
    terms = [stem for _, stem in read if stem is not None]
    for (a, _), (b, _) in itertools.pairwise(read):
        if a in _COMPOUND_HEADS and a + b in COMPOUNDS:
            terms.append(a + b)
    return terms


def split_units(text: str) -> list[str]:
    """Split a chunk into answerable units: list lines and sentences, markup removed."""
    units: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = _MARKUP.sub("", line).replace("**", "").strip()
        units.extend(part.strip() for part in _SENTENCE_END.split(line) if part.strip())
    return units


T = TypeVar("T")


def per_text(max_chars: int) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
    """Memoises a function of a text, bounded by the characters of the texts it keeps (what
    is read from a text grows with its length): the least recently used go first. A text
    longer than the bound is read each time."""

    def wrap(read: Callable[[str], T]) -> Callable[[str], T]:
        kept: LRUCache[str, tuple[int, T]] = LRUCache(maxsize=max_chars, getsizeof=lambda e: e[0])
        lock = threading.Lock()

        @functools.wraps(read)
        def cached(text: str) -> T:
            with lock:
                entry = kept.get(text)
            if entry is None:
                entry = (max(1, len(text)), read(text))
                if entry[0] <= max_chars:
                    with lock:
                        kept[text] = entry
            return entry[1]

        return cached

    return wrap
