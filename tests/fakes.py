"""Deterministic stand-ins for the model, for tests that exercise everything but the model."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")


class HashingEncoder:
    """Bag of hashed words, L2-normalised: texts sharing words get similar vectors."""

    name = "hashing-test-encoder"
    device = "cpu"
    max_tokens = 256

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else 1.0 / np.sqrt(self.dim)
        return out


def word_count(text: str) -> int:
    """A token counter for chunking tests that need no tokenizer: one token per word, +2."""
    return len(text.split()) + 2
