"""The composed default answer: the sentences that answer, each fact once, rules with their
exceptions, at most a few sentences, every one cited.

No model is involved; composing takes well under a millisecond. Candidate sentences (and list
lines) come from the hotel's own sources, never from their question headings: a FAQ chunk's
heading is its question, its text the answer. A candidate is scored by the question's subject
words it contains (allowing typos and misheard words, weighted by rarity among the
candidates; a word only in its section's heading counts half), whether it holds the kind of
value asked for (a time, a price, a distance, an age), the similarity of its source and, for a
FAQ answer whose question matches the guest's, its place in that answer. Sentences that only
restate the question, copied questions and near-duplicates of a chosen sentence (the same fact
from another source) are left out. A chosen sentence that states an exception ("… are the
only exception") brings its rule along, and a chosen rule brings the exception that follows
it; a sentence that refers to the one before it ("It is …") brings that one, and a short
refusal ("There is no parking here.") the sentence that completes it on its line. A further
source is cited only for a sentence that says a subject word itself and when the search found
that source about as similar as the best one (``FURTHER_SOURCE_SHARE`` of its similarity): a
loosely related page's sentence is a neighbouring fact, not part of the answer.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from app import reading
from app.answering.matching import FRAME_WORDS, QuestionTerms, Vocabulary
from app.answering.types import Source
from app.answering.values import expected_values
from app.reading import DISTINCT, roots
from app.text import content_terms, per_text


class Sentence(NamedTuple):
    """A candidate sentence of one source (a tuple: each question makes dozens)."""

    source: int
    position: int
    text: str
    words: frozenset[str]
    # Says yes or no, or gives a figure: never a mere restatement of the question.
    decisive: bool
    # States an exception to the sentence before it.
    exception: bool
    # The line (paragraph or list item) the sentence is on, and whether it starts by
    # referring to the sentence before it ("It is …", "They …", "This …").
    line: int = 0
    refers: bool = False
    # The words of the section's heading: what the sentence is about when it does not say
    # ("Opening hours: 10:00 to 18:00." under "Pool bar").
    context: frozenset[str] = frozenset()


class Scored(NamedTuple):
    sentence: Sentence
    score: float
    overlap: float


# A short refusal, which the next sentence on its line usually completes ("There is no parking
# at the bistro. The Market Street car park is 2 minutes away.").
_SHORT_NO = re.compile(r"\b(?:no|not|never|cannot|n't)\b", re.I)
# A further source is cited only when its similarity is at least this share of the best
# source's.
FURTHER_SOURCE_SHARE = 0.7
# A subject word found only in the section's heading counts this much of one in the sentence.
_CONTEXT_WEIGHT = 0.5
# What holding the kind of value the question asks for (a time, a price…) adds to a sentence:
# about as much as a rare subject word.
_EXPECTED_VALUE = 2.0
# What a sentence that starts with "Yes" or "No" adds when the guest asks a yes-or-no question
# ("… is that ok?"): it answers directly.
_YES_NO_ANSWER = 0.5
_YES_NO = re.compile(r"^(?:yes|no)\b", re.I)
_YES_NO_QUESTION = re.compile(
    r"(?:^|[,;.!?]\s*)(?:is|are|can|could|do|does|may|will|would|am|is that|is it)\b", re.I
)


def sentences_of(source: Source) -> list[Sentence]:
    """The answerable sentences of a source: no headings, no copied questions. Read from the
    chunk's kept form when it has one written by this code, else from its text."""
    context = _heading_words(source.hit.heading)
    return [
        Sentence(source.n, i, text, frozenset(words.split()), decisive, exception, line, refers,
                 context)
        for i, text, words, decisive, exception, line, refers
        in reading.units(source.hit.text, source.hit.derived)
    ]  # fmt: skip


def is_near_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    """Two sentences stating the same fact: mostly the same words, or the same distinctive
    value (a time, a price, a code) with a good part of their words shared."""
    if not a or not b:
        return False
    jaccard = len(a & b) / len(a | b)
    shared_values = {w for w in a & b if DISTINCT.search(w) and len(w) >= 2}
    return jaccard >= 0.6 or (jaccard >= 0.25 and bool(shared_values))


