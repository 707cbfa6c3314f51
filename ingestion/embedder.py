"""Batch embedding for ingestion, off the event loop, optionally paced to leave CPU to guests.

The staff command embeds in big batches as fast as the model allows. Inside a running server
the same code runs with small batches on its own thread and a duty cycle: after a batch that
took ``t`` seconds it rests ``t * (1 - duty) / duty``, so guest questions (embedded by the
server's own batcher thread) always find a free core soon.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from app.embedding.encoder import Encoder
from app.errors import SchemaMismatch

T = TypeVar("T")


class BatchEmbedder:
    """Embeds lists of texts in batches of ``batch_size`` on one dedicated thread."""

    def __init__(
        self,
        encoder: Encoder,
        batch_size: int = 64,
        duty: float = 1.0,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        if not 0 < duty <= 1:
            raise ValueError("duty must be in (0, 1]")
        self.encoder = encoder
        self.batch_size = batch_size
        self.duty = duty
        self.on_batch = on_batch
        self.embedded = 0  # texts actually run through the model (tests count it)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="ingest-embedder")

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts`` in order, shape ``(len(texts), dim)``."""
        if not texts:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        loop = asyncio.get_running_loop()
        parts = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            began = time.perf_counter()
            parts.append(await loop.run_in_executor(self._executor, self.encoder.encode, batch))
            took = time.perf_counter() - began
            self.embedded += len(batch)
            if self.on_batch is not None:
                self.on_batch(len(batch))
            if self.duty < 1:
                await asyncio.sleep(took * (1 - self.duty) / self.duty)
        return np.concatenate(parts).astype(np.float32, copy=False)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the embedding thread (chunking uses the tokenizer, which is not shared)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


class LazyEncoder:
    """An encoder that loads the model on the first ``encode`` call.

    A staff command over an unchanged folder then finishes without loading the model at all.
    ``dim`` comes from the schema and is checked against the model once it is loaded.
    """

    device = "lazy"

    def __init__(self, name: str, dim: int, max_tokens: int, load: Callable[[], Encoder]) -> None:
        self.name = name
        self.dim = dim
        self.max_tokens = max_tokens
        self._load = load
        self._encoder: Encoder | None = None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._encoder is None:
            encoder = self._load()
            if encoder.dim != self.dim:
                raise SchemaMismatch(
                    f"the model produces {encoder.dim}-d vectors but chunks.embedding has "
                    f"{self.dim}: add a migration for the new size"
                )
            self._encoder = encoder
            self.device = encoder.device
        return self._encoder.encode(texts)


def model_max_tokens(model_path: Path, default: int = 256) -> int:
    """The model's token window from its sentence-transformers config, without loading it."""
    try:
        config = json.loads((model_path / "sentence_bert_config.json").read_text())
        return int(config.get("max_seq_length") or default)
    except (OSError, ValueError):
        return default
