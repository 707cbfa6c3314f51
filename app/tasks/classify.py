"""What kind of message is this: rules for the clear cases, then the nearest labelled examples.

The examples (``app/tasks/examples.jsonl``, plus any a property adds) are embedded with the
same encoder as the questions, and every vector is centred on its language (``centres``); a
message takes the similarity-weighted vote of its ``k`` nearest examples, and is an
information question when nothing is near enough. No model is trained and nothing leaves the
process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app import languages
from app.tasks.centres import Centres
from app.tasks.rules import (
    INFORMATION,
    KINDS,
    SAFETY,
    SERVICE,
    SMALL_TALK,
    Label,
    asks_as_question,
    asks_for_something,
    fold,
    is_bare,
    rule_label,
)

if TYPE_CHECKING:
    from app.tasks.multilingual import MultilingualSpace

EXAMPLES_PATH = Path(__file__).with_name("examples.jsonl")
_EMBED_AT_ONCE = 16  # examples in the embedding queue at a time

Embed = Callable[[str], Awaitable[np.ndarray]]


@dataclass(frozen=True, slots=True)
class Classification:
    """The kind of a message, its category, and how it was decided (``rule`` or ``nearest``)."""

    kind: str
    category: str | None
    score: float
    method: str

    @property
    def label(self) -> Label:
        return Label(self.kind, self.category)


def load_examples(path: Path = EXAMPLES_PATH) -> list[tuple[str, Label]]:
    """``(text, label)`` pairs from a JSONL file of ``{"text", "kind", "category"}`` rows."""
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["kind"] not in KINDS:
                raise ValueError(f"{path}: unknown kind {row['kind']!r}")
            examples.append((row["text"], Label(row["kind"], row.get("category"))))
    return examples


def language_of(text: str) -> str:
    """The example's language where the detector is fairly sure, else the default (English)."""
    language, probability = languages.guess(text)
    return language if probability >= languages.LIKELY else languages.DEFAULT


def fit_centres(texts: Sequence[str], vectors: np.ndarray) -> Centres:
    """The language centres of the seed examples ``texts`` (embedded as ``vectors``)."""
    return Centres.fit(vectors, [language_of(text) for text in texts])


class ExampleIndex:
    """Labelled example vectors (rows L2-normalised), searched by dot product."""

    def __init__(self, vectors: np.ndarray, labels: Sequence[Label]) -> None:
        if len(vectors) != len(labels):
            raise ValueError("one label per vector")
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.labels = list(labels)

    def __len__(self) -> int:
        return len(self.labels)

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[float, Label]]:
        if not self.labels:
            return []
        scores = self.vectors @ np.asarray(vector, dtype=np.float32)
        top = np.argsort(-scores)[:k]
        return [(float(scores[i]), self.labels[i]) for i in top]


def vote(neighbours: Sequence[tuple[float, Label]], min_similarity: float) -> tuple[Label, float]:
    """The label with the largest similarity-weighted vote among neighbours near enough."""
    weights: dict[Label, float] = {}
    for score, label in neighbours:
        if score >= min_similarity:
            weights[label] = weights.get(label, 0.0) + score
    if not weights:
        best = max((s for s, _ in neighbours), default=0.0)
        return Label(INFORMATION), best
    label = max(weights, key=lambda lab: weights[lab])
    return label, weights[label] / sum(weights.values())


def nearest(
    vector: np.ndarray, indexes: Sequence[ExampleIndex], k: int
) -> list[tuple[float, Label]]:
    """The ``k`` nearest examples over all ``indexes``, nearest first."""
    return sorted(
        (pair for index in indexes for pair in index.nearest(vector, k)),
        key=lambda pair: -pair[0],
    )[:k]


def needs_vector(ruled: Label | None) -> bool:
    """Whether the example vote must still see a message the rules gave ``ruled``.

    Only a safety rule and small talk are final. A service or complaint rule matches words
    about things ("broken", "stuck", "dirty"); the same words about a person's body are a
    safety message, and missing one costs far more than a false alarm, so the nearest
    safety examples are still consulted.
    """
    return ruled is None or ruled.kind not in (SAFETY, SMALL_TALK)


