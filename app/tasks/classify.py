"""What kind of message is this: rules for the clear cases, then the nearest labelled examples.

The examples (``app/tasks/examples.jsonl``, plus any a property adds) are embedded with the
same encoder as the questions; a message takes the similarity-weighted vote of its ``k``
nearest examples, and is an information question when nothing is near enough. No model is
trained and nothing leaves the process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.tasks.rules import INFORMATION, KINDS, SAFETY, Label, asks_as_question, fold, rule_label

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


def decide(
    text: str,
    vector: np.ndarray | None,
    indexes: Sequence[ExampleIndex],
    k: int = 5,
    min_similarity: float = 0.4,
    safety_similarity: float = 0.6,
) -> Classification:
    """Classify ``text`` (``vector`` is its embedding; None when the rules suffice).

    One safety example near enough outweighs the vote (recall first); a message worded as a
    question about the hotel stays an information question unless it is near a safety one.
    """
    ruled = rule_label(text)
    if ruled is not None:
        return Classification(ruled.kind, ruled.category, 1.0, "rule")
    if vector is None:
        return Classification(INFORMATION, None, 0.0, "default")
    neighbours = sorted(
        (pair for index in indexes for pair in index.nearest(vector, k)),
        key=lambda pair: -pair[0],
    )[:k]
    label, score = vote(neighbours, min_similarity)
    alarming = [(s, lab) for s, lab in neighbours if lab.kind == SAFETY and s >= safety_similarity]
    if alarming:
        score, label = alarming[0]
    elif label.kind != INFORMATION and asks_as_question(text):
        label = Label(INFORMATION)
    return Classification(label.kind, label.category, round(score, 3), "nearest")


class MessageClassifier:
    """Classifies guest messages for the hot path: rules first, then the example vote.

    Results are kept in a bounded LRU keyed by property and a digest of the folded text (so
    an entry is small whatever the message's length), and a repeated message costs no
    embedding. Property examples are loaded by ``load_property`` and
    replace that property's earlier ones.
    """

    def __init__(
        self,
        embed: Embed,
        k: int = 5,
        min_similarity: float = 0.4,
        max_cached: int = 10_000,
        max_property_examples: int = 500,
        safety_similarity: float = 0.6,
    ) -> None:
        self._embed = embed
        self.k = k
        self.min_similarity = min_similarity
        self.safety_similarity = safety_similarity
        self._seeds = ExampleIndex(np.zeros((0, 1), np.float32), [])
        self._properties: dict[str, ExampleIndex] = {}
        self._cache: OrderedDict[tuple[str, bytes], Classification] = OrderedDict()
        self._max_cached = max_cached
        self.max_property_examples = max_property_examples

    async def load_seeds(self, examples: Sequence[tuple[str, Label]]) -> None:
        self._seeds = await self._index(examples)
        self._cache.clear()

    async def load_property(self, property_id: str, examples: Sequence[tuple[str, Label]]) -> None:
        """Set a property's own examples (at most ``max_property_examples`` are kept)."""
        self._properties[property_id] = await self._index(examples[: self.max_property_examples])
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
        result = decide(text, None, ())
        if result.method != "rule":
            indexes = [self._seeds]
            if property_id in self._properties:
                indexes.append(self._properties[property_id])
            vector = await self._embed(text)
            result = decide(
                text, vector, indexes, self.k, self.min_similarity, self.safety_similarity
            )
        self._cache[key] = result
        if len(self._cache) > self._max_cached:
            self._cache.popitem(last=False)
        return result
