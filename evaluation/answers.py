"""Answer-level metrics: what the guest reads, judged against reference facts.

For every answerable question the set lists the facts the answer must state (each fact a
``|``-separated list of accepted spellings); an unanswerable question must be handed over.
Per writer it measures required-fact accuracy, false hand-over on answerable questions,
hand-over on unanswerable ones, citation precision (cited sources that are gold documents),
answers with markup residue, answers that state the same fact twice, answers that repeat a
guest review in the hotel's voice, length and latency.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.answering.types import Answer, AnswerWriter, number_sources
from app.search.types import Hit
from app.text import content_terms
from evaluation.data import Question
from evaluation.metrics import percentile

# Leftovers of the source format in a guest-facing answer.
_MARKUP = re.compile(
    r"(?:^|[\s(])(?:Q|A|Question|Answer|Frage|Antwort)\s*:"  # FAQ labels
    r"|\*\*|__|(?:^|\s)#{1,6}\s|<\s*/?\s*[a-z][a-z0-9]*[^>]*>"  # emphasis, headings, tags
    r"|\s\|\s|(?:^|\n)\s*[-*•]\s",  # table cells, list bullets
    re.IGNORECASE,
)
_CITATION = re.compile(r"\s*\[(\d+)\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_QUOTED = re.compile(r"[“\"«„][^”\"»“]*[”\"»“]")
_WORDS = re.compile(r"[0-9a-zà-ÿ']+")
_SHINGLE = 6  # words in a row shared with a review: copied, not summarised


def fact_present(fact: str, text: str) -> bool:
    """True when one of the fact's ``|``-separated spellings appears in ``text`` as a whole
    token run ("15" does not match "150", but matches "EUR 15")."""
    lowered = " ".join(text.lower().split())
    for option in fact.split("|"):
        needle = re.escape(" ".join(option.lower().split()))
        if re.search(rf"(?<![\w]){needle}(?![\w]|[.,:]\d)", lowered):
            return True
    return False


def has_markup(text: str) -> bool:
    """Format residue: FAQ labels, Markdown emphasis or headings, HTML tags, table pipes,
    bullets, or a question copied from the source (a sentence ending in ``?``)."""
    plain = _CITATION.sub("", text)
    return bool(_MARKUP.search(plain)) or any(s.rstrip().endswith("?") for s in sentences(plain))


def sentences(text: str) -> list[str]:
    """The answer's sentences, citations removed."""
    plain = _CITATION.sub("", text)
    return [s.strip() for s in _SENTENCE.split(plain) if s.strip()]


def _distinctive(words: set[str]) -> set[str]:
    return {w for w in words if any(ch.isdigit() for ch in w) and len(w) >= 2}


def has_duplicate(text: str) -> bool:
    """Two sentences that state the same fact: mostly the same words, or the same distinctive
    value (a time, price, code) with half their words shared."""
    sets = [set(content_terms(s)) for s in sentences(text)]
    for i, a in enumerate(sets):
        for b in sets[i + 1 :]:
            if not a or not b:
                continue
            jaccard = len(a & b) / len(a | b)
            if jaccard >= 0.7 or (jaccard >= 0.4 and _distinctive(a) & _distinctive(b)):
                return True
    return False


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORDS.findall(text.lower())
    return {tuple(words[i : i + _SHINGLE]) for i in range(len(words) - _SHINGLE + 1)}


def review_in_hotel_voice(text: str, hits: Sequence[Hit]) -> bool:
    """True when the answer repeats a retrieved guest review's words outside quotation marks,
    i.e. states a guest's opinion or experience as if it were the hotel's."""
    reviews = [h for h in hits if h.kind == "review"]
    if not reviews:
        return False
    unquoted = _shingles(_QUOTED.sub(" ", _CITATION.sub("", text)))
    return any(unquoted & _shingles(h.text) for h in reviews)


@dataclass(frozen=True, slots=True)
class Case:
    """One question with the chunks retrieved for it (the writer's sources)."""

    question: Question
    hits: Sequence[Hit]


@dataclass(slots=True)
class Judged:
    """One written answer and what is wrong with it."""

    question: Question
    answer: Answer
    ms: float
    ttft_ms: float | None
    facts_ok: bool
    cited: int
    cited_gold: int
    markup: bool
    duplicate: bool
    review_voice: bool