def decide(
    text: str,
    vector: np.ndarray | None,
    indexes: Sequence[ExampleIndex],
    k: int = 5,
    min_similarity: float = 0.4,
    safety_similarity: float = 0.6,
    safety_margin: float = 0.03,
    task_similarity: float = 0.0,
) -> Classification:
    """Classify ``text`` (``vector`` is its embedding; None when the rules suffice).

    A safety example near enough (``safety_similarity``) outweighs the vote and any service
    or complaint rule (recall first) unless another kind's example is nearer by more than
    ``safety_margin``; when a service or complaint rule fired, the nearest example being a
    safety one overrules it at a lower floor (missing a safety message is the costly error);
    a message worded as a question about the hotel stays an information
    question unless it is near a safety one or is a polite request ("is it possible to have…").
    """
    return _decided(
        text, rule_label(text), vector, indexes, k, min_similarity, safety_similarity,
        safety_margin, task_similarity,
    )  # fmt: skip


def _decided(
    text: str,
    ruled: Label | None,
    vector: np.ndarray | None,
    indexes: Sequence[ExampleIndex],
    k: int,
    min_similarity: float,
    safety_similarity: float,
    safety_margin: float,
    task_similarity: float = 0.0,
) -> Classification:
    """:func:`decide`, given what the rules gave ``text`` (``ruled``)."""
    if ruled is not None and (vector is None or not needs_vector(ruled)):
        return Classification(ruled.kind, ruled.category, 1.0, "rule")
    if vector is None:
        return Classification(INFORMATION, None, 0.0, "default")
    neighbours = nearest(vector, indexes, k)
    alarming = [(s, lab) for s, lab in neighbours if lab.kind == SAFETY and s >= safety_similarity]
    others = [s for s, lab in neighbours if lab.kind != SAFETY]
    if alarming and alarming[0][0] >= max(others, default=0.0) - safety_margin:
        score, label = alarming[0]
        return Classification(label.kind, label.category, round(score, 3), "nearest")
    if ruled is not None:
        # The rule matched words about things; a nearest example about a person in danger
        # still wins, at a floor halfway between the vote's and the safety one.
        top_score, top = neighbours[0] if neighbours else (0.0, Label(INFORMATION))
        if top.kind == SAFETY and top_score >= (min_similarity + safety_similarity) / 2:
            return Classification(top.kind, top.category, round(top_score, 3), "nearest")
        return Classification(ruled.kind, ruled.category, 1.0, "rule")
    label, score = vote(neighbours, min_similarity)
    if label.kind != INFORMATION and asks_as_question(text) and not asks_for_something(text):
        label = Label(INFORMATION)
    if label.kind == SERVICE and is_bare(text):
        label = Label(INFORMATION)
    if label.kind not in (INFORMATION, SAFETY) and _nearest(neighbours, label) < task_similarity:
        # A vote of distant examples is no reason to answer a guest with a task instead of
        # the answer: most messages are questions ("check in time", "casino?").
        label = Label(INFORMATION)
    return Classification(label.kind, label.category, round(score, 3), "nearest")


def _nearest(neighbours: Sequence[tuple[float, Label]], label: Label) -> float:
    return max((score for score, near in neighbours if near.kind == label.kind), default=0.0)


