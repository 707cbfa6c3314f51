"""What the answer writer reads from a chunk's text, and the form in which it is kept.

The composed answer reads each retrieved chunk's words (for the lookups of typos and
sound-alikes of :mod:`app.answering.matching`) and its sentences
(:mod:`app.answering.composer`). Ingestion reads both once and keeps them in the chunk's row
(``chunks.derived``), so that a question only reads them back; a chunk without them (written
before the column existed) is read from its text at each question, as before.

The kept form is text: a first line naming the reading that wrote it, a line of the chunk's
words, then one line per sentence. The name is a digest of the forms this code writes for a few
fixed texts: a kept form written by code that reads texts otherwise is never read, the chunk's
text is read instead until the chunk is written again (``scripts/ingest derive`` writes every
such chunk's form again).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Sequence

from app.text import content_terms, per_text, split_units

# Words as a guest types them: letters, or a number (a time, a price).
WORD = re.compile(r"[a-zà-ÿ]+|\d+(?:[:.,]\d+)?", re.IGNORECASE)
# A sentence that states an exception to the sentence before it.
_EXCEPTION_START = re.compile(r"^(?:except|exception|however|but|unless|apart from|only)\b", re.I)
_EXCEPTION_ANYWHERE = re.compile(r"\b(?:only exception|are the exception|is the exception)\b", re.I)
# A figure: a sentence that gives one is decisive, and two sentences that share one may state
# the same fact.
DISTINCT = re.compile(r"\d")
# A sentence that says yes or no.
_ANSWERS = re.compile(r"^(?:yes|no)\b|\b(?:not|no|never|cannot|only)\b|n't\b", re.I)
# A sentence as kept: its words joined by spaces (a tuple of strings and numbers is not
# tracked by the garbage collector; one holding a frozenset would be).
Unit = tuple[int, str, str, bool, bool, int, bool]
# A sentence that leans on the one before it for its subject.
_REFERS = re.compile(
    r"^(?:it|its|it's|they|their|them|this|these|that|those|he|she|instead|otherwise|also|then)\b",
    re.I,
)


# A chunk's sentences are kept for the next question over it: about 6 bytes per character of
# the texts kept, so about 1.5 MB, the same texts as the words of ``matching``.
@per_text(250_000)
def _units(text: str) -> tuple[Unit, ...]:
    out: list[Unit] = []
    caption: frozenset[str] = frozenset()  # words of a "… includes:" line above a list
    numbered = (
        (line, unit)
        for line, text_line in enumerate(text.splitlines())
        for unit in split_units(text_line)
    )
    for i, (line, unit) in enumerate(numbered):
        stripped = unit.rstrip()
        if stripped.endswith(":"):
            caption = frozenset(roots(content_terms(stripped)))
            continue
        if len(stripped) < 4 or stripped.endswith("?"):
            continue
        words = frozenset(roots(content_terms(stripped))) | caption
        decisive = bool(DISTINCT.search(stripped) or _ANSWERS.search(stripped))
        refers = bool(_REFERS.match(stripped))
        kept = " ".join(sorted(words))
        out.append((i, stripped, kept, decisive, _states_exception(stripped), line, refers))
    return tuple(out)


def units(text: str, derived: str | None = None) -> Sequence[Unit]:
    """A text's answerable sentences (no headings, no copied questions), each with its words:
    from the kept form ``derived`` when this code wrote it, else read from the text."""
    kept = split(derived)
    return _units(text) if kept is None else _kept_units(kept[1])


def _units_lines(text: str) -> str:
    """A text's sentences as kept: one line each, its position, line, flags (decisive,
    exception, refers) and words before its text, separated by tabs."""
    return "\n".join(
        f"{i}\t{line}\t{int(decisive)}{int(exception)}{int(refers)}\t{words}\t{text}"
        for i, text, words, decisive, exception, line, refers in _units(text)
    )


def _kept_units(lines: str) -> list[Unit]:
    out: list[Unit] = []
    for row in lines.split("\n") if lines else ():
        i, line, flags, words, text = row.split("\t", 4)
        out.append(
            (int(i), text, words, flags[0] == "1", flags[1] == "1", int(line), flags[2] == "1")
        )
    return out


def roots(terms: Iterable[str]) -> list[str]:
    """Terms with a final silent "e" dropped, so that the light stems of :mod:`app.text` meet
    ("upgrade" and "upgrading": "upgrad"; "include" and "included": "includ"), and common
    irregular past forms put as their verb ("left": "leave")."""
    out = []
    for term in terms:
        term = _IRREGULAR_PAST.get(term, term)
        out.append(term[:-1] if len(term) > 4 and term.endswith("e") else term)
    return out


# Irregular past forms of verbs guests and hotels use ("may only be left alone in the room").
_IRREGULAR_PAST = {
    "left": "leave", "took": "take", "taken": "take", "brought": "bring", "kept": "keep",
    "paid": "pay", "bought": "buy", "sent": "send", "lost": "lose", "found": "find",
    "gave": "give", "given": "give", "made": "make", "ate": "eat", "eaten": "eat",
    "slept": "sleep", "spent": "spend", "lent": "lend", "held": "hold", "sold": "sell",
    "worn": "wear", "wore": "wear", "driven": "drive", "drove": "drive", "ridden": "ride",
}  # fmt: skip


def _states_exception(text: str) -> bool:
    return bool(_EXCEPTION_START.match(text) or _EXCEPTION_ANYWHERE.search(text))


# Characters of the chunk texts whose words are kept: about 12 bytes kept per character, so
# about 3 MB; a hotel's few hundred chunks, a hundred full chunks of 2,000 characters. Where
# questions keep meeting new chunks (many hotels, one process), more would mostly hold texts
# not asked about again.
_TEXT_CACHE_CHARS = 250_000


@per_text(_TEXT_CACHE_CHARS)
def _text_words(text: str) -> frozenset[str]:
    """One text's words: stems, unstemmed forms, adjacent pairs joined."""
    terms = content_terms(text)
    words = set(terms)
    # Unstemmed too: a typo is closer to the written word ("parkign" / "parking").
    words.update([w.lower() for w in WORD.findall(text) if len(w) > 3])
    # "Jet ski" in the text is also "jetski" as a guest may type it.
    words.update([a + b for a, b in itertools.pairwise(terms) if len(a) + len(b) <= 20])
    return frozenset(words)


