"""The classifier's shared example vectors, kept between starts and checked against the model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from app.tasks.seed_cache import SeedCache

TEXTS = ["I need more towels", "Where is the pool?", "Help, fire!"]


def _vector(text: str, offset: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(sum(map(ord, text)))
    vector = rng.standard_normal(8).astype(np.float32) + offset
    return vector / np.linalg.norm(vector)


def test_kept_vectors_are_read_back_for_the_same_model_and_texts(tmp_path: Path) -> None:
    cache = SeedCache(tmp_path, "model-a", str.lower)
    vectors = np.vstack([_vector(t.lower()) for t in TEXTS])
    calls: list[str] = []

    async def embed(text: str) -> np.ndarray:
        calls.append(text)
        return _vector(text.lower())

    assert asyncio.run(cache.read(TEXTS, embed)) is None  # nothing kept yet
    cache.write(TEXTS, vectors)
    kept = asyncio.run(cache.read(TEXTS, embed))
    assert kept is not None
    np.testing.assert_array_equal(kept, vectors)
    assert calls == [TEXTS[0]]  # only the check embeds
    # Another model, or other texts embedded, is another file.
    assert asyncio.run(SeedCache(tmp_path, "model-b", str.lower).read(TEXTS, embed)) is None
    assert asyncio.run(SeedCache(tmp_path, "model-a", str.upper).read(TEXTS, embed)) is None
    assert asyncio.run(cache.read(TEXTS[:2], embed)) is None


def test_vectors_of_another_model_under_the_same_name_are_embedded_again(tmp_path: Path) -> None:
    cache = SeedCache(tmp_path, "model-a", str)
    cache.write(TEXTS, np.vstack([_vector(t) for t in TEXTS]))

    async def other_model(text: str) -> np.ndarray:
        return _vector(text, offset=0.3)

    assert asyncio.run(cache.read(TEXTS, other_model)) is None


def test_a_folder_that_cannot_be_written_is_only_logged(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = SeedCache(blocker / "models", "model-a", str)
    cache.write(TEXTS, np.zeros((3, 8), np.float32))  # no exception

    async def embed(text: str) -> np.ndarray:
        return np.zeros(8, np.float32)

    assert asyncio.run(cache.read(TEXTS, embed)) is None
