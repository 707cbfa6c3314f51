"""Citation checks on generated answers.

A model may cite a source that was never given (``[7]`` of five), glue markers together
(``[1][3]``, ``[1, 3]``) or cite nothing. Markers that point to no source are removed, as the
text streams and again on the final text; the answer's citations are the valid ones it uses.
An answer that cites nothing is attributed to the source whose words it shares most, or found
ungrounded when it shares none.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from app.answering.types import Source
from app.text import content_terms

_MARKER = re.compile(r"\s?\[(\s*\d+\s*(?:[,;]\s*\d+\s*)*)\]")
_OPEN_MARKER = re.compile(r"\[[\d,;\s]*$")
_NUMBER = re.compile(r"\d+")
_SPACES = re.compile(r"[ \t]{2,}")
_MAX_PENDING = 16  # a "[" followed by more than this is not a citation: let it through


def clean_citations(text: str, valid: Collection[int]) -> tuple[str, tuple[int, ...]]:
    """Drop markers (or the numbers inside them) that point to no source.

    Returns the cleaned text and the valid numbers cited, in order of first use.
    """
    cited: list[int] = []

    def fix(match: re.Match[str]) -> str:
        marker, kept = _kept(match, valid)
        for n in kept:
            if n not in cited:
                cited.append(n)
        return marker

    cleaned = _MARKER.sub(fix, text)
    return _SPACES.sub(" ", cleaned).strip(), tuple(cited)


def _kept(match: re.Match[str], valid: Collection[int]) -> tuple[str, list[int]]:
    """A marker with only its valid numbers (nothing when none is valid), and those numbers."""
    kept = [n for n in map(int, _NUMBER.findall(match.group(1))) if n in valid]
    if not kept:
        return "", kept
    lead = " " if match.group(0).startswith(" ") else ""
    return lead + "".join(f"[{n}]" for n in kept), kept


class StreamingCitationFilter:
    """Cleans citation markers in a stream of text pieces.

    Text after an unclosed ``[`` is held back until the marker closes (or clearly is not one),
    so the guest never sees a marker that is removed later.
    """

    def __init__(self, valid: Collection[int]) -> None:
        self._valid = valid
        self._pending = ""

    def feed(self, piece: str) -> str:
        """Text that can be shown now."""
        text = self._pending + piece
        self._pending = ""
        open_at = _OPEN_MARKER.search(text)
        if open_at is not None and len(text) - open_at.start() <= _MAX_PENDING:
            # Keep the space before the marker too: it goes if the marker goes.
            start = open_at.start()
            if start > 0 and text[start - 1] == " ":
                start -= 1
            self._pending = text[start:]
            text = text[:start]
        elif text.endswith(" "):
            # A marker may follow: the space goes with it if it is removed.
            self._pending = " "
            text = text[:-1]
        return _MARKER.sub(self._fix, text)

    def flush(self) -> str:
        """Whatever was held back at the end of the stream."""
        text, self._pending = self._pending, ""
        return _MARKER.sub(self._fix, text)

    def _fix(self, match: re.Match[str]) -> str:
        return _kept(match, self._valid)[0]


def attribute(answer: str, sources: Sequence[Source]) -> int | None:
    """The source that shares the most content words with ``answer`` (None if none shares any).

    Numbers and times count double: they are what guests ask for and what a model may invent.
    """
    words = set(content_terms(answer))
    if not words:
        return None
    best: tuple[float, int] | None = None
    for source in sources:
        shared = words & set(content_terms(source.hit.text))
        if not shared:
            continue
        weight = sum(2.0 if any(ch.isdigit() for ch in w) else 1.0 for w in shared)
        if best is None or weight > best[0]:
            best = (weight, source.n)
    return None if best is None else best[1]


_NOT_FOUND = re.compile(
    r"\b(do not|don't|does not|doesn't|cannot|can't|could not|couldn't|unable to)\s+"
    r"(have|find|see|know|contain|answer|provide|help)|\bno information\b|\bnot (mentioned|"
    r"available in|specified|listed)\b|\bnot sure\b",
    re.I,
)


def says_not_found(answer: str) -> bool:
    """Does the answer say the sources lack the information (so staff should take over)?"""
    return bool(_NOT_FOUND.search(answer))


_FIGURE = re.compile(r"\d+(?:[:.,]\d+)*")


def figures_supported(answer: str, sources: Sequence[Source]) -> bool:
    """Is every figure (time, price, number) of ``answer`` found in the sources?

    Small models state times and prices that no source gives; such an answer is not shown.
    """
    known = set(_FIGURE.findall(" ".join(s.hit.text for s in sources)))
    return all(f in known for f in _FIGURE.findall(_MARKER.sub("", answer)))


def words_supported(answer: str, sources: Sequence[Source], max_unsupported: float = 0.34) -> bool:
    """Are most content words of ``answer`` found in the sources?

    A model that affirms what the sources never mention ("Yes, there is a casino") fails this
    check. It is applied to base models' answers and to answers that cite nothing; an instruct
    model's cited answer may be in another language than the sources and is not held to it.
    """
    words = set(content_terms(_MARKER.sub("", answer)))
    if not words:
        return False
    known = set(content_terms(" ".join(s.hit.text for s in sources)))
    unsupported = [w for w in words if w not in known and not w.isdigit()]
    return len(unsupported) <= max_unsupported * len(words)
