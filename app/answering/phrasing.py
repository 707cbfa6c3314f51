"""A model that only phrases: the composed answer's sentences in, a short reply out, checked.

The composing writer has already decided whether the sources answer the question and which of
the hotel's sentences do (:meth:`~app.answering.extractive.ExtractiveWriter.plan`). A small
model is then given only those sentences, so its prompt is short, and asked to say them as a
reply to the guest. What it writes stands only if it keeps to them:

- every figure (time, price, number) it writes is in the sentences (nothing invented); it
  keeps at least half of the sentences' figures, and every time or price of the sentences
  when the question asks when or how much (nothing that matters dropped);
- in the sentences' language, most of its content words are the sentences' or the question's,
  none of the question's subject words that the sentences do not say, and it keeps a fair
  share of the sentences' own words (a reply in another language is held to the figures only);
- it does not say that it does not know (the sentences answer: the model declining is wrong);
- no two of its sentences state the same fact.

A closing question to the guest ("Anything else?") is dropped. The citations are the sources
of the sentences it used, added at the end. Otherwise the composed answer is served.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app import languages
from app.answering.citations import clean_citations
from app.answering.composer import Sentence, is_near_duplicate
from app.answering.matching import FRAME_WORDS
from app.text import content_terms

_FIGURE = re.compile(r"\d+(?:[:.,]\d+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_EMPHASIS = re.compile(r"\*\*|__|`")
_BULLET = re.compile(r"(?m)^\s*(?:[-*•]|\d+[.)])\s+")
_SPACES = re.compile(r"\s+")
# The model saying it does not know. Narrower than a plain "does not have": the facts
# themselves may say no ("No, the lodge has no lift").
_DECLINES = re.compile(
    r"\b(?:no|any|that|this|the|more|enough)\s+(?:information|details?)\b"
    r"|\bnot\s+(?:mentioned|specified|listed|sure)\b"
    r"|\b(?:don't|do not|cannot|can't|could not|couldn't|am unable to)\s+(?:know|find|say|tell)\b",
    re.I,
)
# Questions that ask for a time or a price, and how those are written.
_TIME = re.compile(r"\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}\s*(?:am|pm)\b", re.I)
_PRICE = re.compile(
    r"(?:€|£|\$|\b(?:eur|gbp|usd|chf))\s*\d+(?:[.,]\d+)?|\d+(?:[.,]\d+)?\s*(?:€|£|\$)", re.I
)
_ASKED = (
    (re.compile(r"\b(?:when|what time|hours?|open|opens|close|closes|until)\b", re.I), _TIME),
    (re.compile(r"\b(?:how much|price|prices|cost|costs|fee|fees|charge)\b", re.I), _PRICE),
)
# Share of the sentences' content words (other than the question's) that a reply in their
# language keeps, when they have at least a few: "Yes, vegan mains." says none of the dishes.
MIN_KEPT = 0.3
_MIN_TOLD = 4
# A reply of three short sentences; more is a model running on.
MAX_TOKENS = 96
# Share of a reply's content words that may be neither the sentences' nor the question's
# ("Our", "guests", "happy" and the like).
MAX_UNSUPPORTED = 0.34


def facts_text(sentences: Sequence[Sentence]) -> str:
    """The sentences as the model reads them: one per line, in reading order."""
    return "\n".join(s.text if s.text[-1] in ".!?…)" else s.text + "." for s in sentences)


def tidy(raw: str) -> str:
    """The reply as one plain paragraph: no citation markers, emphasis or bullets, and no
    closing question to the guest."""
    text, _ = clean_citations(raw, ())
    text = _SPACES.sub(" ", _BULLET.sub("", _EMPHASIS.sub("", text))).strip()
    parts = _SENTENCE_END.split(text)
    while len(parts) > 1 and parts[-1].rstrip().endswith("?"):
        parts.pop()
    return " ".join(parts).strip()


def _figures(text: str) -> set[str]:
    return {f.rstrip(".,:") for f in _FIGURE.findall(text)}


def rejection(
    text: str, sentences: Sequence[Sentence], question: str, language: str | None
) -> str | None:
    """Why the phrased ``text`` cannot stand for ``sentences`` (None when it can)."""
    if len(text) < 2:
        return "empty"
    if _DECLINES.search(text):
        return "declined"
    said = facts_text(sentences)
    written, known = _figures(text), _figures(said)
    if not written <= known:
        return "invented_figure"
    if 2 * len(known & written) < len(known) or not _asked_kept(question, said, text):
        return "dropped_figure"
    if language is None or _same_language(said, language):
        words = set(content_terms(text))
        asked = set(content_terms(question))
        facts = set(content_terms(said))
        unsupported = [w for w in words if w not in facts | asked and not w.isdigit()]
        if not words or len(unsupported) > MAX_UNSUPPORTED * len(words):
            return "unsupported_words"
        # The guest's own subject, said back although the sentences never say it, is how a
        # model affirms what they do not ("Yes, we have a golf course" from a golf-cart line).
        if (words & asked) - facts - FRAME_WORDS:
            return "unsupported_words"
        told = {w for w in facts - asked if not w.isdigit()}
        if len(told) >= _MIN_TOLD and len(told & words) < MIN_KEPT * len(told):
            return "dropped_words"
    parts = [frozenset(content_terms(p)) for p in _SENTENCE_END.split(text)]
    if any(is_near_duplicate(a, b) for i, a in enumerate(parts) for b in parts[i + 1 :]):
        return "duplicate"
    return None


def _asked_kept(question: str, said: str, text: str) -> bool:
    """Whether the reply keeps every figure of the kind the question asks for (the times
    for "when", the prices for "how much")."""
    for asks, kind in _ASKED:
        if asks.search(question):
            wanted = {" ".join(v.split()).lower() for v in kind.findall(said)}
            kept = {" ".join(v.split()).lower() for v in kind.findall(text)}
            if not wanted <= kept:
                return False
    return True


def _same_language(text: str, language: str) -> bool:
    """Whether ``text`` is in ``language`` (or its language cannot be told)."""
    written, probability = languages.guess(text)
    return probability < languages.SURE or written == language


def cited(text: str, sentences: Sequence[Sentence]) -> tuple[int, ...]:
    """The sources of the sentences the reply says: a figure of theirs (for a sentence with
    figures), else two of their content words (one when all come from one source); at least
    the first sentence's source."""
    figures = _figures(text)
    words = set(content_terms(text))
    single = len({s.source for s in sentences}) == 1
    out: list[int] = []
    for s in sentences:
        if s.source in out:
            continue
        own_figures = _figures(s.text)
        if own_figures:
            said = bool(own_figures & figures)
        else:
            said = len(set(content_terms(s.text)) & words) >= (1 if single else 2)
        if said:
            out.append(s.source)
    return tuple(out) or (sentences[0].source,)


def with_citations(text: str, sources: Sequence[int]) -> str:
    """``text`` followed by its citation markers."""
    return text + " " + "".join(f"[{n}]" for n in sources)