def judge(case: Case, answer: Answer, ms: float) -> Judged:
    """Score one answer against its question's reference facts and gold documents."""
    question = case.question
    answered = not answer.escalate
    facts_ok = (
        answered
        and bool(question.gold)
        and all(fact_present(f, answer.text) for f in question.facts)
    )
    gold = 0
    for n in answer.citations if answered else ():
        if 1 <= n <= len(case.hits) and case.hits[n - 1].document_id in question.gold:
            gold += 1
    ttft = answer.extra.get("ttft") if answer.extra else None
    return Judged(
        question,
        answer,
        ms,
        ttft,
        facts_ok,
        len(answer.citations) if answered else 0,
        gold,
        answered and has_markup(answer.text),
        answered and has_duplicate(answer.text),
        answered and review_in_hotel_voice(answer.text, case.hits),
    )


@dataclass(slots=True)
class WriterReport:
    """Answer metrics of one writer over one question set."""

    writer: str
    figures: dict[str, float]
    failures: list[str] = field(default_factory=list)


ANSWER_METRICS = (
    "fact_accuracy",
    "false_handover",
    "handover_unanswerable",
    "citation_precision",
    "markup",
    "duplicates",
    "review_voice",
    "mean_chars",
    "p50_ms",
    "p99_ms",
)


def summarise(writer: str, judged: Sequence[Judged]) -> WriterReport:
    """Rates over the judged answers (answer defects counted over answered questions)."""
    answerable = [j for j in judged if j.question.gold]
    unanswerable = [j for j in judged if not j.question.gold]
    answered = [j for j in judged if not j.answer.escalate]
    cited = sum(j.cited for j in answerable)
    times = [j.ms for j in judged] or [0.0]
    figures = {
        "fact_accuracy": _rate(sum(j.facts_ok for j in answerable), len(answerable)),
        "false_handover": _rate(sum(j.answer.escalate for j in answerable), len(answerable)),
        "handover_unanswerable": _rate(
            sum(j.answer.escalate for j in unanswerable), len(unanswerable)
        ),
        "citation_precision": _rate(sum(j.cited_gold for j in answerable), cited),
        "markup": float(sum(j.markup for j in answered)),
        "duplicates": float(sum(j.duplicate for j in answered)),
        "review_voice": float(sum(j.review_voice for j in answered)),
        "mean_chars": _rate(sum(len(j.answer.text) for j in answered), len(answered)),
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
    }
    fallbacks = sum(1 for j in judged if j.answer.fallback_reason is not None)
    if fallbacks:
        figures["fallbacks"] = float(fallbacks)
    for j in judged:
        if j.answer.fallback_reason is not None:
            key = f"fallback_{j.answer.fallback_reason}"
            figures[key] = figures.get(key, 0.0) + 1
    ttfts = [j.ttft_ms for j in judged if j.ttft_ms is not None]
    if ttfts:
        figures["ttft_p50_ms"] = percentile(ttfts, 50)
        figures["ttft_p95_ms"] = percentile(ttfts, 95)
    # A model's time to its last token (the checks after it take well under a millisecond).
    generations = [j.answer.extra["generation"] for j in judged if "generation" in j.answer.extra]
    if generations:
        figures["generation_p50_ms"] = percentile(generations, 50)
        figures["generation_p95_ms"] = percentile(generations, 95)
    failures = [
        f"{j.question.id}: {j.question.text!r} -> {j.answer.text[:160]!r}"
        for j in answerable
        if not j.facts_ok
    ] + [
        f"{j.question.id}: {j.question.text!r} (unanswerable) -> {j.answer.text[:160]!r}"
        for j in unanswerable
        if not j.answer.escalate
    ]
    return WriterReport(writer, figures, failures)


def _rate(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


async def run_writer(writer: AnswerWriter, cases: Sequence[Case]) -> WriterReport:
    """Write an answer to every case with ``writer`` and judge it."""
    compose = getattr(writer, "compose", None)
    if compose is not None:  # steady state: per-chunk caches warm, as in a running service
        for case in cases:
            compose(case.question.text, number_sources(case.hits))
    judged = []
    for case in cases:
        sources = number_sources(case.hits)
        if compose is not None:
            # Synchronous writers: the CPU time of the composition alone (on a shared machine
            # wall time mostly measures the other processes' load).
            started = time.thread_time()
            answer = compose(case.question.text, sources)
            ms = (time.thread_time() - started) * 1000
        else:
            started = time.perf_counter()
            answer = await writer.write(case.question.text, sources)
            ms = (time.perf_counter() - started) * 1000
        judged.append(judge(case, answer, ms))
    return summarise(writer.name, judged)
