"""Batch embedding for ingestion: batching, counting, pacing, and the lazily loaded model."""

from __future__ import annotations

import pytest

from app.errors import SchemaMismatch
from ingestion.embedder import BatchEmbedder, LazyEncoder
from tests.fakes import HashingEncoder


async def test_batches_are_bounded_and_counted() -> None:
    encoder = HashingEncoder()
    embedder = BatchEmbedder(encoder, batch_size=4)
    vectors = await embedder.embed([f"text {i}" for i in range(10)])
    assert vectors.shape == (10, 384)
    assert encoder.calls == [4, 4, 2]
    assert embedder.embedded == 10
    assert (await embedder.embed([])).shape == (0, 384)
    embedder.close()


def test_duty_cycle_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="duty"):
        BatchEmbedder(HashingEncoder(), duty=0)


def test_lazy_encoder_loads_the_model_on_first_use_only() -> None:
    loads: list[int] = []

    def load() -> HashingEncoder:
        loads.append(1)
        return HashingEncoder()

    lazy = LazyEncoder("m", 384, 256, load)
    assert (lazy.name, lazy.dim, lazy.max_tokens, loads) == ("m", 384, 256, [])
    lazy.encode(["a"])
    lazy.encode(["b"])
    assert loads == [1]
    with pytest.raises(SchemaMismatch, match="768-d"):
        LazyEncoder("m", 384, 256, lambda: HashingEncoder(768)).encode(["a"])
