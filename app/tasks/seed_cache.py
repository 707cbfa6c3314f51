"""The classifier's shared examples, embedded once per model and kept in the model folder.

Embedding the few hundred examples took most of a start-up with the desk on (several seconds
on two cores). The vectors are written to a file named after the model and the exact texts
embedded (after the retriever's rewriting), and read back at the next start; one example is
embedded again to check the file against the model actually loaded (a re-exported or
quantised model of the same name gives other vectors), and any doubt embeds them all again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from app.files import write_atomically
from app.tasks.classify import Embed

log = logging.getLogger(__name__)

# How far the checked example's new vector may be from the kept one: far above the rounding
# differences of one model between batches, far below what another model gives.
_SAME_VECTOR = 1e-3


class SeedCache:
    """Where the shared examples' vectors are kept for ``model``."""

    def __init__(self, folder: Path, model: str, embedded_form: Callable[[str], str]) -> None:
        self.folder = folder
        self.model = model
        self.embedded_form = embedded_form

    def path(self, texts: Sequence[str]) -> Path:
        digest = hashlib.sha256(self.model.encode())
        for text in texts:
            digest.update(b"\0" + self.embedded_form(text).encode())
        return self.folder / f"classifier-seeds-{digest.hexdigest()[:16]}.npy"

    async def read(self, texts: Sequence[str], embed: Embed) -> np.ndarray | None:
        """The kept vectors of ``texts`` (one row each), or None when there are none or they
        are not the loaded model's."""
        try:
            vectors = np.load(self.path(texts), allow_pickle=False)
        except (OSError, ValueError):
            return None
        if vectors.ndim != 2 or len(vectors) != len(texts) or not len(texts):
            return None
        probe = np.asarray(await embed(texts[0]), dtype=np.float32)
        if probe.shape != vectors[0].shape or not np.allclose(probe, vectors[0], atol=_SAME_VECTOR):
            log.info("the kept classifier example vectors are another model's: embedding again")
            return None
        return np.asarray(vectors, dtype=np.float32)

    def write(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Keep ``vectors`` for the next start (a failure only costs that start the time)."""
        path = self.path(texts)
        values = np.asarray(vectors, dtype=np.float32)
        try:
            write_atomically(path, lambda out: np.save(out, values, allow_pickle=False))
        except OSError as exc:
            log.info("the classifier example vectors could not be kept in %s: %s", path, exc)
