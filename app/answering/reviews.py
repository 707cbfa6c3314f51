"""Guest reviews summarised and attributed: how many mention the subject, how many of them
are positive or critical, and one guest's own words in quotation marks.

A review is an opinion, not the property's fact: its sentences are never stated as the
answer. The polarity of a review is read from the sentences that mention the subject, with
a small lexicon of opinion words (a "not" before a word turns it around).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.answering import phrases
from app.answering.types import Source
from app.text import split_units

_WORD = re.compile(r"[a-z']+")
_POSITIVE = frozenset(
    """good great excellent lovely clean spotless friendly delicious comfortable quiet generous
    fair quick fast superb perfect best tasty wonderful kind helpful warm huge big fantastic
    amazing nice cosy cozy attentive welcoming reasonable value plentiful beautiful charming
    recommend enjoyed loved love pleasant fresh tidy spacious crispy excellent""".split()
)
_NEGATIVE = frozenset(
    """bad dirty hair hairs noisy loud slow small expensive overpriced rude cold weak damp thin
    waited wait disappointing poor smelled smelly broken worst terrible awful creak creaks
    tiny cramped stained unfriendly unhelpful bland greasy lukewarm noise woke""".split()
)
_NEGATORS = frozenset("not no never wasn't weren't isn't aren't didn't don't hardly".split())
_MAX_QUOTE = 120


@dataclass(frozen=True, slots=True)
class Opinion:
    """One review's view of the subject: +1, -1 or 0, and the sentence that says it."""

    source: int
    polarity: int
    sentence: str


def polarity(text: str) -> int:
    """+1, -1 or 0 for the opinion words of ``text``."""
    score = 0
    words = _WORD.findall(text.lower())
    for i, word in enumerate(words):
        sign = 1 if word in _POSITIVE else -1 if word in _NEGATIVE else 0
        if sign and any(w in _NEGATORS for w in words[max(0, i - 3) : i]):
            sign = -sign
        score += sign
    return (score > 0) - (score < 0)


_JUDGEMENT = re.compile(r"\b(?:is|are|was|were|isn't|aren't|how)\b", re.I)


def is_opinion_question(question: str) -> bool:
    """True when the question asks for a judgement ("is the breakfast good?", not "quiet
    hours")."""
    words = _WORD.findall(question.lower())
    return bool(_JUDGEMENT.search(question)) and any(
        w in _POSITIVE or w in _NEGATIVE for w in words
    )


def opinion_words(question: str) -> set[str]:
    """The question's opinion words ("noisy", "clean")."""
    return {w for w in _WORD.findall(question.lower()) if w in _POSITIVE or w in _NEGATIVE}


def opinions(sources: Sequence[Source], subject: set[str]) -> list[Opinion]:
    """The view of each review that mentions the subject (any of its words)."""
    out = []
    for source in sources:
        units = split_units(source.hit.text)
        mentioning = [u for u in units if subject & set(_WORD.findall(u.lower()))]
        if not mentioning:
            continue
        votes = [polarity(u) for u in mentioning]
        overall = sum(votes)
        sign = (overall > 0) - (overall < 0)
        quote = next((u for u, v in zip(mentioning, votes, strict=True) if v == sign), None)
        out.append(Opinion(source.n, sign, quote or mentioning[0]))
    return out


def _quote(sentence: str) -> str:
    text = sentence.strip().rstrip(".!")
    if len(text) > _MAX_QUOTE:
        text = text[:_MAX_QUOTE].rsplit(" ", 1)[0] + "…"
    return text


def _cite(numbers: Sequence[int]) -> str:
    return "".join(f" [{n}]" for n in sorted(set(numbers)))


def summarise(views: Sequence[Opinion]) -> tuple[str, tuple[int, ...]]:
    """Two sentences at most: the count and direction, and one guest's words (the dissent
    when there is one). Empty when no review mentions the subject."""
    if not views:
        return "", ()
    positive = [v for v in views if v.polarity > 0]
    negative = [v for v in views if v.polarity < 0]
    total = len(positive) + len(negative)
    if total == 0:
        head = phrases.REVIEWS_NEUTRAL.format(total=len(views))
        quote = phrases.REVIEW_QUOTE.format(quote=_quote(views[0].sentence))
        cited = tuple(sorted({v.source for v in views}))
        return f"{head}{_cite(cited)}; {quote}.", cited
    views = positive + negative
    if total == 1:
        head = phrases.REVIEWS_ONE
        quote = phrases.REVIEW_QUOTE.format(quote=_quote(views[0].sentence))
        text = f"{head}; {quote}{_cite([views[0].source])}."
        return text, (views[0].source,)
    if positive and negative and len(positive) == len(negative):
        head = phrases.REVIEWS_MIXED.format(positive=len(positive), negative=len(negative))
        majority, minority = positive, negative
    elif len(positive) >= len(negative):
        majority, minority = positive or list(views), negative
        template = phrases.REVIEWS_ALL_POSITIVE if not minority else phrases.REVIEWS_POSITIVE
        head = template.format(agree=len(majority), total=total)
    else:
        majority, minority = negative, positive
        template = phrases.REVIEWS_ALL_NEGATIVE if not minority else phrases.REVIEWS_NEGATIVE
        head = template.format(agree=len(majority), total=total)
    first = f"{head}{_cite([v.source for v in majority])}."
    if minority:
        other = minority[0]
        quote = phrases.REVIEW_DISSENT.format(quote=_quote(other.sentence))
    else:
        other = majority[0]
        quote = phrases.REVIEW_QUOTE.format(quote=_quote(other.sentence))
    second = f"{quote[0].upper()}{quote[1:]}{_cite([other.source])}."
    cited = tuple(sorted({v.source for v in views}))
    return f"{first} {second}", cited
