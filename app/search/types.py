"""What search produces and how it is tuned: hits, ranking options, a question's retrieval.

A leaf of the search stage: the answer writers and the evaluation import these types without
importing the retriever (and its SQL).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, Protocol

import numpy as np

RetrievalMode = Literal["vector", "fulltext", "hybrid"]


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved chunk with its document."""

    chunk_id: int
    document_id: str
    title: str
    heading: str
    text: str
    score: float
    # The document's kind (faq, policy, menu, hours, review, other); "" when unknown.
    kind: str = ""
    # What the answer writer reads from the chunk, kept with it at ingestion (see
    # :mod:`app.reading`); None for a chunk written without it.
    derived: str | None = None


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """How chunks are ranked (see :mod:`app.search.hybrid`); defaults are the best measured."""

    mode: RetrievalMode = "hybrid"
    rrf_k: int = 60
    depth: int = 40
    pool: int = 100
    vector_weight: float = 1.0
    text_weight: float = 0.5
    synonyms: bool = True
    rewrite: bool = True
    rerank_depth: int = 20
    # Hotel words in German, French and Spanish put in English (for the English-only model).
    glossary: bool = True
    # The full-text half's weight for a question in another language than English (the
    # ``tsv`` column is English); None: ``text_weight``.
    other_language_text_weight: float | None = None

    def for_language(self, language: str | None) -> SearchOptions:
        """The options for a question in ``language`` (None or "en": these).

        With ``other_language_text_weight`` set (the multilingual model), a question in
        another language is also embedded as written: the spelling and voice-input variants
        are English ("why fi"), and "WLAN" or "checkin" in a German question mean what the
        model already understands."""
        if language in (None, "en") or self.other_language_text_weight is None:
            return self
        return replace(self, text_weight=self.other_language_text_weight, rewrite=False)


@dataclass(frozen=True, slots=True)
class Retrieval:
    """The hits for one question, and what finding them cost (milliseconds)."""

    hits: list[Hit]
    embed_ms: float
    search_ms: float


class QueryEmbedder(Protocol):
    """Embeds one question's text (the micro-batcher, in the service)."""

    async def embed(self, text: str) -> np.ndarray: ...
