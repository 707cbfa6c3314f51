"""A second encoder loaded on its first use and run on its own micro-batcher thread.

The front desk's classifier turns to the multilingual model only for messages that are not in
English; a hotel whose guests all write English never loads it. The first call loads the
model on a worker thread (never on the event loop) and starts a :class:`MicroBatcher` for it,
so the model then runs like the main one: a bounded queue and one dedicated thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import numpy as np

from app.config import Settings
from app.embedding.batcher import MicroBatcher
from app.embedding.encoder import Encoder, close_encoder, query_encoder

log = logging.getLogger(__name__)


class LazyEmbedder:
    """``embed`` with the encoder ``load`` returns, loaded at the first call.

    A load that fails is not tried again: every later call raises :class:`RuntimeError` at
    once, so a missing optional model costs one log line, not a load per message."""

    def __init__(
        self,
        load: Callable[[], Encoder],
        *,
        max_batch: int = 32,
        max_queue: int = 256,
        retry_after_s: int = 1,
        thread_nice: int = 0,
    ) -> None:
        self._load = load
        self._thread_nice = thread_nice
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._retry_after_s = retry_after_s
        self._batcher: MicroBatcher | None = None
        self._encoder: Encoder | None = None
        self._failed: str | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self.name: str | None = None

    @property
    def loaded(self) -> bool:
        return self._batcher is not None

    async def embed(self, text: str) -> np.ndarray:
        """The query vector of ``text`` (loading the model first if this is the first call)."""
        batcher = self._batcher or await self._start()
        return await batcher.embed(text)

    async def _start(self) -> MicroBatcher:
        async with self._lock:
            if self._batcher is not None:
                return self._batcher
            if self._closed:
                raise RuntimeError("the encoder is closed")
            if self._failed is not None:
                raise RuntimeError(self._failed)
            try:
                encoder = await asyncio.to_thread(self._load)
            except Exception as exc:  # a missing extra or a broken install: not retried
                self._failed = f"the encoder could not be loaded: {exc}"
                log.warning("%s", self._failed)
                raise RuntimeError(self._failed) from exc
            if self._closed:  # closed while loading: no thread is left running
                raise RuntimeError("the encoder is closed")
            batcher = MicroBatcher(
                query_encoder(encoder),
                max_batch=self._max_batch,
                max_queue=self._max_queue,
                retry_after_s=self._retry_after_s,
                thread_nice=self._thread_nice,
            )
            batcher.start()
            self.name = encoder.name
            self._encoder, self._batcher = encoder, batcher
            log.info("embedding model %s loaded for the message classifier", encoder.name)
            return batcher

    def close(self) -> None:
        """Finish the queued texts and stop the model's threads (blocks: call off the loop)."""
        self._closed = True
        if self._batcher is not None:
            self._batcher.close()
        close_encoder(self._encoder)


def multilingual_embedder(settings: Settings) -> LazyEmbedder:
    """multilingual-e5-small (:mod:`app.embedding.e5_encoder`), loaded at the first call."""

    def load() -> Encoder:
        from app.embedding.e5_encoder import E5Encoder

        return E5Encoder(
            settings.model_threads,
            runs_at_once=settings.model_runs_at_once,
            nice=settings.model_nice,
        )

    return LazyEmbedder(
        load,
        max_batch=settings.batch_max_size,
        max_queue=settings.batch_queue_size,
        retry_after_s=settings.retry_after_s,
        thread_nice=settings.model_nice,
    )
