"""The vectors of the last questions embedded, so one question is embedded once per request.

A guest's message is embedded by the front desk's classifier and, when it is an information
question, again by the retriever a few milliseconds later, with the same text. This keeps the
last ``max_entries`` vectors (least recently used out first) in front of the micro-batcher;
it is touched only from the event loop.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

import numpy as np

EmbedFn = Callable[[str], Awaitable[np.ndarray]]


class RecentVectors:
    """``embed`` through ``source``, answering a text embedded lately from memory."""

    def __init__(self, source: EmbedFn, max_entries: int = 1024) -> None:
        self._source = source
        self._max = max_entries
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = 0

    def __len__(self) -> int:
        return len(self._vectors)

    async def embed(self, text: str) -> np.ndarray:
        vector = self._vectors.get(text)
        if vector is not None:
            self._vectors.move_to_end(text)
            self.hits += 1
            return vector
        vector = await self._source(text)
        vector.flags.writeable = False  # shared by every caller of this text
        self._vectors[text] = vector
        if len(self._vectors) > self._max:
            self._vectors.popitem(last=False)
        return vector
