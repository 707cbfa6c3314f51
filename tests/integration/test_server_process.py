"""The real server process: ``python -m app serve`` answers over HTTP and stops on SIGTERM."""

from __future__ import annotations

import json

import httpx
import pytest

from app.config import Settings
from tests.serving import served_process

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_served_over_http_with_the_packaged_model(
    settings: Settings, db_url: str, sample_loaded: list[str]
) -> None:
    log = settings.data_dir / "server-process.log"
    with served_process(settings, log, RAG_LOG_LEVEL="info") as server:
        response = httpx.post(
            f"{server.base}/ask",
            json={"property_id": "sunset-cove", "question": "what's the wifi password?"},
            timeout=10,
        )
        assert response.status_code == 200
        body = response.json()
        assert "coconut88" in body["answer"]
        assert body["sources"][0]["document_id"] in {"wifi-and-business.md", "faq.md"}
    output = log.read_text(errors="replace")
    # A normal exit, not a kill by the re-raised signal: the exit handlers ran, and the server
    # let go of the embedded PostgreSQL (which stops with its last user).
    assert server.process.returncode == 0, output[-2000:]
    assert "Application shutdown complete" in output, output[-2000:]
    if settings.database_url is None:
        users = json.loads((settings.data_dir / "pg" / ".handle_pids.json").read_text())
        assert server.process.pid not in users
