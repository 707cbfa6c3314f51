"""The shadow runner's writer matches words by meaning as the live writer does."""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from app.answering.meanings import WordVectors
from app.config import Settings
from app.rag.shadow import open_shadow

WORDS = WordVectors(["reservation", "booking"], np.eye(2, dtype=np.float32))


async def _embed(text: str) -> np.ndarray:
    return np.zeros(2, dtype=np.float32)


async def test_the_shadow_writer_is_given_the_live_word_vectors() -> None:
    settings = Settings(shadow_share=0.5)
    nothing = cast(Any, None)
    async with open_shadow(settings, nothing, nothing, "live", _embed, WORDS) as shadow:
        assert shadow is not None
        assert shadow._writer._meanings is WORDS  # type: ignore[attr-defined]


async def test_without_a_share_there_is_no_shadow() -> None:
    nothing = cast(Any, None)
    async with open_shadow(Settings(shadow_share=0), nothing, nothing, "live", _embed) as shadow:
        assert shadow is None
