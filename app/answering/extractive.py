"""The default answer writer: quotes the sentences of the best sources that answer the question.

No model is involved. Each candidate sentence (or list line) of the top sources is scored by
how many of the question's content words it contains, weighted by rarity, plus the source's
similarity; the best few are returned in reading order, each followed by its citation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.answering.types import FALLBACK_MESSAGE, Answer, AnswerEvents, Delta, Source
from app.text import content_terms, split_units

# Guests' words that name what the hotel's text states with other words.
_QUESTION_HINTS: dict[str, tuple[str, ...]] = {
    "when": ("am", "pm", ":", "until", "from", "daily"),
    "time": ("am", "pm", ":", "until", "from", "daily"),
    "much": ("€", "eur", "free", "charge", "price", "cost"),
    "cost": ("€", "eur", "free", "charge", "price"),
    "price": ("€", "eur", "free", "charge"),
}


@dataclass(frozen=True, slots=True)
class _Candidate:
    source: int
    position: int
    text: str
    score: float
    overlap: float


class ExtractiveWriter:
    """Answers with the best-matching sentences of the retrieved chunks, citing each."""

    name = "extractive"

    def __init__(
        self,
        min_score: float,
        max_sentences: int = 3,
        max_sources: int = 3,
        confident_score: float = 0.55,
    ) -> None:
        self._min_score = min_score
        self._confident_score = confident_score
        self._max_sentences = max_sentences
        self._max_sources = max_sources

    async def write(self, question: str, sources: Sequence[Source], language: str = "en") -> Answer:
        return self.compose(question, sources)

    async def stream(
        self, question: str, sources: Sequence[Source], language: str = "en"
    ) -> AnswerEvents:
        """The whole answer as one delta (it is ready at once), then the answer itself."""
        answer = self.compose(question, sources)
        yield Delta(answer.text)
        yield answer

    def relevant(self, sources: Sequence[Source]) -> list[Source]:
        """The sources similar enough to the question to answer from, best first."""
        return [s for s in sources if s.hit.score >= self._min_score]

    def compose(self, question: str, sources: Sequence[Source]) -> Answer:
        """Synchronous core of :meth:`write` (pure, cheap: microseconds per source)."""
        relevant = self.relevant(sources)[: self._max_sources]
        if not relevant:
            return Answer(FALLBACK_MESSAGE, escalate=True)
        candidates = self._candidates(question, relevant)
        if not candidates:
            return Answer(FALLBACK_MESSAGE, escalate=True)
        # A source that is only loosely similar and shares no word with the question is
        # more likely a near miss ("casino" finding the house rules) than an answer.
        if relevant[0].hit.score < self._confident_score and not any(c.overlap for c in candidates):
            return Answer(FALLBACK_MESSAGE, escalate=True)
        ranked = sorted(candidates, key=lambda c: -c.score)
        best = ranked[0]
        chosen = [best] + [
            c for c in ranked[1 : self._max_sentences] if c.overlap and c.score >= 0.7 * best.score
        ]
        chosen.sort(key=lambda c: (c.source, c.position))
        parts = [f"{c.text} [{c.source}]" for c in chosen]
        citations = tuple(sorted({c.source for c in chosen}))
        return Answer(" ".join(parts), citations)

    def _candidates(self, question: str, sources: Sequence[Source]) -> list[_Candidate]:
        terms = set(content_terms(question))
        hints = {h for t in terms for h in _QUESTION_HINTS.get(t, ())}
        units = [
            (s.n, i, unit, set(content_terms(unit)))
            for s in sources
            for i, unit in enumerate(split_units(s.hit.text))
        ]
        if not units:
            return []
        # Rarer words among the candidates say more about which sentence answers.
        doc_freq: dict[str, int] = {}
        for *_, words in units:
            for w in words & terms:
                doc_freq[w] = doc_freq.get(w, 0) + 1
        total = len(units)
        similarity = {s.n: s.hit.score for s in sources}
        out = []
        for n, position, unit, words in units:
            overlap = sum(math.log(1 + total / doc_freq[w]) for w in words & terms)
            lowered = unit.lower()
            hint = 0.5 if any(h in lowered for h in hints) else 0.0
            # Favour the best source and, a little, the first lines of a section.
            score = overlap + hint + 2.0 * similarity[n] - 0.02 * position
            if len(unit) < 4:
                continue
            out.append(_Candidate(n, position, unit, score, overlap))
        return out
