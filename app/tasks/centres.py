"""Language centres: take out of a message vector what only says which language it is in.

Sentences of one language sit close together in an embedding space whatever they mean: in
an English-only model (MiniLM) any two Spanish sentences look alike, and a multilingual
model (e5) has a large common component too. Subtracting the mean vector of the labelled
examples of the message's own language, then normalising again, leaves what the message is
about, so a Spanish towel request is no longer near a Spanish medical example.

The examples' languages are only needed to build the centres; a message is given the centre
it is nearest to, so the hot path runs no language detector (a few dot products).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MIN_MEMBERS = 3  # a language with fewer examples has no centre of its own


class Centres:
    """Mean example vectors, one per language; ``apply`` centres and re-normalises vectors."""

    def __init__(self, means: np.ndarray) -> None:
        self.means = np.asarray(means, dtype=np.float32)
        norms = np.linalg.norm(self.means, axis=1, keepdims=True) if len(self.means) else 1.0
        self._directions = self.means / np.maximum(norms, 1e-12)

    def __len__(self) -> int:
        return len(self.means)

    @classmethod
    def fit(cls, vectors: np.ndarray, languages: Sequence[str]) -> Centres:
        """One centre per language with at least ``MIN_MEMBERS`` examples."""
        if len(vectors) != len(languages):
            raise ValueError("one language per vector")
        groups: dict[str, list[int]] = {}
        for i, language in enumerate(languages):
            groups.setdefault(language, []).append(i)
        means = [
            np.asarray(vectors, dtype=np.float32)[rows].mean(axis=0)
            for _, rows in sorted(groups.items())
            if len(rows) >= MIN_MEMBERS
        ]
        dim = vectors.shape[1] if vectors.ndim == 2 else 0
        return cls(np.vstack(means) if means else np.zeros((0, dim), np.float32))

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Each vector less its nearest centre, at unit length (unchanged without centres)."""
        matrix = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if not len(self.means) or matrix.shape[1] != self.means.shape[1]:
            return np.asarray(vectors, dtype=np.float32)
        nearest = np.argmax(matrix @ self._directions.T, axis=1)
        centred = matrix - self.means[nearest]
        centred /= np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)
        result: np.ndarray = centred if np.ndim(vectors) == 2 else centred[0]
        return result
