"""Index versions: re-index beside the live version, atomic switch, failure and resume, jobs."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import numpy as np
import pytest

from ingestion import jobs, store
from ingestion.chunking import TokenCounter
from ingestion.documents import load_paths
from ingestion.embedder import BatchEmbedder
from ingestion.pipeline import Ingestor
from ingestion.reindex import purge_versions, versions
from ingestion.runner import JobRunner
from tests.fakes import HashingEncoder

pytestmark = pytest.mark.integration


class FailingEncoder(HashingEncoder):
    """Breaks after ``fail_after`` calls, like a worker that dies half-way."""

    def __init__(self, fail_after: int) -> None:
        super().__init__()
        self.fail_after = fail_after

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(self.calls) >= self.fail_after:
            raise RuntimeError("model crashed")
        return super().encode(texts)


def folder_of(tmp_path: Path, count: int) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    for i in range(count):
        body = "\n\n".join(
            f"## Topic {i}.{j}\n\nRoom {i} detail {j}: towels are changed daily at {j}:00."
            for j in range(3)
        )
        (folder / f"doc-{i:02d}.md").write_text(f"# Document {i}\n\n{body}\n")
    return folder


async def seeded(pool: asyncpg.Pool, count_tokens: TokenCounter, tmp_path: Path, n: int) -> str:
    prop = f"test-{uuid.uuid4().hex[:10]}"
    ingestor = Ingestor(pool, HashingEncoder(), count_tokens)
    report = await ingestor.ingest(prop, load_paths([folder_of(tmp_path, n)])[0])
    assert report.added == n
    return prop


@pytest.fixture(autouse=True)
def only_named_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    """The session's app, once another test started it, runs a job worker on this database that
    polls for the oldest queued job of any property; it could take a job these tests queue
    before they claim it. Here a job is claimed only by name, as these tests claim theirs."""
    claim = jobs.claim

    async def named_only(
        conn: asyncpg.Connection, worker: str, job_id: int | None = None
    ) -> jobs.Job | None:
        return None if job_id is None else await claim(conn, worker, job_id)

    monkeypatch.setattr(jobs, "claim", named_only)


def runner_for(
    pool: asyncpg.Pool, encoder: HashingEncoder, count_tokens: TokenCounter
) -> JobRunner:
    ingestor = Ingestor(pool, count_tokens=count_tokens, embedder=BatchEmbedder(encoder, 4))
    return JobRunner(
        pool,
        lambda: ingestor,
        f"test-{uuid.uuid4().hex[:6]}",
        retire_grace_s=0,
        wait_to_retire=True,
        group_documents=2,
    )


async def start_job(pool: asyncpg.Pool, runner: JobRunner, prop: str, **params: object) -> jobs.Job:
    async with pool.acquire() as conn:
        job_id = await jobs.enqueue(conn, "reindex", prop, dict(params))
        job = await jobs.claim(conn, runner.worker, job_id)
    assert job is not None
    return job


async def test_reindex_builds_a_new_version_and_switches_atomically(
    pool: asyncpg.Pool, count_tokens: TokenCounter, tmp_path: Path
) -> None:
    prop = await seeded(pool, count_tokens, tmp_path, 5)
    async with pool.acquire() as conn:
        old = await store.live_version(conn, prop)
        revision = await conn.fetchval("SELECT revision FROM properties WHERE id = $1", prop)
    assert old is not None
    encoder = HashingEncoder()
    runner = runner_for(pool, encoder, count_tokens)
    done = await runner.run(await start_job(pool, runner, prop, max_tokens=64))
    assert done.state == "succeeded", done.error
    async with pool.acquire() as conn:
        new = await store.live_version(conn, prop)
        assert new is not None
        assert new.id == done.target_version != old.id
        assert new.chunking == {"max_tokens": 64, "strategy": "markdown-sections-v1"}
        assert (new.model, new.dim) == ("hashing-test-encoder", 384)
        assert await conn.fetchval("SELECT revision FROM properties WHERE id = $1", prop) == (
            revision + 1
        )
        assert set(await store.document_hashes(conn, prop)) == {f"doc-{i:02d}.md" for i in range(5)}
        # The old version was retired, then deleted (grace 0 here), chunks included.
        assert await conn.fetchval("SELECT count(*) FROM chunks WHERE version_id = $1", old.id) == 0
        states = {v["id"]: v["state"] for v in await versions(conn, prop)}
    assert states == {new.id: "live"}
    # Same model and same chunk texts: every vector was reused, none embedded again.
    assert encoder.calls == []

    # A repair (no new chunk size) keeps the live version's chunking settings.
    repaired = await runner.run(await start_job(pool, runner, prop))
    assert repaired.state == "succeeded", repaired.error
    async with pool.acquire() as conn:
        after = await store.live_version(conn, prop)
    assert after is not None
    assert after.id == repaired.target_version != new.id
    assert after.chunking["max_tokens"] == 64
    assert repaired.progress["chunks_total"] == repaired.progress["chunks_done"] > 0


async def test_a_failed_reindex_leaves_live_untouched_and_a_retry_resumes(
    pool: asyncpg.Pool, count_tokens: TokenCounter, tmp_path: Path
) -> None:
    prop = await seeded(pool, count_tokens, tmp_path, 8)
    async with pool.acquire() as conn:
        old = await store.live_version(conn, prop)
    assert old is not None
    broken = FailingEncoder(fail_after=3)
    broken.name = "another-model"  # a new model: every chunk must be embedded again
    runner = runner_for(pool, broken, count_tokens)
    failed = await runner.run(await start_job(pool, runner, prop))
    assert failed.state == "failed"
    assert "model crashed" in (failed.error or "")
    async with pool.acquire() as conn:
        live = await store.live_version(conn, prop)
        assert live == old
        target = await conn.fetchrow(
            "SELECT state, (SELECT count(*) FROM documents WHERE version_id = v.id) AS docs "
            "FROM index_versions v WHERE id = $1",
            failed.target_version,
        )
        assert target["state"] == "failed"
        assert 0 < target["docs"] < 8  # some documents were built before the crash
        await jobs.retry(conn, failed.id)
        again = await jobs.claim(conn, runner.worker, failed.id)
    assert again is not None
    healthy = HashingEncoder()
    healthy.name = "another-model"
    retry_runner = runner_for(pool, healthy, count_tokens)
    retry_runner.worker = runner.worker
    done = await retry_runner.run(again)
    assert done.state == "succeeded", done.error
    assert done.target_version == failed.target_version  # resumed, not rebuilt
    assert done.attempts == 2
    async with pool.acquire() as conn:
        live = await store.live_version(conn, prop)
    assert live is not None
    assert (live.id, live.model) == (failed.target_version, "another-model")
    # Only documents not built before the crash were embedded on the retry.
    assert sum(healthy.calls) < 8 * 3


async def test_only_one_worker_claims_a_job_and_stale_jobs_are_detected(
    pool: asyncpg.Pool, count_tokens: TokenCounter, tmp_path: Path
) -> None:
    prop = await seeded(pool, count_tokens, tmp_path, 1)
    async with pool.acquire() as conn:
        job_id = await jobs.enqueue(conn, "reindex", prop, {})

    async def claim(worker: str) -> jobs.Job | None:
        async with pool.acquire() as conn:
            return await jobs.claim(conn, worker, job_id)

    claimed = await asyncio.gather(*(claim(f"worker-{i}") for i in range(6)))
    winners = [c for c in claimed if c is not None]
    assert len(winners) == 1
    async with pool.acquire() as conn:
        # A second job for the same property waits while one runs.
        second = await jobs.enqueue(conn, "reindex", prop, {})
        assert await jobs.claim(conn, "worker-x", second) is None
        assert await jobs.reap_stale(conn, 60) == []
        await conn.execute(
            "UPDATE ingest_jobs SET heartbeat_at = now() - interval '5 minutes' WHERE id = $1",
            job_id,
        )
        assert await jobs.reap_stale(conn, 60) == [job_id]
        stale = await jobs.get(conn, job_id)
        assert stale.state == "failed"
        assert "no heartbeat" in (stale.error or "")
        assert not await jobs.heartbeat(conn, job_id, winners[0].worker or "", {})
        assert (await jobs.claim(conn, "worker-x", second)) is not None
        with pytest.raises(jobs.JobConflict):
            await jobs.retry(conn, second)


async def test_purge_keeps_recently_retired_versions(
    pool: asyncpg.Pool, count_tokens: TokenCounter, tmp_path: Path
) -> None:
    prop = await seeded(pool, count_tokens, tmp_path, 2)
    runner = runner_for(pool, HashingEncoder(), count_tokens)
    runner.retire_grace_s = 0
    async with pool.acquire() as conn:
        old = await store.live_version(conn, prop)
    assert old is not None
    job = await start_job(pool, runner, prop, max_tokens=100)
    runner.retire_grace_s = 3600  # the switch happens; the purge must keep the old version
    runner.wait_to_retire = False
    done = await runner.run(job)
    assert done.state == "succeeded"
    async with pool.acquire() as conn:
        states = {v["id"]: v["state"] for v in await versions(conn, prop)}
        assert states[old.id] == "retired"
        assert await purge_versions(conn, prop, 0) == 1
        assert old.id not in {v["id"] for v in await versions(conn, prop)}


async def test_a_dead_workers_job_is_queued_again_until_its_attempts_are_spent(
    pool: asyncpg.Pool, count_tokens: TokenCounter, tmp_path: Path
) -> None:
    prop = await seeded(pool, count_tokens, tmp_path, 1)
    async with pool.acquire() as conn:
        job_id = await jobs.enqueue(conn, "reindex", prop, {})

        async def claim_and_die(worker: str) -> jobs.Job:
            job = await jobs.claim(conn, worker, job_id)
            assert job is not None
            await conn.execute(
                "UPDATE ingest_jobs SET heartbeat_at = now() - interval '5 minutes' WHERE id = $1",
                job_id,
            )
            return job

        first = await claim_and_die("worker-a")
        assert first.attempts == 1
        assert await jobs.reap_stale(conn, 60, max_attempts=2) == [job_id]
        again = await jobs.get(conn, job_id)
        assert (again.state, again.worker) == ("queued", None)
        assert "no heartbeat" in (again.error or "")
        assert "queued again" in (again.error or "")
        # The dead worker cannot take it back.
        assert not await jobs.heartbeat(conn, job_id, "worker-a", {})

        second = await claim_and_die("worker-b")
        assert second.attempts == 2
        assert await jobs.reap_stale(conn, 60, max_attempts=2) == [job_id]
        spent = await jobs.get(conn, job_id)
        assert spent.state == "failed"
        assert "retry the job" in (spent.error or "")


async def test_a_stopping_server_releases_its_job_and_the_next_worker_resumes_it(
    pool: asyncpg.Pool, count_tokens: TokenCounter, tmp_path: Path
) -> None:
    prop = await seeded(pool, count_tokens, tmp_path, 6)
    gate = threading.Event()
    started = threading.Event()

    def paused(text: str) -> int:  # chunking waits on the gate, on the job's own thread
        started.set()
        gate.wait(10)
        return count_tokens(text)

    stopping = runner_for(pool, HashingEncoder(), paused)
    stopping.release_on_stop = True
    async with pool.acquire() as conn:
        job_id = await jobs.enqueue(conn, "reindex", prop, {"max_tokens": 48})
        claimed = await jobs.claim(conn, stopping.worker, job_id)
    assert claimed is not None
    task = asyncio.create_task(stopping.run(claimed))
    assert await asyncio.to_thread(started.wait, 10)
    task.cancel()
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with pool.acquire() as conn:
        released = await jobs.get(conn, job_id)
        target_state = await conn.fetchval(
            "SELECT state FROM index_versions WHERE id = $1", released.target_version
        )
    assert (released.state, released.worker, released.attempts) == ("queued", None, 0)
    assert target_state == "building"  # kept for the next worker to resume

    nxt = runner_for(pool, HashingEncoder(), count_tokens)
    async with pool.acquire() as conn:
        resumed = await jobs.claim(conn, nxt.worker, job_id)
    assert resumed is not None
    done = await nxt.run(resumed)
    assert (done.state, done.attempts) == ("succeeded", 1)
    async with pool.acquire() as conn:
        live = await store.live_version(conn, prop)
    assert live is not None
    assert live.id == released.target_version


async def test_a_worker_that_loses_its_job_goes_on_and_leaves_the_new_owner_alone(
    pool: asyncpg.Pool, count_tokens: TokenCounter, tmp_path: Path
) -> None:
    prop = await seeded(pool, count_tokens, tmp_path, 4)
    gate = threading.Event()
    started = threading.Event()

    def paused(text: str) -> int:
        started.set()
        gate.wait(10)
        return count_tokens(text)

    loser = runner_for(pool, HashingEncoder(), paused)
    loser.heartbeat_s = 0.05
    async with pool.acquire() as conn:
        job_id = await jobs.enqueue(conn, "reindex", prop, {"max_tokens": 40})
        claimed = await jobs.claim(conn, loser.worker, job_id)
    assert claimed is not None
    running = asyncio.create_task(loser.run(claimed))
    assert await asyncio.to_thread(started.wait, 10)
    async with pool.acquire() as conn:
        # Another worker took the job over (its first one was declared dead meanwhile).
        await conn.execute("UPDATE ingest_jobs SET worker = 'new-owner' WHERE id = $1", job_id)
        target = await conn.fetchval("SELECT target_version FROM ingest_jobs WHERE id = $1", job_id)
    async with asyncio.timeout(10):
        row = await running  # returns: the task is not left cancelled
    gate.set()
    assert not running.cancelled()
    assert (row.state, row.worker) == ("running", "new-owner")
    async with pool.acquire() as conn:
        state = await conn.fetchval("SELECT state FROM index_versions WHERE id = $1", target)
    assert state == "building"  # the new owner's version, not marked failed by the loser


async def test_a_switched_reindex_succeeds_even_if_deleting_the_old_version_fails(
    pool: asyncpg.Pool,
    count_tokens: TokenCounter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prop = await seeded(pool, count_tokens, tmp_path, 2)
    runner = runner_for(pool, HashingEncoder(), count_tokens)

    async def broken_purge(*args: object) -> int:
        raise asyncpg.PostgresConnectionError("connection lost")

    monkeypatch.setattr("ingestion.runner.purge_versions", broken_purge)
    async with pool.acquire() as conn:
        job_id = await jobs.enqueue(conn, "reindex", prop, {"max_tokens": 40})
        claimed = await jobs.claim(conn, runner.worker, job_id)
    assert claimed is not None
    done = await runner.run(claimed)
    assert done.state == "succeeded", done.error
    async with pool.acquire() as conn:
        live = await store.live_version(conn, prop)
    assert live is not None
    assert live.id == done.target_version


async def test_a_finished_upload_job_drops_its_documents_and_a_failed_one_keeps_them(
    pool: asyncpg.Pool, count_tokens: TokenCounter, tmp_path: Path
) -> None:
    prop = await seeded(pool, count_tokens, tmp_path, 1)
    params = {"documents": [{"doc_key": "a.md", "title": "A", "text": "x" * 1000, "source": "a"}]}
    async with pool.acquire() as conn:
        ok = await jobs.enqueue(conn, "ingest", prop, params)
        assert await jobs.claim(conn, "w", ok) is not None
        assert await jobs.finish(conn, ok, "w")
        bad = await jobs.enqueue(conn, "ingest", prop, params)
        assert await jobs.claim(conn, "w", bad) is not None
        assert await jobs.finish(conn, bad, "w", error="broken")
        assert (await jobs.get(conn, ok)).params == {}
        assert (await jobs.get(conn, bad)).params == params


async def _hours_chunk_state(conn: asyncpg.Connection, prop: str) -> tuple[str | None, str]:
    """The pool's correction, and whether its hours row cites a chunk of the live version."""
    row = await conn.fetchrow(
        "SELECT chunk_hash, corrected FROM facility_hours WHERE property_id = $1", prop
    )
    live = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM chunks c JOIN properties p ON p.live_version = c.version_id "
        "WHERE p.id = $1 AND c.content_hash = $2)",
        prop,
        row["chunk_hash"],
    )
    return row["corrected"], "live" if live else "other"


