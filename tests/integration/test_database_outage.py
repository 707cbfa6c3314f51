"""Readiness and /ask while the database is down, and recovery without a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from app.config import Settings
from app.db.migrate import ensure_database, upgrade_to_head
from app.db.pool import create_pool
from app.db.server import database_url, embedded_server
from app.main import create_app
from ingestion.documents import Document
from ingestion.pipeline import Ingestor
from tests.fakes import HashingEncoder, word_count
from tests.serving import app_client

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
async def outage_settings(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Settings]:
    """A server of its own, so stopping it does not disturb the other tests."""
    data_dir = tmp_path_factory.mktemp("outage")
    settings = Settings(
        data_dir=data_dir, database_url=None, db_acquire_timeout_s=1.0, admin_token="outage-token"
    )
    await ensure_database(settings)
    await asyncio.to_thread(upgrade_to_head, database_url(settings))
    yield settings
    await asyncio.to_thread(embedded_server(data_dir).cleanup)


async def test_outage_gives_fast_503s_and_recovers_by_itself(outage_settings: Settings) -> None:
    encoder = HashingEncoder()
    pool = await create_pool(database_url(outage_settings), outage_settings)
    doc = Document("pool.md", "Pool", "# Pool\n\nThe pool opens at 07:00.", "pool.md")
    await Ingestor(pool, encoder, word_count).ingest("outage-hotel", [doc], name="Outage Hotel")
    await pool.close()

    app = create_app(outage_settings, encoder=encoder)
    server = embedded_server(outage_settings.data_dir)
    question = {"property_id": "outage-hotel", "question": "when does the pool open"}
    async with app_client(app) as client:
        assert (await client.get("/readyz")).status_code == 200
        assert (await client.post("/ask", json=question)).status_code == 200

        await asyncio.to_thread(server.stop)
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("unreachable")
        started = time.monotonic()
        down = await client.post("/ask", json={**question, "question": "pool hours?"})
        assert down.status_code == 503
        assert down.json()["error"]["code"] == "unavailable"
        assert "retry-after" in down.headers
        assert time.monotonic() - started < outage_settings.request_timeout_s
        admin = await client.get(
            "/admin/properties/outage-hotel/documents",
            headers={"authorization": "Bearer outage-token"},
        )
        assert admin.status_code == 503
        assert admin.json()["error"]["code"] == "unavailable"

        await asyncio.to_thread(server.start)
        deadline = time.monotonic() + 20
        while (await client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "did not recover"
            await asyncio.sleep(0.2)
        again = await client.post("/ask", json={**question, "question": "pool opening?"})
        assert again.status_code == 200
        assert "07:00" in again.json()["answer"]

        # Change notifications flow again at once, long before the periodic refresh.
        registry = app.state.services.registry
        pool = await create_pool(database_url(outage_settings), outage_settings)
        try:
            changed = Document("pool.md", "Pool", "# Pool\n\nThe pool opens at 07:30.", "p")
            report = await Ingestor(pool, encoder, word_count).ingest("outage-hotel", [changed])
        finally:
            await pool.close()
        assert report.revision is not None
        assert outage_settings.registry_refresh_s >= 30
        async with asyncio.timeout(10):
            await registry.wait_for("outage-hotel", report.revision)
        latest = await client.post("/ask", json=question)
        assert "07:30" in latest.json()["answer"]