def text_words(text: str, derived: str | None = None) -> frozenset[str]:
    """A text's words (stems, unstemmed forms, adjacent pairs joined): from the kept form
    ``derived`` when this code wrote it, else read from the text."""
    kept = split(derived)
    if kept is None:
        return _text_words(text)
    return frozenset(kept[0].split(" ")) if kept[0] else frozenset()


def _words_line(text: str) -> str:
    """A text's words as kept: one line, separated by spaces."""
    return " ".join(sorted(_text_words(text)))


def derived_form(title: str, heading: str, text: str) -> str:
    """What the writer reads from a chunk, in the form kept with it: the words of its title,
    heading and text, and the sentences of its text."""
    return f"{KEY}\n{_words_line(joined(title, heading, text))}\n{_units_lines(text)}"


def joined(title: str, heading: str, text: str) -> str:
    """A chunk's title, heading and text, as the writer looks its words up."""
    return f"{title}\n{heading}\n{text}"


def split(derived: str | None) -> tuple[str, str] | None:
    """The words line and the sentence lines of a kept form written by this code; None when
    there is none, or when other code wrote it."""
    if not derived or not KEY or not derived.startswith(KEY):
        return None
    parts = derived.split("\n", 2)
    if len(parts) != 3 or parts[0] != KEY:
        return None
    return parts[1], parts[2]


# Texts read to name the kept form: every kind of line the reading treats on its own (a heading,
# a caption over a list, a copied question, an exception, a sentence that leans on the one
# before, figures, accents, irregular past forms, joined word pairs).
_PROBES = (
    (
        "Check-in and check-out",
        "Times",
        "Check-in starts at 15:00.\nCheck-out is until 11:00. "
        "Late check-out costs EUR 30, except for suite guests.",
    ),
    (
        "Wellness",
        "Spa > Sauna",
        "## Our spa\nThe wellness area includes:\n- a **sauna**\n"
        "- a steam bath\nIs the pool heated?\nYes, it is heated to 28 °C. It opens at 06:00.",
    ),
    (
        "Payments",
        "",
        "We accept Visa\tand American Express. Cash only at the bar. However, tips "
        "can be left on the card. Apart from that, no fees are taken.",
    ),
    (
        "Rooftop",
        "Bar",
        "The Jet Ski rental is at the pier. Café crème costs €4,50 à la carte.\n"
        "Ok.\nDogs are the exception: they may only be brought on a leash. They weren't lost.",
    ),
    (
        "Parking",
        "Garage",
        "Parking costs 25.50 per night. Instead, guests may park on the "
        "street; also, the garage closes at midnight. Those spaces are given first come.",
    ),
)


def unread_sql(column: str, key: str) -> str:
    """SQL true for a row whose kept form in ``column`` is not named ``key`` (an SQL text
    expression): none kept, or one written by other code, as :func:`split` reads it."""
    return f"({column} IS NULL OR NOT starts_with({column}, {key}))"


def _key() -> str:
    """The name of this code's kept form: a digest of the forms it writes for ``_PROBES``, so
    that code which reads texts otherwise (other sentences, words or flags, another layout)
    never reads a form written before, and a change that reads every text alike keeps it."""
    digest = hashlib.sha256()
    for title, heading, text in _PROBES:
        digest.update(_words_line(joined(title, heading, text)).encode())
        digest.update(b"\0")
        digest.update(_units_lines(text).encode())
        digest.update(b"\0")
    return "w2:" + digest.hexdigest()[:16]


KEY = _key()