async def test_opening_hours_cite_the_live_versions_chunks_through_a_rechunking_reindex(
    pool: asyncpg.Pool, count_tokens: TokenCounter, tmp_path: Path
) -> None:
    prop = f"test-{uuid.uuid4().hex[:10]}"
    filler = " ".join(f"The spa offers treatment number {i} with warm stones." for i in range(12))
    text = f"# Spa\n\n## Pool\n\n{filler} The pool is open daily from 07:00 to 21:00.\n"
    (tmp_path / "spa.md").write_text(text)
    await Ingestor(pool, HashingEncoder(), count_tokens).ingest(prop, load_paths([tmp_path])[0])
    async with pool.acquire() as conn:
        row_id = await conn.fetchval("SELECT id FROM facility_hours WHERE property_id = $1", prop)
        await conn.execute(
            "UPDATE facility_hours SET corrected = 'Mo-Su 08:00-20:00' WHERE id = $1", row_id
        )
        assert await _hours_chunk_state(conn, prop) == ("Mo-Su 08:00-20:00", "live")

    # A candidate with smaller chunks is built beside the live version: guests still read the
    # live one, so the hours must keep citing its chunk.
    runner = runner_for(pool, HashingEncoder(), count_tokens)
    kept = await runner.run(await start_job(pool, runner, prop, max_tokens=48, candidate=True))
    assert kept.state == "succeeded", kept.error
    async with pool.acquire() as conn:
        assert await _hours_chunk_state(conn, prop) == ("Mo-Su 08:00-20:00", "live")

    # Switched live, the new chunks are cited, and the correction of the unchanged sentence holds.
    switched = await runner.run(await start_job(pool, runner, prop, max_tokens=48))
    assert switched.state == "succeeded", switched.error
    async with pool.acquire() as conn:
        assert await _hours_chunk_state(conn, prop) == ("Mo-Su 08:00-20:00", "live")
        chunks = await conn.fetchval(
            "SELECT count(*) FROM chunks c JOIN properties p ON p.live_version = c.version_id "
            "WHERE p.id = $1",
            prop,
        )
    assert chunks > 1  # the document was cut differently: the chunk cited is a new one
