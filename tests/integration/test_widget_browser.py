"""The chat widget in headless Chromium against the real app, database and model.

The app is served by uvicorn in a thread; ``tests/browser/widget_check.mjs`` (playwright-core)
opens the demo page, uses the widget with the keyboard and reports what the guest saw; the
assertions are here. The screenshot lands in ``test-artifacts/widget.png``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.config import Settings
from app.embedding.encoder import Encoder
from app.main import create_app
from tests.serving import browser_check, screenshot_path, served_in_thread

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(settings: Settings, encoder: Encoder, sample_loaded: list[str]) -> Iterator[str]:
    """A real HTTP server for the app (its own services, sharing the test database)."""
    with served_in_thread(create_app(settings, encoder=encoder)) as base:
        yield base


def test_guest_asks_through_the_widget_and_sees_the_answer_and_a_source(served: str) -> None:
    screenshot = screenshot_path("widget.png")
    seen = browser_check("widget_check.mjs", served, str(screenshot))

    # Accessible structure and focus handling.
    assert seen["role"] == "dialog"
    assert seen["controls"] == seen["panelId"]
    assert (seen["expandedBefore"], seen["expandedOpen"], seen["expandedAfter"]) == (
        "false",
        "true",
        "false",
    )
    assert seen["focusInInput"] == "INPUT"
    assert seen["focusAfterClose"] == "launch"

    # The real answer with its cited source, also given to screen readers.
    assert "11:00" in seen["answer"], seen
    assert seen["sources"], seen
    assert any("check" in title.lower() or "question" in title.lower() for title in seen["sources"])
    assert all(snippet.strip() for snippet in seen["snippets"])
    assert seen["live"] == seen["answer"]
    assert screenshot.stat().st_size > 10_000

    # Hand-offs to the front desk: nothing to go on, and the service unavailable.
    assert "front desk" in seen["escalateText"]
    assert seen["escalateHref"] == "tel:+442079460000"
    assert "can't answer right now" in seen["unavailableText"]

    # A streamed answer (text/event-stream) is rendered with its sources.
    assert seen["streamedAnswer"] == "Breakfast is served from 06:30 to 10:30. [1]"
    assert seen["streamedSources"] == ["[1] Breakfast"]

    # One session id per tab and property, sent with every question.
    sessions = {body.get("session_id") for body in seen["asks"]}
    assert sessions == {seen["sessionStored"]}, seen["asks"]
    assert all(body["property_id"] == "harbour-grand" for body in seen["asks"])
    assert seen["pageErrors"] == []

    # Host pages: ids named like Object members still get their widget; only http(s), tel and
    # mailto contact URLs become links.
    hosts = {h["property"]: h for h in seen["hostHandoffs"]}
    assert {p: h["widgets"] for p, h in hosts.items()} == {
        "constructor": 1,
        "__proto__": 1,
        "toString": 1,
        "hasOwnProperty": 1,
    }, hosts
    assert hosts["constructor"]["href"] is None, hosts
    assert hosts["__proto__"]["href"] is None, hosts
    assert hosts["toString"]["href"] == "https://example.com/contact", hosts
    assert hosts["hasOwnProperty"]["href"] == "mailto:desk@example.com", hosts
