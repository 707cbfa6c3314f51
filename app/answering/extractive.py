"""The default answer writer: a composed answer from the hotel's own sentences, no model.

Three steps, each cheap (well under a millisecond together):

1. **Hand over or answer.** The question's subject words (frame words such as "how much" or
   "what time" aside) are looked up in the retrieved sources, allowing typos and misheard
   words (:mod:`app.answering.matching`). The writer hands over to staff when the best
   source is barely similar (``min_score``), or when a subject word is found nowhere in the
   sources and the best source is not clearly similar (``confident_score``): "casino" that
   only finds the house rules. A missing word said only in a phrase a preposition opens ("a
   massage after the flight") tells the question's circumstances, not its subject: it is
   forgiven when another subject word is found and the best source is fairly similar (a
   quarter of the way from the floor to the confident score; measured, hand-over on
   unanswerable questions is the same anywhere from 0.15 to 0.5 of the way). One missing word
   among at least two found is forgiven too when the best source is half-way from the floor
   to the confident score: with most of the subject found, the missing word is usually a
   paraphrase ("hire the whole place for a party" over "book the bistro for private
   parties"), while a thing the hotel does not have is usually the question's one noun ("is
   there a tennis court": "court" found, "tennis" not). With the model's word vectors
   (:mod:`app.answering.meanings`), a missing word is found when a word of the sources means
   nearly the same (``meaning_similarity``: "reservation" for "booking") and the best source is
   clearly similar (70% of the way from the floor to the confident score): words that are
   only alike ("golf" and "sport") are about as close as words of one meaning, so the
   similarity of the sources must vouch for the question being the one they answer. The
   thresholds were chosen on measured curves (``scripts/eval``; see the README).
2. **Opinions.** When the best source is a guest review, the answer is a summary of the
   reviews that mention the subject (:mod:`app.answering.reviews`), attributed and counted,
   never a review's sentence stated as the hotel's.
3. **Facts.** Otherwise the sentences that answer are picked from the hotel's own sources
   (:mod:`app.answering.composer`), each followed by its citation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app import languages
from app.answering.composer import Composer, Sentence
from app.answering.matching import (
    FRAME_WORDS,
    QuestionTerms,
    Vocabulary,
    circumstantial,
    coverage,
)
from app.answering.matching import question_terms as subject_terms
from app.answering.meanings import Near, WordVectors, forms_of
from app.answering.reviews import is_opinion_question, opinion_words, opinions, summarise
from app.answering.types import FALLBACK_MESSAGE, Answer, AnswerEvents, Delta, Source
from app.reading import joined

REVIEW = "review"
# How far from the floor towards the confident score a source must be for a question whose
# missing words only tell its circumstances (see the module's step 1).
_FAIRLY = 0.25
# A question with at least this many subject words found and one missing is answered from a
# source this far from the floor towards the confident score (see the module's step 1).
_MOSTLY_FOUND = 2
_MOSTLY = 0.5
# How far from the floor towards the confident score the best source must be for a missing
# word to be found by its meaning (see the module's step 1).
_MEANT = 0.7
# Words of the sources this much less similar to a missing word than the closest stand for it
# too ("laundry" and "towel" for "clothes"; not "bicycle" beside "motorcycle" for "motorbike").
_CLOSE = 0.05


@dataclass(frozen=True, slots=True)
class _Decision:
    """The sources answer the question: their vocabulary, the similarity floor that applied,
    and the subject words they do not say (None: not looked for, the source being confident
    or the question in another language)."""

    vocabulary: Vocabulary
    floor: float
    missing: list[str] | None
    # The sources' words that the model's word vectors know (None: no vectors).
    near: Near | None


@dataclass(frozen=True, slots=True)
class Plan:
    """A composed answer and the sentences it is made of (empty for a hand-over or a summary
    of reviews)."""

    answer: Answer
    sentences: tuple[Sentence, ...] = ()


class ExtractiveWriter:
    """Answers with the best-matching sentences of the retrieved chunks, citing each."""

    name = "extractive"

    def __init__(
        self,
        min_score: float,
        max_sentences: int = 3,
        max_sources: int = 5,
        confident_score: float = 0.50,
        max_chars: int = 1200,
        other_language_min_score: float | None = None,
        meanings: WordVectors | None = None,
        meaning_similarity: float = 0.65,
    ) -> None:
        self._min_score = min_score
        # The model's vectors of common words: a missing word found by its meaning.
        self._meanings = meanings
        self._meaning_similarity = meaning_similarity
        # With a multilingual model: the similarity floor for a question over sources in
        # another language (None: such questions follow the same rules as any other).
        self._other_language_min_score = other_language_min_score
        self._max_chars = max_chars
        self._confident_score = confident_score
        self._max_sources = max_sources
        self._composer = Composer(max_sentences)

    async def write(self, question: str, sources: Sequence[Source], language: str = "en") -> Answer:
        return self.compose(question, sources, language)

    async def stream(
        self, question: str, sources: Sequence[Source], language: str = "en"
    ) -> AnswerEvents:
        """The whole answer as one delta (it is ready at once), then the answer itself."""
        answer = self.compose(question, sources, language)
        yield Delta(answer.text)
        yield answer

    def relevant(
        self, sources: Sequence[Source], question: str, language: str | None = None
    ) -> list[Source]:
        """The sources to answer from, best first; empty when the question is handed over."""
        decided = self._decide(question, sources, language)
        if decided is None:
            return []
        return [s for s in sources if s.hit.score >= decided.floor]

    def hands_over(
        self, question: str, sources: Sequence[Source], language: str | None = None
    ) -> bool:
        """True when the sources do not answer the question (see the module's step 1)."""
        return self._decide(question, sources, language) is None

    def _decide(
        self, question: str, sources: Sequence[Source], language: str | None
    ) -> _Decision | None:
        """What the sources give when they answer the question; None when it is handed over.

        A question in ``language`` over sources written in another language shares no words
        with them: with ``other_language_min_score`` set (a multilingual model, whose
        similarities carry across languages), only that floor decides whether they answer it.
        """
        if not sources:
            return None
        best = max(s.hit.score for s in sources)
        floor, by_words = self._min_score, True
        other = self._other_language_min_score
        if other is not None and language is not None and _written_in_another(sources, language):
            floor, by_words = other, False
        if best < floor:
            return None
        vocabulary = _vocabulary(sources)
        near = None if self._meanings is None else self._meanings.near(map(_text_of, sources))
        if by_words and best < self._confident_score:
            share, missing = coverage(question, vocabulary)
            # A word missing from the sources may only tell the question's circumstances
            # ("a massage after the flight"), when the subject is found and the best source
            # is fairly similar (a quarter of the way from the floor to the confident score).
            fairly = best >= floor + _FAIRLY * (self._confident_score - floor)
            # One word of several missing, the others found, and a source well past the floor
            # (half-way to the confident score): a paraphrase ("hire" for "book") rather than
            # a thing the hotel does not have, which is usually the question's one noun.
            found = len(subject_terms(question).groups) - len(missing)
            mostly = (
                len(missing) == 1
                and found >= _MOSTLY_FOUND
                and best >= floor + _MOSTLY * (self._confident_score - floor)
            )
            if (
                share < 1.0
                and not mostly
                and not (share > 0 and fairly and circumstantial(question, missing))
            ):
                meant = best >= floor + _MEANT * (self._confident_score - floor)
                if not (meant and self._meant(question, missing, near, vocabulary)):
                    return None
                missing = []  # each now stands for the sources' words of its meaning
            return _Decision(vocabulary, floor, missing, near)
        return _Decision(vocabulary, floor, None, near)

    def _meant(
        self,
        question: str,
        missing: Sequence[str],
        near: Near | None,
        vocabulary: Vocabulary,
    ) -> bool:
        """Whether every missing word has a word of the same meaning in the sources; if so,
        ``vocabulary`` lets it stand for those words (the composer looks for them)."""
        if near is None or not missing:
            return False
        alike: dict[str, set[str]] = {}
        for term in missing:
            alike[term] = self._alike(question, term, near)
            if not alike[term]:
                return False
        for term, words in alike.items():
            vocabulary.widen(term, words)
        return True

    def _alike(self, question: str, term: str, near: Near) -> set[str]:
        """The words of the sources closest in meaning to a subject word: at least
        ``meaning_similarity`` from it, and about as close as the closest."""
        forms = forms_of(term, subject_terms(question).raw)
        alike = near.alike(forms, self._meaning_similarity)
        if not alike:
            return set()
        closest = max(alike.values())
        return {word for word, similarity in alike.items() if similarity >= closest - _CLOSE}

    def compose(
        self, question: str, sources: Sequence[Source], language: str | None = None
    ) -> Answer:
        """Synchronous core of :meth:`write` (pure, cheap)."""
        return self.plan(question, sources, language).answer

    def plan(self, question: str, sources: Sequence[Source], language: str | None = None) -> Plan:
        """The composed answer and the hotel's sentences it says (none when it hands over or
        summarises reviews): what a model may rephrase, and what it must keep to."""
        decided = self._decide(question, sources, language)
        if decided is None:
            return Plan(Answer(FALLBACK_MESSAGE, escalate=True))
        vocabulary = decided.vocabulary
        terms = subject_terms(question)
        if decided.near is not None:
            # A subject word the sources do not say, in a question answered all the same (a
            # clearly similar source): the composer looks for the words of its meaning.
            missing = decided.missing
            if missing is None:
                missing = coverage(question, vocabulary)[1]
            for term in missing:
                vocabulary.widen(term, self._alike(question, term, decided.near))
        # A judgement ("is the breakfast good?") that the search also found in reviews.
        reviews_found = sum(s.hit.kind == REVIEW for s in sources)
        top_review = any(s.hit.kind == REVIEW for s in sources[:2])
        if is_opinion_question(question) and (top_review or 2 * reviews_found >= len(sources)):
            answer = self._reviews(question, terms, sources, vocabulary)
            if answer is not None:
                return Plan(answer)
        facts = [s for s in sources if s.hit.kind != REVIEW][: self._max_sources]
        chosen = self._composer.choose(question, terms, facts, vocabulary)
        if not chosen:
            return Plan(Answer(FALLBACK_MESSAGE, escalate=True))
        text, cited = _render(chosen, self._max_chars)
        return Plan(Answer(text, cited), tuple(chosen))

    def _reviews(
        self,
        question: str,
        terms: QuestionTerms,
        sources: Sequence[Source],
        vocabulary: Vocabulary,
    ) -> Answer | None:
        reviews = [s for s in sources if s.hit.kind == REVIEW]
        subject: set[str] = set()
        for group in terms.groups:
            for term in group:
                subject |= vocabulary.matches(term) | {term}
        # "Is it noisy?": the opinion word is the subject when nothing else is asked about.
        subject = {w for w in subject if len(w) >= 3 and w not in FRAME_WORDS}
        subject |= opinion_words(question)
        text, cited = summarise(opinions(reviews, subject))
        if not text:
            return None
        return Answer(shorten(text, self._max_chars), cited)


def _written_in_another(sources: Sequence[Source], language: str) -> bool:
    """Whether the best source is surely written in another language than ``language``."""
    written, probability = languages.guess(max(sources, key=lambda s: s.hit.score).hit.text)
    return probability >= languages.SURE and written != language


def _text_of(source: Source) -> str:
    return joined(source.hit.title, source.hit.heading, source.hit.text)


def _vocabulary(sources: Sequence[Source]) -> Vocabulary:
    return Vocabulary.of_kept((_text_of(s), s.hit.derived) for s in sources)


def shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: cut at a word boundary, marked with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _render(chosen: Sequence[Sentence], max_chars: int) -> tuple[str, tuple[int, ...]]:
    """Sentences in order, each source's run of sentences followed by its citation, bounded
    in characters (one very long "sentence", a table row or run-on line, is cut)."""
    text = ""
    cited: set[int] = set()
    said: int | None = None  # source of the last sentence added
    for i, sentence in enumerate(chosen):
        part = sentence.text
        if part[-1] not in ".!?…)":
            part += "."
        last_of_run = i + 1 == len(chosen) or chosen[i + 1].source != sentence.source
        marker, sep = (f" [{sentence.source}]" if last_of_run else ""), " " if text else ""
        room = max_chars - len(text) - len(sep) - len(f" [{sentence.source}]")
        if room < 20 and text:
            break
        text += sep + shorten(part, room) + marker
        said = sentence.source
        if last_of_run:
            cited.add(sentence.source)
    if said is not None and not text.endswith("]"):  # cut inside a run: cite what was said
        text += f" [{said}]"
        cited.add(said)
    return text, tuple(sorted(cited))
