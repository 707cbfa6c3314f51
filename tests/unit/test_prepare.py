"""``python -m app prepare`` leaves the multilingual examples' vectors where the server reads
them, so its first message not in English needs one embedding, not hundreds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from app.config import Settings, classifier_floors
from app.embedding.lazy import LazyEmbedder
from app.prepare import multilingual_seed_cache, prepare_multilingual
from app.tasks.classify import load_examples
from app.tasks.multilingual import Floors, MultilingualSpace
from tests.fakes import HashingEncoder


class Counting(HashingEncoder):
    """The hashing encoder, counting the texts it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def encode(self, texts: object) -> np.ndarray:
        assert isinstance(texts, list | tuple)
        self.texts += len(texts)
        return super().encode(texts)


def test_prepared_vectors_let_the_server_load_the_space_with_one_embedding(
    tmp_path: Path,
) -> None:
    settings = Settings(model_cache_dir=tmp_path)
    before = Counting()
    prepared = asyncio.run(prepare_multilingual(settings, LazyEmbedder(lambda: before)))
    seeds = load_examples()
    assert prepared.path is not None
    assert prepared.path.exists()
    assert before.texts >= len(seeds)  # every example embedded (plus the cache's probe)

    after = Counting()  # the server's start: a new process with the same model
    lazy = LazyEmbedder(lambda: after)

    async def first_message() -> MultilingualSpace:
        cache = multilingual_seed_cache(settings)
        space = MultilingualSpace(lazy.embed, seeds, Floors(*classifier_floors("e5")), cache)
        assert await space.load(None)
        await space.close()
        return space

    space = asyncio.run(first_message())
    lazy.close()
    assert space.ready
    assert after.texts == 1  # only the check that the kept vectors are this model's


def test_nothing_is_prepared_where_the_server_would_not_use_the_model(tmp_path: Path) -> None:
    encoder = Counting()
    for settings in (
        Settings(model_cache_dir=tmp_path, classifier_multilingual="off"),
        Settings(model_cache_dir=tmp_path, embedding_model="e5"),
        Settings(model_cache_dir=tmp_path, requests_enabled=False),
    ):
        prepared = asyncio.run(prepare_multilingual(settings, LazyEmbedder(lambda: encoder)))
        assert prepared.path is None
    assert encoder.texts == 0
    assert not list(tmp_path.glob("classifier-seeds-*"))


def test_a_model_that_cannot_load_fails_the_command(tmp_path: Path) -> None:
    def broken() -> HashingEncoder:
        raise RuntimeError("the engine's library is missing")

    with pytest.raises(RuntimeError, match="could not be computed"):
        asyncio.run(prepare_multilingual(Settings(model_cache_dir=tmp_path), LazyEmbedder(broken)))
