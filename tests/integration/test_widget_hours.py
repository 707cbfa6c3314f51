"""The widget in headless Chromium asks "Is the pool open now?" with the clock pinned by
``RAG_FIXED_CLOCK`` and shows the answer for the hotel's local time, with its source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from app.config import Settings
from app.embedding.encoder import Encoder
from app.main import create_app
from tests.serving import browser_check, served_in_thread

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def served_at_20_15(
    settings: Settings, encoder: Encoder, sample_loaded: list[str]
) -> Iterator[str]:
    """The app with its clock pinned at 20:15 in Rome (18:15 UTC, summer time)."""
    pinned = settings.model_copy(update={"fixed_clock": datetime(2026, 7, 1, 18, 15, tzinfo=UTC)})
    with served_in_thread(create_app(pinned, encoder=encoder)) as base:
        yield base


def test_guest_asks_whether_the_pool_is_open_now(served_at_20_15: str) -> None:
    seen = browser_check("widget_hours.mjs", served_at_20_15, timeout=120)
    assert seen["answer"].startswith(
        "Yes — the pool is open until 22:00 today; it is 20:15 now. ["
    ), seen
    assert any("06:30 to 22:00" in s for s in seen["snippets"]), seen
