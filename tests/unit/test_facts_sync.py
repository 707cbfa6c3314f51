"""A document's facts are read off the event loop, so a large document cannot stall guests."""

from __future__ import annotations

import threading
from typing import Any, cast

import pytest

from app.facts import menu_store
from app.facts import store as facts_store
from app.facts.extract import HoursRow


async def test_facts_are_read_in_a_worker_thread_and_written_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    readers: list[int] = []
    written: list[tuple[str, object]] = []
    real_extract = facts_store.extract_hours

    def extract(chunks: Any) -> list[HoursRow]:
        readers.append(threading.get_ident())
        return real_extract(chunks)

    async def hours_written(conn: Any, property_id: str, doc_key: str, rows: Any) -> None:
        written.append(("hours", [r.facility for r in rows]))

    async def dishes_written(conn: Any, property_id: str, doc_key: str, dishes: Any) -> None:
        written.append(("dishes", len(dishes)))

    monkeypatch.setattr(facts_store, "extract_hours", extract)
    monkeypatch.setattr(facts_store, "sync_document", hours_written)
    monkeypatch.setattr(menu_store, "sync_document", dishes_written)
    text = "The pool is open daily from 06:30 to 22:00."
    await facts_store.sync_facts(cast(Any, None), "p", "pool.md", [("Pool", text, "h1")])
    assert readers
    assert readers[0] != threading.get_ident()
    assert [kind for kind, _ in written] == ["hours", "dishes"]
    assert written[0][1]
