"""A re-index process killed with SIGKILL half-way: live keeps answering, the job fails, a retry
resumes and completes. Runs the real staff command in a subprocess with the real model."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.config import PROJECT_ROOT, Settings
from ingestion import jobs, store
from ingestion.documents import load_paths
from ingestion.pipeline import Ingestor
from ingestion.runner import JobRunner

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def command_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RAG_DATA_DIR=str(settings.data_dir),
        RAG_DATABASE_NAME=settings.database_name,
        RAG_EMBEDDING_DEVICE="cpu",
        RAG_EMBEDDING_THREADS="1",
        RAG_JOB_HEARTBEAT_S="0.3",
        RAG_RETIRE_GRACE_S="0",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        **extra,
    )
    env.pop("RAG_DATABASE_URL", None)
    return env


async def reindex_process(settings: Settings, *args: str, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ingestion", "reindex", *args,
        cwd=PROJECT_ROOT, env=command_env(settings, **env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


async def test_sigkill_mid_reindex_leaves_live_serving_and_retry_completes(
    settings: Settings,
    pool: asyncpg.Pool,
    ingestor: Ingestor,
    client: httpx.AsyncClient,
    sample_dir: Path,
) -> None:
    prop = f"kill-{uuid.uuid4().hex[:8]}"
    await ingestor.ingest(prop, load_paths([sample_dir / "alpine-lodge"])[0], name="Kill Test")
    async with pool.acquire() as conn:
        live = await store.live_version(conn, prop)
    assert live is not None

    # Paced to a crawl so the kill lands between two committed groups of documents.
    process = await reindex_process(
        settings, "--property", prop, "--max-tokens", "64",
        RAG_INGEST_EMBED_BATCH="2", RAG_INGEST_DUTY_CYCLE="0.2",
    )  # fmt: skip
    job: jobs.Job | None = None
    async with asyncio.timeout(120):
        while True:
            async with pool.acquire() as conn:
                running = [
                    j
                    for j in await jobs.search(conn, property_id=prop, limit=1)
                    if j.target_version
                ]
                if running:
                    job = running[0]
                    built = await conn.fetchval(
                        "SELECT count(*) FROM documents WHERE version_id = $1", job.target_version
                    )
                    if built > 0:
                        break
            assert process.returncode is None, "the re-index finished before it could be killed"
            await asyncio.sleep(0.05)
    assert job is not None
    process.send_signal(signal.SIGKILL)
    await process.wait()
    assert process.returncode == -signal.SIGKILL

    # The live version is untouched and still answers guests.
    async with pool.acquire() as conn:
        assert await store.live_version(conn, prop) == live
        built = await conn.fetchval(
            "SELECT count(*) FROM documents WHERE version_id = $1", job.target_version
        )
        total = await conn.fetchval("SELECT count(*) FROM documents WHERE version_id = $1", live.id)
    assert 0 < built < total
    answer = await client.post("/ask", json={"property_id": prop, "question": "check-out time?"})
    assert answer.status_code == 200
    assert "10:00" in answer.json()["answer"]

    # No heartbeat any more: the job is detected as failed.
    async with asyncio.timeout(30):
        while True:
            async with pool.acquire() as conn:
                if job.id in await jobs.reap_stale(conn, 1.0):
                    break
            await asyncio.sleep(0.1)
    async with pool.acquire() as conn:
        failed = await jobs.get(conn, job.id)
        state = await conn.fetchval(
            "SELECT state FROM index_versions WHERE id = $1", job.target_version
        )
    assert failed.state == "failed"
    assert "no heartbeat" in (failed.error or "")
    assert state == "failed"

    # The retry runs here with the same (real) model: it resumes the half-built version.
    runner = JobRunner(pool, lambda: ingestor, "retry-worker", retire_grace_s=0)
    async with pool.acquire() as conn:
        await jobs.retry(conn, job.id)
        claimed = await jobs.claim(conn, runner.worker, job.id)
    assert claimed is not None
    embedded_before = ingestor.embedder.embedded
    done = await runner.run(claimed)
    assert done.state == "succeeded", done.error
    assert ingestor.embedder.embedded - embedded_before > 0
    async with pool.acquire() as conn:
        now_live = await store.live_version(conn, prop)
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM documents WHERE version_id = $1", done.target_version
            )
            == total
        )
    assert done.state == "succeeded"
    assert done.attempts == 2
    assert now_live is not None
    assert now_live.id == job.target_version  # the resumed version, not a new one
    assert now_live.chunking["max_tokens"] == 64