def _restates(sentence: Sentence, question_words: set[str]) -> bool:
    """A sentence made only of the question's own words adds nothing ("Is there parking."),
    unless it says yes or no to it ("No, we do not deliver.")."""
    if not sentence.words or sentence.decisive:
        return False
    return len(sentence.words - question_words) <= max(1, len(sentence.words) // 5)


class Composer:
    """Picks and orders the sentences of an answer from the hotel's (non-review) sources."""

    def __init__(self, max_sentences: int = 3) -> None:
        self.max_sentences = max_sentences

    def choose(
        self,
        question: str,
        terms: QuestionTerms,
        sources: Sequence[Source],
        vocabulary: Vocabulary,
    ) -> list[Sentence]:
        """The sentences to say, in reading order; empty when none shares a subject word."""
        by_source = {s.n: sentences_of(s) for s in sources}
        candidates = [c for cs in by_source.values() for c in cs]
        if not candidates:
            return []
        asked = set(content_terms(question))
        question_words = set(roots(asked))
        wanted = _expanded(terms, vocabulary)
        subject = {w for group in terms.groups for w in group}
        subject_groups = wanted[: len(terms.groups)]
        framing = [set(roots([w])) for w in sorted(asked - subject) if w in FRAME_WORDS]
        weights = [1.0] * len(wanted) + [0.5] * len(framing)
        scored = self._score(
            question, wanted + framing, weights, sources, candidates, question_words
        )
        if not scored:
            return []
        ranked = sorted(scored, key=lambda c: -c.score)
        similarity = {s.n: s.hit.score for s in sources}
        top = max(similarity.values())
        best = ranked[0]
        chosen = [best.sentence]
        # A FAQ answer whose question is the guest's starts with the direct answer: keep the
        # sentences before the best one ("You can cancel until 48 hours before. Later …").
        source = next(s for s in sources if s.n == best.sentence.source)
        if _heading_match(source, wanted[: len(terms.groups)]) >= 0.5:
            before = [c for c in by_source[source.n] if c.position < best.sentence.position]
            chosen = [*before[: self.max_sentences - 1], best.sentence]
        chosen += _exception_partners(best.sentence, by_source)
        for cand in ranked[1:]:
            if len(chosen) >= self.max_sentences:
                break
            if not cand.overlap or cand.score < 0.7 * best.score:
                continue
            if any(is_near_duplicate(cand.sentence.words, c.words) for c in chosen):
                continue
            # Another source is cited only for a sentence that says a subject word itself
            # (not only its heading, a frame word or a value of the kind asked for).
            new_source = all(cand.sentence.source != c.source for c in chosen)
            if new_source and all(cand.sentence.words.isdisjoint(g) for g in subject_groups):
                continue
            # ... and only when the search found it about as similar as the best source.
            if new_source and similarity[cand.sentence.source] < FURTHER_SOURCE_SHARE * top:
                continue
            partners = _exception_partners(cand.sentence, by_source)
            if len(chosen) + 1 + len(partners) > self.max_sentences:
                continue
            chosen += [cand.sentence, *partners]
        unique = {(c.source, c.position): c for c in chosen[: self.max_sentences + 1]}
        ordered = sorted(unique.values(), key=lambda c: (c.source, c.position))
        return ordered[: self.max_sentences]

    def _score(
        self,
        question: str,
        wanted: list[set[str]],
        weights: list[float],
        sources: Sequence[Source],
        candidates: Sequence[Sentence],
        question_words: set[str],
    ) -> list[Scored]:
        # Rarer subject words among the candidates say more about which sentence answers.
        doc_freq = [
            sum(1 for c in candidates if not (c.words.isdisjoint(g) and c.context.isdisjoint(g)))
            for g in wanted
        ]
        total = len(candidates)
        expects = expected_values(question)
        yes_no = bool(_YES_NO_QUESTION.search(question))
        similarity = {s.n: s.hit.score for s in sources}
        subject_count = sum(1 for w in weights if w == 1.0)
        heading_match = {s.n: _heading_match(s, wanted[:subject_count], wanted) for s in sources}
        rank = {s.n: i for i, s in enumerate(sources)}
        # Rarest first: a sentence word counts for one question word only ("card" stands for
        # both "pay" and "amex"; "dinner" for both "eat" and "dinner").
        groups = sorted(
            (
                (weight * math.log(1 + total / df), group)
                for group, df, weight in zip(wanted, doc_freq, weights, strict=True)
                if df
            ),
            key=lambda g: -g[0],
        )
        out = []
        for c in candidates:
            if _restates(c, question_words):
                continue
            overlap = _overlap(c, groups)
            hint = _EXPECTED_VALUE if expects and any(p.search(c.text) for p in expects) else 0.0
            if yes_no and _YES_NO.match(c.text):
                hint += _YES_NO_ANSWER
            # A FAQ answer whose question matches the guest's: its first lines answer.
            faq = heading_match[c.source] * max(0.0, 1.5 - 0.5 * c.position)
            score = (
                overlap + hint + faq + 2.0 * similarity[c.source]
                - 0.02 * c.position - 0.1 * rank[c.source]
            )  # fmt: skip
            out.append(Scored(c, score, overlap + faq))
        return out


def _overlap(sentence: Sentence, groups: Sequence[tuple[float, set[str]]]) -> float:
    """The weights of the question words the sentence says (a word only in its section's
    heading counts for less than one said), each sentence word standing for one of them."""
    used: set[str] = set()
    total = 0.0
    for weight, group in groups:
        said = (sentence.words & group) - used
        if said:
            used |= said
            total += weight
            continue
        heading = (sentence.context & group) - used
        if heading:
            used |= heading
            total += weight * _CONTEXT_WEIGHT
    return total


def _expanded(terms: QuestionTerms, vocabulary: Vocabulary) -> list[set[str]]:
    """Per subject term: the source words that stand for it (typos, sound-alikes, synonyms)."""
    out = []
    for group in terms.groups:
        words: set[str] = set()
        for term in group:
            for word in vocabulary.matches(term):
                # A near spelling may be a source's unstemmed word ("parkign": "parking").
                words.update(_stems(word))
        words.update(group)
        out.append(set(roots(words)))
    return out


@lru_cache(maxsize=65536)
def _stems(word: str) -> tuple[str, ...]:
    return (word, *content_terms(word))


def _heading_match(
    source: Source, wanted: list[set[str]], asked: list[set[str]] | None = None
) -> float:
    """Share of the subject terms found in the source's heading when it is a question (a FAQ
    chunk's); 0 for other headings, which name a section rather than ask what it answers.
    With ``asked`` (all the question's word groups), the share of the heading's own words
    that the question asks about counts too (harmonic mean): "Do I need to wear a swimsuit
    in the sauna?" is not the question "is there a sauna?"."""
    if not wanted or not _is_question(source):
        return 0.0
    heading = _heading_words(source.hit.heading)
    found = sum(1 for group in wanted if not heading.isdisjoint(group))
    recall = found / len(wanted)
    if asked is None or not recall:
        return recall
    # A word that frames questions ("book") is the heading's own when the guest asks about it.
    own = [
        t
        for t in _heading_all_terms(source.hit.heading)
        if t not in _ROOTED_FRAME_WORDS or any(t in group for group in wanted)
    ]
    if not own:
        return recall
    said = sum(1 for term in own if any(term in group for group in asked))
    precision = said / len(own)
    return 2 * recall * precision / (recall + precision) if precision else 0.0


@per_text(100_000)  # chunk headings
def _heading_all_terms(heading: str) -> tuple[str, ...]:
    """A heading's content words."""
    return tuple(roots(content_terms(heading)))


def _is_question(source: Source) -> bool:
    heading = source.hit.heading.rstrip()
    return bool(heading) and (heading.endswith("?") or source.hit.kind == "faq")


@per_text(100_000)  # chunk headings
def _heading_words(heading: str) -> frozenset[str]:
    """A heading's content words, and each two adjacent ones joined ("jet ski": "jetski")."""
    terms = roots(content_terms(heading))
    return frozenset({*terms, *(a + b for a, b in itertools.pairwise(terms))})


def _exception_partners(sentence: Sentence, by_source: dict[int, list[Sentence]]) -> list[Sentence]:
    """The rule before an exception, or the exception right after a rule; the sentence before
    one that refers to it, or the sentence that completes a short refusal on its line."""
    siblings = by_source.get(sentence.source, [])
    index = next((i for i, s in enumerate(siblings) if s.position == sentence.position), None)
    if index is None:
        return []
    before = siblings[index - 1] if index > 0 else None
    after = siblings[index + 1] if index + 1 < len(siblings) else None
    if before is not None and (
        sentence.exception or (sentence.refers and before.line == sentence.line)
    ):
        return [before]
    if after is not None and (
        after.exception
        or (after.line == sentence.line and (after.refers or _short_refusal(sentence)))
    ):
        return [after]
    return []


def _short_refusal(sentence: Sentence) -> bool:
    return len(sentence.text.split()) <= 8 and bool(_SHORT_NO.search(sentence.text))


_ROOTED_FRAME_WORDS = frozenset(roots(FRAME_WORDS))