class MessageClassifier:
    """Classifies guest messages for the hot path: rules first, then the example vote.

    Results are kept in a bounded LRU keyed by property and a digest of the folded text (so
    an entry is small whatever the message's length), and a repeated message costs no
    embedding. Property examples are loaded by ``load_property`` and
    replace that property's earlier ones. With ``multilingual``, messages not in English are
    judged in that model's space (:mod:`app.tasks.multilingual`).
    """

    def __init__(
        self,
        embed: Embed,
        k: int = 5,
        min_similarity: float = 0.4,
        max_cached: int = 10_000,
        max_property_examples: int = 500,
        safety_similarity: float = 0.6,
        safety_margin: float = 0.03,
        task_similarity: float = 0.0,
        multilingual: MultilingualSpace | None = None,
    ) -> None:
        self._embed = embed
        self.multilingual = multilingual
        self.safety_margin = safety_margin
        self.task_similarity = task_similarity
        self._centres = Centres(np.zeros((0, 1), np.float32))
        self._raw: dict[str, ExampleIndex] = {}  # property examples before centring
        self.k = k
        self.min_similarity = min_similarity
        self.safety_similarity = safety_similarity
        self._seeds = ExampleIndex(np.zeros((0, 1), np.float32), [])
        self._properties: dict[str, ExampleIndex] = {}
        self._cache: OrderedDict[tuple[str, bytes], Classification] = OrderedDict()
        self._max_cached = max_cached
        self.max_property_examples = max_property_examples

    async def load_seeds(
        self, examples: Sequence[tuple[str, Label]], vectors: np.ndarray | None = None
    ) -> np.ndarray:
        """Set the shared examples; their languages give the centres every vector is put on.

        ``vectors`` are the examples' embeddings when already known (one row each); returns
        them, as embedded (before centring)."""
        if vectors is None:
            raw = await self._index(examples)
        else:
            raw = ExampleIndex(vectors, [label for _, label in examples])
        texts = [text for text, _ in examples]
        self._centres = await asyncio.to_thread(fit_centres, texts, raw.vectors)
        self._seeds = ExampleIndex(self._centres.apply(raw.vectors), raw.labels)
        self._properties = {
            pid: ExampleIndex(self._centres.apply(index.vectors), index.labels)
            for pid, index in self._raw.items()
        }
        self._cache.clear()
        return raw.vectors

    async def load_property(self, property_id: str, examples: Sequence[tuple[str, Label]]) -> None:
        """Set a property's own examples (at most ``max_property_examples`` are kept)."""
        kept = examples[: self.max_property_examples]
        if self.multilingual is not None:
            self.multilingual.set_property(property_id, kept)
        raw = await self._index(kept)
        self._raw[property_id] = raw
        self._properties[property_id] = ExampleIndex(self._centres.apply(raw.vectors), raw.labels)
        for key in [key for key in self._cache if key[0] == property_id]:
            del self._cache[key]

    async def _index(self, examples: Sequence[tuple[str, Label]]) -> ExampleIndex:
        # A few at a time: the embedding queue is bounded and shared with guests' questions.
        vectors: list[np.ndarray] = []
        for start in range(0, len(examples), _EMBED_AT_ONCE):
            part = examples[start : start + _EMBED_AT_ONCE]
            vectors += await asyncio.gather(*(self._embed(text) for text, _ in part))
        matrix = np.vstack(vectors) if vectors else np.zeros((0, 1), np.float32)
        return ExampleIndex(matrix, [label for _, label in examples])

    async def classify(self, property_id: str, text: str) -> Classification:
        key = (property_id, hashlib.blake2b(fold(text).encode(), digest_size=16).digest())
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        ruled = rule_label(text)  # once: the vote below is given what the rules said
        floors = (
            self.min_similarity, self.safety_similarity, self.safety_margin, self.task_similarity
        )  # fmt: skip
        result = _decided(text, ruled, None, (), self.k, *floors)
        keep = True
        if needs_vector(ruled):
            space = self.multilingual
            placed = None
            if space is not None and space.takes(text):
                placed = await space.place(property_id, text)
                keep = placed is not None  # not while the space is loading
            if placed is not None:
                f = placed.floors
                result = _decided(
                    text, ruled, placed.vector, placed.indexes, self.k, f.min_similarity,
                    f.safety_similarity, f.safety_margin, f.task_similarity,
                )  # fmt: skip
            else:
                indexes = [self._seeds]
                if property_id in self._properties:
                    indexes.append(self._properties[property_id])
                vector = self._centres.apply(await self._embed(text))
                result = _decided(text, ruled, vector, indexes, self.k, *floors)
        if not keep:
            return result
        self._cache[key] = result
        if len(self._cache) > self._max_cached:
            self._cache.popitem(last=False)
        return result
