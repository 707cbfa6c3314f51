"""A staff check's questions count as arriving one by one, not when the check began."""

from __future__ import annotations

import time
from typing import Any

from app.db.turns import arrived
from app.rag.batch import answer_all
from app.rag.types import AskResult


class _Registry:
    async def get(self, property_id: str) -> object:
        return object()


class _Rag:
    """Records, at each question, the arrival its database searches would be ordered by."""

    desk = None

    def __init__(self) -> None:
        self.registry = _Registry()
        self.seen: list[float | None] = []

    async def ask(self, property_id: str, question: str, top_k: int, desk: bool) -> Any:
        self.seen.append(arrived.get())
        result = AskResult(question, (), (), False, "extractive", property_id, 1, 1, 0, 0, 0)
        return result, None


async def test_each_question_of_a_check_arrives_when_its_turn_comes() -> None:
    rag = _Rag()
    began = time.monotonic()
    request = arrived.set(began - 30.0)  # the check's request arrived long ago
    try:
        before = time.monotonic()
        answers = await answer_all(rag, "p", ["one", "two", "three"], 5, 5.0, 10.0)  # type: ignore[arg-type]
        after = time.monotonic()
        assert [a.answer for a in answers] == ["one", "two", "three"]
        assert all(seen is not None and before <= seen <= after for seen in rag.seen)
        assert rag.seen == sorted(rag.seen)  # type: ignore[type-var]
        assert arrived.get() == began - 30.0  # the request's own arrival is back
    finally:
        arrived.reset(request)
