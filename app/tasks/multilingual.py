"""A second example space, in a multilingual model, for messages not in English.

The English-only model (MiniLM) places a German towel request by its language more than by
what it asks, and misses German, French and Spanish requests and emergencies. A message the
language detector reads as another language (:meth:`MultilingualSpace.takes`) is therefore
embedded by the multilingual model and compared with the examples embedded by that model,
centred on their languages in its space and judged with the floors measured for it. English
messages never reach this module.

Nothing is loaded before the first such message. That message starts the load (the model,
then the examples' vectors, kept between starts by :class:`SeedCache`) and waits for it at
most ``wait_s``; a message that finds it still loading is classified by the main model, as
it would be without this space. A property's own examples are embedded at the first such
message of the property, which waits for them within the same bound (and is judged among
the shared examples alone if they take longer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app import languages
from app.tasks.centres import Centres
from app.tasks.classify import Embed, ExampleIndex, fit_centres, language_of
from app.tasks.rules import Label
from app.tasks.seed_cache import SeedCache

log = logging.getLogger(__name__)

_EMBED_AT_ONCE = 16  # examples in the model's queue at a time


@dataclass(frozen=True, slots=True)
class Floors:
    """The similarity floors of the vote (see :func:`app.tasks.classify.decide`)."""

    min_similarity: float
    safety_similarity: float
    task_similarity: float
    safety_margin: float = 0.03


@dataclass(frozen=True, slots=True)
class Placed:
    """A message's centred vector in the multilingual space and the indexes to vote over."""

    vector: np.ndarray
    indexes: list[ExampleIndex]
    floors: Floors


class MultilingualSpace:
    """The shared and the properties' examples in the multilingual model's space."""

    def __init__(
        self,
        embed: Embed,
        seeds: Sequence[tuple[str, Label]],
        floors: Floors,
        seed_cache: SeedCache | None = None,
        wait_s: float = 2.0,
    ) -> None:
        self._embed = embed
        self._seed_examples = list(seeds)
        self.floors = floors
        self._seed_cache = seed_cache
        self.wait_s = wait_s
        self._loading: asyncio.Task[None] | None = None
        self._failed = False
        self._centres = Centres(np.zeros((0, 1), np.float32))
        self._seeds: ExampleIndex | None = None
        self._property_examples: dict[str, list[tuple[str, Label]]] = {}
        self._properties: dict[str, ExampleIndex] = {}
        self._building: dict[str, asyncio.Task[None]] = {}

    @property
    def ready(self) -> bool:
        return self._seeds is not None

    @property
    def failed(self) -> bool:
        """Whether the model could not be loaded (it is not tried again)."""
        return self._failed

    @staticmethod
    def takes(text: str) -> bool:
        """Whether the detector finds ``text`` likely in a language other than English."""
        return language_of(text) != languages.DEFAULT

    def set_property(self, property_id: str, examples: Sequence[tuple[str, Label]]) -> None:
        """A property's own examples (embedded at its first message in another language)."""
        self._property_examples[property_id] = list(examples)
        self._properties.pop(property_id, None)
        building = self._building.pop(property_id, None)
        if building is not None:
            building.cancel()

    async def place(self, property_id: str, text: str) -> Placed | None:
        """``text`` in this space, or None while it is not loaded (or cannot be)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        if not await self.load(self.wait_s):
            return None
        assert self._seeds is not None
        if property_id not in self._properties and self._property_examples.get(property_id):
            building = self._building.get(property_id)
            if building is None:
                building = asyncio.create_task(self._build(property_id))
                self._building[property_id] = building
            await asyncio.wait({building}, timeout=max(0.0, deadline - loop.time()))
        try:
            vector = self._centres.apply(await self._embed(text))
        except RuntimeError:  # the model is closed or failed: the main model classifies
            return None
        indexes = [self._seeds]
        own = self._properties.get(property_id)
        if own is not None:
            indexes.append(own)
        return Placed(vector, indexes, self.floors)

    async def load(self, wait_s: float | None = None) -> bool:
        """Start loading (once) and wait for it, at most ``wait_s``; whether it is loaded."""
        if self._seeds is not None:
            return True
        if self._failed:
            return False
        if self._loading is None or self._loading.done():
            self._loading = asyncio.create_task(self._load())
        await asyncio.wait({self._loading}, timeout=wait_s)  # neither raises nor cancels
        return self._seeds is not None

    async def _load(self) -> None:
        texts = [text for text, _ in self._seed_examples]
        try:
            kept = None
            if self._seed_cache is not None:
                kept = await self._seed_cache.read(texts, self._embed)
            raw = kept if kept is not None else await self._vectors(texts)
        except RuntimeError as exc:  # the model could not be loaded: not tried again
            log.warning("messages not in English stay on the main model: %s", exc)
            self._failed = True
            return
        except Exception as exc:  # a full queue, say: the next such message tries again
            log.warning("the multilingual examples could not be embedded yet: %s", exc)
            return
        if kept is None and self._seed_cache is not None:
            await asyncio.to_thread(self._seed_cache.write, texts, raw)
        centres = await asyncio.to_thread(fit_centres, texts, raw)
        self._centres = centres
        self._seeds = ExampleIndex(centres.apply(raw), [label for _, label in self._seed_examples])

    async def _build(self, property_id: str) -> None:
        examples = self._property_examples.get(property_id, [])
        try:
            raw = await self._vectors([text for text, _ in examples])
        except Exception as exc:  # the shared examples still serve this property
            log.warning("a property's examples could not be embedded: %s", exc)
            return
        finally:
            if self._building.get(property_id) is asyncio.current_task():
                del self._building[property_id]
        if self._property_examples.get(property_id) is examples:
            labels = [label for _, label in examples]
            self._properties[property_id] = ExampleIndex(self._centres.apply(raw), labels)

    async def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        # A few at a time: the model's queue is bounded and shared with guests' messages.
        vectors: list[np.ndarray] = []
        for start in range(0, len(texts), _EMBED_AT_ONCE):
            part = texts[start : start + _EMBED_AT_ONCE]
            vectors += await asyncio.gather(*(self._embed(text) for text in part))
        return np.vstack(vectors) if vectors else np.zeros((0, 1), np.float32)

    async def close(self) -> None:
        """Stop loading and embedding examples."""
        pending = [t for t in (self._loading, *self._building.values()) if t is not None]
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
