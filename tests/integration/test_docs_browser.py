"""/docs and /redoc render in headless Chromium with every request off the server blocked:
their scripts are served by the app, not a CDN."""

from __future__ import annotations

import pytest

from tests.integration.test_widget_browser import served
from tests.serving import browser_check

pytestmark = [pytest.mark.integration, pytest.mark.slow]

__all__ = ["served"]


def test_docs_render_with_no_network(served: str) -> None:
    seen = browser_check("docs_check.mjs", served, timeout=120)
    assert seen["blocked"] == []  # nothing was fetched from outside
    assert seen["pageErrors"] == []
    assert seen["title"].startswith("Hotel Concierge API")
    assert seen["operations"] >= 10
    assert seen["authorize"] == 1  # the bearer scheme is declared
    assert seen["redocTitle"].startswith("Hotel Concierge API")
    assert seen["redocOperations"] >= 10
