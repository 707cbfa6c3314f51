"""The staff console and the widget in headless Chromium against the real app and database:
a guest's request becomes a task that appears live in the console (another browser
context), is acknowledged there, and the guest's session sees the new status."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from pydantic import SecretStr

from app.config import PROJECT_ROOT, Settings
from app.embedding.encoder import Encoder
from app.main import create_app
from tests.integration.test_widget_browser import ARTIFACTS, CHROMIUM, _free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRIPT = PROJECT_ROOT / "tests" / "browser" / "console_check.mjs"
TOKEN = "console-browser-test-token"


@pytest.fixture(scope="module")
def served(settings: Settings, encoder: Encoder, sample_loaded: list[str]) -> Iterator[str]:
    port = _free_port()
    app = create_app(settings.model_copy(update={"admin_token": SecretStr(TOKEN)}), encoder=encoder)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="console-test-server", daemon=True)
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


def test_a_guest_request_reaches_the_console_live_and_the_guest_sees_it_acknowledged(
    served: str,
) -> None:
    node = shutil.which("node")
    if node is None or not CHROMIUM.exists():
        pytest.skip(f"needs node and Chromium at {CHROMIUM} (scripts/setup installs them)")
    if not (PROJECT_ROOT / "node_modules" / "playwright-core").is_dir():
        pytest.skip("needs playwright-core in node_modules (scripts/setup runs npm ci)")
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "console.png"
    screenshot.unlink(missing_ok=True)
    run = subprocess.run(
        [node, str(SCRIPT), served, TOKEN, str(screenshot)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "CHROMIUM_PATH": str(CHROMIUM)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])

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
