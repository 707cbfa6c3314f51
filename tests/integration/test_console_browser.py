"""The staff console and the widget in headless Chromium against the real app and database:
a guest's request becomes a task that appears live in the console (another browser
context), is acknowledged there, and the guest's session sees the new status."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from app.config import Settings
from app.embedding.encoder import Encoder
from app.main import create_app
from tests.serving import browser_check, screenshot_path, served_in_thread

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "console-browser-test-token"


@pytest.fixture(scope="module")
def served(settings: Settings, encoder: Encoder, sample_loaded: list[str]) -> Iterator[str]:
    app = create_app(settings.model_copy(update={"admin_token": SecretStr(TOKEN)}), encoder=encoder)
    with served_in_thread(app) as base:
        yield base


def test_a_guest_request_reaches_the_console_live_and_the_guest_sees_it_acknowledged(
    served: str,
) -> None:
    screenshot = screenshot_path("console.png")
    seen = browser_check("console_check.mjs", served, TOKEN, str(screenshot))

    assert seen["focusAtStart"] == "token"
    assert seen["loginHidden"] is True
    assert seen["ref"].startswith("R-")
    assert seen["ref"] in seen["guestReply"]
    assert seen["guestStatusBefore"] == "received"
    assert "towels" in seen["consoleText"]
    assert "room 412" in seen["consoleText"]
    assert seen["consoleStatus"] == "acknowledged"
    assert seen["guestStatusAfter"] == "on its way"
    assert seen["feedback"]["rating"] == "down"
    assert seen["feedback"]["question"] == "What time is check-out?"
    assert seen["downPressed"] == "true"
    assert screenshot.stat().st_size > 10_000
    assert seen["pageErrors"] == []
