"""The widget in headless Chromium asks "Is the pool open now?" with the clock pinned by
``RAG_FIXED_CLOCK`` and shows the answer for the hotel's local time, with its source."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import uvicorn

from app.config import PROJECT_ROOT, Settings
from app.embedding.encoder import Encoder
from app.main import create_app
from tests.integration.test_widget_browser import CHROMIUM, _free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SCRIPT = PROJECT_ROOT / "tests" / "browser" / "widget_hours.mjs"


@pytest.fixture(scope="module")
def served_at_20_15(
    settings: Settings, encoder: Encoder, sample_loaded: list[str]
) -> Iterator[str]:
    """The app with its clock pinned at 20:15 in Rome (18:15 UTC, summer time)."""
    pinned = settings.model_copy(update={"fixed_clock": datetime(2026, 7, 1, 18, 15, tzinfo=UTC)})
    port = _free_port()
    config = uvicorn.Config(
        create_app(pinned, encoder=encoder),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        log_config=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="widget-hours-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "the server stopped during start-up"
        assert time.monotonic() < deadline, "the server did not start within 60 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def test_guest_asks_whether_the_pool_is_open_now(served_at_20_15: str) -> None:
    node = shutil.which("node")
    if node is None or not CHROMIUM.exists():
        pytest.skip(f"needs node and Chromium at {CHROMIUM} (scripts/setup installs them)")
    if not (PROJECT_ROOT / "node_modules" / "playwright-core").is_dir():
        pytest.skip("needs playwright-core in node_modules (scripts/setup runs npm ci)")
    run = subprocess.run(
        [node, str(SCRIPT), served_at_20_15],
        cwd=PROJECT_ROOT,
        env={**os.environ, "CHROMIUM_PATH": str(CHROMIUM)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["answer"].startswith(
        "Yes — the pool is open until 22:00 today; it is 20:15 now. ["
    ), seen
    assert any("06:30 to 22:00" in s for s in seen["snippets"]), seen
