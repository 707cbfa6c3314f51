"""/docs and /redoc render in headless Chromium with every request off the server blocked:
their scripts are served by the app, not a CDN."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from app.config import PROJECT_ROOT
from tests.integration.test_widget_browser import CHROMIUM, served

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRIPT = PROJECT_ROOT / "tests" / "browser" / "docs_check.mjs"
__all__ = ["served"]


def test_docs_render_with_no_network(served: str) -> None:
    node = shutil.which("node")
    if node is None or not CHROMIUM.exists():
        pytest.skip(f"needs node and Chromium at {CHROMIUM} (scripts/setup installs them)")
    if not (PROJECT_ROOT / "node_modules" / "playwright-core").is_dir():
        pytest.skip("needs playwright-core in node_modules (scripts/setup runs npm ci)")
    run = subprocess.run(
        [node, str(SCRIPT), served],
        cwd=PROJECT_ROOT,
        env={**os.environ, "CHROMIUM_PATH": str(CHROMIUM)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["blocked"] == []  # nothing was fetched from outside
    assert seen["pageErrors"] == []
    assert seen["title"].startswith("Hotel Concierge API")
    assert seen["operations"] >= 10
    assert seen["authorize"] == 1  # the bearer scheme is declared
    assert seen["redocTitle"].startswith("Hotel Concierge API")
    assert seen["redocOperations"] >= 10
