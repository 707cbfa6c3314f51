"""The real server process: ``python -m app serve`` answers over HTTP and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from app.config import PROJECT_ROOT, Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited during start-up"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server not ready within {timeout}s")


def test_served_over_http_with_the_packaged_model(
    settings: Settings, db_url: str, sample_loaded: list[str]
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(settings.data_dir),
        "RAG_DATABASE_NAME": settings.database_name,
        "RAG_PORT": str(port),
        "RAG_LOG_LEVEL": "info",
    }
    env.pop("RAG_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process, timeout=90)
        response = httpx.post(
            f"{base}/ask",
            json={"property_id": "sunset-cove", "question": "what's the wifi password?"},
            timeout=10,
        )
        assert response.status_code == 200
        body = response.json()
        assert "coconut88" in body["answer"]
        assert body["sources"][0]["document_id"] in {"wifi-and-business.md", "faq.md"}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    log = output.decode(errors="replace")
    # uvicorn re-raises the signal once shut down, so SIGTERM is also a clean exit status.
    assert process.returncode in (0, -signal.SIGTERM), log[-2000:]
    assert "Application shutdown complete" in log, log[-2000:]
