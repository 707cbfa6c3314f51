"""The language and cache-key form of a question, remembered for the questions asked again.

A cached answer is found by its key, and the key holds the answer's language (and, for a
question about opening hours "now" or "today", the local minute): without this memory every
repeated question pays the language detector and the time-phrase patterns (the largest part
of a cache hit's own work) to find an answer it already has. All are pure functions of the
question's text and the page's language tag, so a remembered value is never stale.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from cachetools import LRUCache

from app import languages
from app.facts.timely import wants_hours

# Longer questions are rare and seldom repeated word for word: not kept.
MAX_KEPT_CHARS = 500
# Entries are weighed in bytes (text stores up to 4 bytes a character, plus the tuple).
_ENTRY_OVERHEAD = 200


_SPACES = re.compile(r"\s+")
_TRAILING = re.compile(r"[\s?!.]+$")


def normalise_question(question: str) -> str:
    """Cache-key form of a question: NFKC, case-folded, single spaces, no trailing punctuation."""
    text = unicodedata.normalize("NFKC", question).casefold()
    return _TRAILING.sub("", _SPACES.sub(" ", text).strip())


class Phrasing(NamedTuple):
    language: str  # the answer's
    key: str  # the normalised question
    timely: bool  # asks about a moment ("now", "today"): its answer depends on the time


class Phrasings:
    """``read(question, page_language)`` → :class:`Phrasing`, remembered in a least-recently-used
    map bounded in bytes. Touched only on the event loop."""

    def __init__(self, max_bytes: int = 2_000_000) -> None:
        self._kept: LRUCache[tuple[str, str | None], Phrasing] = LRUCache(
            maxsize=max(1, max_bytes), getsizeof=_weight
        )

    def __len__(self) -> int:
        return len(self._kept)

    def read(self, question: str, page_language: str | None) -> Phrasing:
        found = self._kept.get((question, page_language))
        if found is not None:
            return found
        found = Phrasing(
            languages.detect(question, page_language),
            normalise_question(question),
            wants_hours(question),
        )
        if len(question) <= MAX_KEPT_CHARS:
            self._kept[(question, page_language)] = found
        return found

    def language_and_key(self, question: str, page_language: str | None) -> tuple[str, str]:
        found = self.read(question, page_language)
        return found.language, found.key


def _weight(value: Phrasing) -> int:
    # The normalised form is about as long as the question it stands for (the key).
    return _ENTRY_OVERHEAD + 8 * len(value.key)
