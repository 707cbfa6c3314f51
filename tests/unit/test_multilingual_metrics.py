"""/metrics counts the messages not in English by the space that judged them, and the
multilingual model's failed loads."""

from __future__ import annotations

import asyncio

import numpy as np

from app.embedding.lazy import LazyEmbedder
from app.tasks.classify import MessageClassifier
from app.tasks.multilingual import MultilingualSpace
from app.tasks.stats import TaskStats
from tests.fakes import HashingEncoder
from tests.unit.test_multilingual_classify import (
    ENGLISH_REQUEST,
    FLOORS,
    GERMAN_REQUEST,
    SEEDS,
    Recording,
)

FRENCH_REQUEST = "Pourriez-vous monter deux serviettes dans notre chambre, s'il vous plaît ?"


def _samples(stats: TaskStats) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for family in stats.families():
        if family.name.startswith("concierge_multilingual"):
            for sample in family.samples:
                out[(sample.name, sample.labels.get("space", ""))] = sample.value
    return out


async def _classifier(
    second: Recording | LazyEmbedder, stats: TaskStats, wait_s: float = 5.0
) -> tuple[MessageClassifier, MultilingualSpace]:
    embed = second.embed if isinstance(second, LazyEmbedder) else second
    space = MultilingualSpace(embed, SEEDS, FLOORS, wait_s=wait_s, stats=stats)
    classifier = MessageClassifier(Recording(), min_similarity=0.1, multilingual=space)
    await classifier.load_seeds(SEEDS)
    return classifier, space


def test_messages_judged_in_the_multilingual_space_are_counted_and_english_ones_not() -> None:
    stats = TaskStats()

    async def scenario() -> None:
        classifier, _ = await _classifier(Recording(), stats)
        for text in (GERMAN_REQUEST, FRENCH_REQUEST, ENGLISH_REQUEST):
            await classifier.classify("p", text)

    asyncio.run(scenario())
    got = _samples(stats)
    assert got[("concierge_multilingual_messages_total", "multilingual")] == 2
    assert got[("concierge_multilingual_messages_total", "main_loading")] == 0
    assert got[("concierge_multilingual_messages_total", "main_unavailable")] == 0
    assert got[("concierge_multilingual_load_failures_total", "")] == 0


def test_messages_judged_by_the_main_model_while_loading_are_counted_apart() -> None:
    stats = TaskStats()
    release = asyncio.Event()

    class Slow(Recording):
        async def __call__(self, text: str) -> np.ndarray:
            await release.wait()
            return await super().__call__(text)

    async def scenario() -> None:
        classifier, space = await _classifier(Slow(), stats, wait_s=0.0)
        await classifier.classify("p", GERMAN_REQUEST)
        release.set()
        assert await space.load()
        await classifier.classify("p", FRENCH_REQUEST)

    asyncio.run(scenario())
    got = _samples(stats)
    assert got[("concierge_multilingual_messages_total", "main_loading")] == 1
    assert got[("concierge_multilingual_messages_total", "multilingual")] == 1


def test_a_model_that_cannot_load_counts_one_failure_and_each_message_on_the_main_model() -> None:
    stats = TaskStats()

    def broken() -> HashingEncoder:
        raise RuntimeError("the e5 extra is not installed")

    async def scenario() -> None:
        classifier, _ = await _classifier(LazyEmbedder(broken), stats)
        for text in (GERMAN_REQUEST, FRENCH_REQUEST):
            await classifier.classify("p", text)

    asyncio.run(scenario())
    got = _samples(stats)
    assert got[("concierge_multilingual_messages_total", "main_unavailable")] == 2
    assert got[("concierge_multilingual_messages_total", "multilingual")] == 0
    assert got[("concierge_multilingual_load_failures_total", "")] == 1
