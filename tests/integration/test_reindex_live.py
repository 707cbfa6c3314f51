"""Re-index through the admin API while guests ask concurrently: no request fails, every answer
comes from exactly one version, and once the switch is seen no answer uses the old one."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from pathlib import Path

import asyncpg
import pytest
from pydantic import SecretStr

from app.config import Settings
from app.embedding.encoder import Encoder, load_encoder
from app.main import create_app
from app.services import Services
from ingestion import store
from ingestion.documents import load_paths
from ingestion.pipeline import Ingestor
from tests.serving import app_client

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTIONS = [
    "What time is check-out?",
    "Is there parking at the hotel?",
    "When is breakfast served?",
    "Do you allow dogs?",
    "What is the wifi password?",
    "Is there a pool?",
]


async def chunk_ids(pool: asyncpg.Pool, version: int) -> set[int]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT id FROM chunks WHERE version_id = $1", version)
    return {r["id"] for r in rows}


async def test_reindex_under_concurrent_ask_load(
    settings: Settings, encoder: Encoder, pool: asyncpg.Pool, ingestor: Ingestor, sample_dir: Path
) -> None:
    prop = f"live-{uuid.uuid4().hex[:8]}"
    await ingestor.ingest(prop, load_paths([sample_dir / "harbour-grand"])[0], name="Live")
    async with pool.acquire() as conn:
        old = await store.live_version(conn, prop)
    assert old is not None
    old_ids = await chunk_ids(pool, old.id)

    app = create_app(
        settings.model_copy(
            update={"admin_token": SecretStr("t"), "job_poll_s": 0.2, "retire_grace_s": 1.0}
        ),
        encoder=encoder,
        # The job worker gets its own copy of the real model (a tokenizer is not shared).
        job_encoder=lambda: load_encoder(settings),
    )
    results: list[tuple[float, int, set[int]]] = []
    switched = asyncio.Event()
    seen_at: list[float] = []
    counter = itertools.count()

    async with app_client(app) as client:
        services: Services = app.state.services

        async def guest() -> None:
            extra = 0
            while not switched.is_set() or extra < 10:
                extra += switched.is_set()
                n = next(counter)
                question = f"{QUESTIONS[n % len(QUESTIONS)]} ({n})"
                sent = time.perf_counter()
                response = await client.post(
                    "/ask", json={"property_id": prop, "question": question}
                )
                ids = {s["chunk_id"] for s in response.json().get("sources", [])}
                results.append((sent, response.status_code, ids))

        guests = [asyncio.create_task(guest()) for _ in range(4)]
        job = await client.post(
            "/admin/reindex",
            json={"property_id": prop, "max_tokens": 128},
            headers={"authorization": "Bearer t"},
        )
        assert job.status_code == 202
        async with asyncio.timeout(240):
            while True:
                state = (
                    await client.get(
                        f"/admin/jobs/{job.json()['job_id']}",
                        headers={"authorization": "Bearer t"},
                    )
                ).json()
                if state["state"] in ("succeeded", "failed"):
                    break
                await asyncio.sleep(0.1)
            assert state["state"] == "succeeded", state
            async with pool.acquire() as conn:
                revision = await conn.fetchval(
                    "SELECT revision FROM properties WHERE id = $1", prop
                )
            await services.registry.wait_for(prop, revision)
            seen_at.append(time.perf_counter())
            switched.set()
            await asyncio.gather(*guests)

    new_version = state["target_version"]
    new_ids = await chunk_ids(pool, new_version)
    assert new_ids
    assert not new_ids & old_ids
    assert len(results) > 20
    assert all(status == 200 for _, status, _ in results), [s for _, s, _ in results]
    before = after = 0
    for sent, _, ids in results:
        assert ids, "every answer has sources"
        assert ids <= old_ids or ids <= new_ids, "an answer mixed two versions"
        if sent >= seen_at[0]:
            assert ids <= new_ids, "an answer came from the old version after the switch"
            after += 1
        else:
            before += ids <= old_ids
    assert after >= 10
    assert before > 0
