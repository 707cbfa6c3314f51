"""Pauses of the full (oldest generation) garbage collections while the extractive writer
answers questions over mostly new chunks, as under the bench's uncached phase.

Chunk texts are made the way ``scripts/bench`` makes its corpus; each question is answered
over ``--sources`` chunks drawn at random, so the writer's per-text caches fill and turn
over. Prints the count and the pauses of the full collections, the objects the collector
tracks at the end, and the CPU time per question.

    PYTHONPATH=scripts .venv/bin/python scripts/gc_pauses.py [--questions 4000]
"""

from __future__ import annotations

import argparse
import gc
import random
import time

from benchlib.corpus_text import TOPICS, questions, sentence_pool

from app.answering import meanings
from app.answering.types import Source
from app.answering.writers import extractive_writer
from app.config import Settings
from app.embedding.encoder import load_encoder, vectors_identity
from app.search.types import Hit


def chunk_texts(count: int, seed: int = 7) -> list[str]:
    pool = sentence_pool(200, seed=seed)
    names = list(pool)
    rng = random.Random(seed)
    texts = []
    for i in range(count):
        sentences = pool[names[i % len(names)]]
        picked = rng.sample(sentences, min(len(sentences), rng.randint(2, 4)))
        picked += [rng.choice(pool[rng.choice(names)]) for _ in range(rng.randint(1, 3))]
        texts.append(" ".join(picked))
    return texts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=4000)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--sources", type=int, default=5)
    parser.add_argument("--warm-up", type=int, default=500)
    parser.add_argument("--gen0", type=int, help="the youngest generation's threshold")
    args = parser.parse_args()
    if args.gen0 is not None:
        gc.set_threshold(args.gen0, *gc.get_threshold()[1:])

    settings = Settings()
    words = None
    if settings.answer_meaning_threshold is not None:
        identity = vectors_identity(load_encoder(settings))
        words = meanings.read(settings.model_cache_dir, identity)
    writer = extractive_writer(settings, words)
    texts = chunk_texts(args.chunks)
    rng = random.Random(3)
    asked = questions([f"p{i}" for i in range(50)], seed=11)
    headings = [h for heads, _, _ in TOPICS.values() for h in heads]

    def ask() -> None:
        _, question = next(asked)
        sources = [
            Source(
                n + 1,
                Hit(n, "doc", "Title", rng.choice(headings), rng.choice(texts),
                    rng.uniform(0.35, 0.8)),
            )
            for n in range(args.sources)
        ]  # fmt: skip
        writer.compose(question, sources)

    for _ in range(args.warm_up):
        ask()
    pauses: list[float] = []
    began = [0.0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            pauses.append((time.perf_counter() - began[0]) * 1000)

    gc.callbacks.append(watch)
    cpu = time.process_time()
    wall = time.perf_counter()
    for _ in range(args.questions):
        ask()
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    gc.callbacks.remove(watch)
    pauses.sort()

    def pick(q: float) -> float:
        return pauses[min(len(pauses) - 1, int(q * len(pauses)))] if pauses else 0.0

    print(
        f"questions {args.questions} in {wall:.1f}s; cpu {cpu / args.questions * 1000:.2f} ms "
        f"per question; full collections {len(pauses)}; pause p50 {pick(0.5):.1f} ms, "
        f"p99 {pick(0.99):.1f} ms, max {max(pauses, default=0.0):.1f} ms; tracked objects "
        f"{len(gc.get_objects())}; thresholds {gc.get_threshold()}"
    )


if __name__ == "__main__":
    main()
