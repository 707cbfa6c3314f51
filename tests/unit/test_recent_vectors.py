"""The recent question vectors: a text embedded lately is not embedded again; bounded."""

from __future__ import annotations

import numpy as np
import pytest

from app.embedding.recent import RecentVectors


class CountingEmbedder:
    def __init__(self) -> None:
        self.texts: list[str] = []

    async def embed(self, text: str) -> np.ndarray:
        self.texts.append(text)
        return np.array([float(len(text)), 1.0], dtype=np.float32)


async def test_a_text_embedded_lately_is_answered_from_memory() -> None:
    source = CountingEmbedder()
    recent = RecentVectors(source.embed)
    first = await recent.embed("where can I park?")
    again = await recent.embed("where can I park?")
    assert source.texts == ["where can I park?"]
    assert again is first
    assert recent.hits == 1
    with pytest.raises(ValueError, match="read-only"):
        first[0] = 0.0  # shared by every caller: nobody may change it


async def test_the_least_recently_used_text_goes_first_past_the_bound() -> None:
    source = CountingEmbedder()
    recent = RecentVectors(source.embed, max_entries=2)
    await recent.embed("a")
    await recent.embed("b")
    await recent.embed("a")  # "b" is now the least recently used
    await recent.embed("c")
    assert len(recent) == 2
    await recent.embed("a")
    await recent.embed("b")
    assert source.texts == ["a", "b", "c", "b"]
