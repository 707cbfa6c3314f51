"""Reranking: reorder the retrieved candidates with a slower, more precise scorer (off by default).

The retriever fetches ``rerank_depth`` candidates, a :class:`Reranker` orders them, and the
first ``k`` are kept. Scores stay cosine similarities, so the answer threshold keeps its
meaning whichever order the reranker chooses.

Plugging in a cross-encoder (e.g. ``cross-encoder/ms-marco-MiniLM-L-6-v2`` once its weights
are available as a package or a local folder): write a class with ``name`` and an async
``rerank`` that scores ``(question, hit.title + " - " + hit.heading + "\\n" + hit.text)`` pairs
with ``sentence_transformers.CrossEncoder.predict`` on a dedicated thread (never on the event
loop: a batch of 20 pairs costs tens of milliseconds on CPU), and return the hits sorted by
that score; then add it to :func:`build_reranker` under a new ``RAG_RERANKER`` value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from app.search.types import Hit
from app.text import content_terms


class Reranker(Protocol):
    """Orders retrieved candidates for a question, best first."""

    name: str

    async def rerank(self, question: str, hits: Sequence[Hit]) -> list[Hit]: ...


class TermOverlapReranker:
    """A deterministic scorer: the retrieval order plus how many question words a chunk holds.

    Each candidate scores ``1 / (rrf_k + rank)`` for its retrieval rank plus ``weight`` times
    the share of the question's content words (weighted by rarity among the candidates) found
    in its title, heading and text. Cheap (microseconds per candidate) and dependency-free.
    """

    name = "term-overlap"

    def __init__(self, weight: float = 0.05, rrf_k: int = 60) -> None:
        self._weight = weight
        self._rrf_k = rrf_k

    async def rerank(self, question: str, hits: Sequence[Hit]) -> list[Hit]:
        return self.order(question, hits)

    def order(self, question: str, hits: Sequence[Hit]) -> list[Hit]:
        """Synchronous core of :meth:`rerank` (pure)."""
        terms = set(content_terms(question))
        if not terms or not hits:
            return list(hits)
        bags = [set(content_terms(f"{h.title} {h.heading} {h.text}")) & terms for h in hits]
        frequency = {t: sum(t in bag for bag in bags) for t in terms}
        weights = {t: math.log(1 + len(hits) / f) for t, f in frequency.items() if f}
        total = sum(weights.values()) or 1.0
        scored = [
            (1 / (self._rrf_k + rank) + self._weight * sum(weights[t] for t in bag) / total, rank)
            for rank, bag in enumerate(bags, start=1)
        ]
        order = sorted(range(len(hits)), key=lambda i: (-scored[i][0], scored[i][1]))
        return [hits[i] for i in order]


def build_reranker(name: str) -> Reranker | None:
    """The reranker configured by ``RAG_RERANKER`` (``none`` turns reranking off)."""
    if name == "none":
        return None
    if name == "term-overlap":
        return TermOverlapReranker()
    raise ValueError(f"unknown reranker {name!r}")
