"""Crash safety: the server killed with SIGKILL inside an ingestion's write transaction and
inside a re-index's switch transaction.

The kills land at a known point without timing luck: the scenario holds a row lock that the
server's next statement needs, waits until PostgreSQL shows that statement blocked on it, then
kills the process. After each kill the live index is audited document by document (content
hash of the stored text, every chunk re-derived from it, every vector re-computed), a new
server process starts, and the job that was cut off is retried to completion.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import numpy as np
import orjson

from app.embedding.encoder import default_model_path
from ingestion.chunking import TokenCounter, chunk_document, tokenizer_counter
from ingestion.documents import Document, load_bytes
from tests.fakes import HashingEncoder
from tests.reliability.harness import Env, Outcome, ServerProcess, tag

TOPICS = "pool spa breakfast parking wifi gym laundry shuttle bar terrace".split()
WORDS = (
    "guests towels opening hours floor lobby desk booking free daily evening morning lift "
    "garden sea view quiet card key staff request extra charge included weekend holiday"
).split()
# Server settings: jobs beat often and are declared dead soon after they stop, so the
# scenario needs no long waits; the per-statement timeout leaves room for the lock holds.
SERVER_SETTINGS: dict[str, object] = {
    "job_heartbeat_s": 0.3,
    "job_stale_after_s": 1.5,
    "job_poll_s": 0.2,
    "retire_grace_s": 0,
    "db_command_timeout_s": 30,
}
UPLOAD_NAME = "knowledge.jsonl"
JOB_ENCODE_MS = 0.5  # per text, with the default duty cycle: a few seconds per upload


def knowledge(revision: int, items: list[int], sections: int = 4) -> list[Document]:
    """One document of several sections per item; every revision changes every text."""
    docs = []
    for n in items:
        rng = random.Random(f"{n}")
        topic = TOPICS[n % len(TOPICS)]
        parts = []
        for s in range(sections):
            words = " ".join(rng.choices(WORDS, k=50))
            parts.append(
                f"## Part {s + 1}\n\nThe {topic} {n} opens at {6 + s:02d}:{revision:02d}. "
                f"{words}. Revision {revision} of item {n}."
            )
        text = f"# {topic.title()} {n}\n\n" + "\n\n".join(parts)
        docs.append(Document(f"item-{n:04d}", f"{topic.title()} {n}", text, "upload"))
    # As the server reads them from an upload (its text normalisation included).
    return load_bytes(as_jsonl(docs), UPLOAD_NAME, f"upload:{UPLOAD_NAME}")


def as_jsonl(docs: list[Document]) -> bytes:
    return b"\n".join(
        orjson.dumps({"id": d.doc_key, "title": d.title, "text": d.text}) for d in docs
    )


@dataclass(slots=True)
class Audit:
    """The live index of one property, checked against the documents it should hold."""

    version: int
    max_tokens: int
    hashes: dict[str, str]
    chunks: int = 0
    problems: list[str] = field(default_factory=list)

    def matches(self, docs: list[Document]) -> bool:
        return self.hashes == {d.doc_key: d.content_hash for d in docs}


async def audit_live(pool: asyncpg.Pool, property_id: str, counter: TokenCounter) -> Audit:
    """Re-derive every live document's hash, chunks and vectors from its stored text."""
    encoder = HashingEncoder()
    async with pool.acquire() as conn:
        live = await conn.fetchrow(
            "SELECT v.id, v.state, v.chunking FROM properties p "
            "JOIN index_versions v ON v.id = p.live_version WHERE p.id = $1",
            property_id,
        )
        docs = await conn.fetch(
            "SELECT id, doc_key, title, body, source, metadata, content_hash FROM documents "
            "WHERE version_id = $1 ORDER BY doc_key",
            live["id"],
        )
        chunk_rows = await conn.fetch(
            "SELECT document_id, property_id, version_id, ord, heading, text, content_hash, "
            "embedding FROM chunks WHERE document_id = ANY($1::bigint[]) ORDER BY document_id, ord",
            [d["id"] for d in docs],
        )
        strays = await conn.fetchval(
            "SELECT count(*) FROM chunks c LEFT JOIN documents d ON d.id = c.document_id "
            "WHERE c.version_id = $1 AND (d.id IS NULL OR d.version_id <> c.version_id)",
            live["id"],
        )
    chunking = (
        orjson.loads(live["chunking"]) if isinstance(live["chunking"], str) else live["chunking"]
    )
    audit = Audit(
        live["id"], int(chunking["max_tokens"]), {d["doc_key"]: d["content_hash"] for d in docs}
    )
    if live["state"] != "live":
        audit.problems.append(f"live version {live['id']} is {live['state']}")
    if strays:
        audit.problems.append(f"{strays} chunks without their document")
    by_doc: dict[int, list[asyncpg.Record]] = {}
    for row in chunk_rows:
        by_doc.setdefault(row["document_id"], []).append(row)
    for doc in docs:
        metadata = doc["metadata"]
        metadata = orjson.loads(metadata) if isinstance(metadata, str) else metadata
        document = Document(doc["doc_key"], doc["title"], doc["body"], doc["source"], metadata)
        if document.content_hash != doc["content_hash"]:
            audit.problems.append(f"{doc['doc_key']}: stored text does not match its hash")
        expected = chunk_document(doc["title"], doc["body"], counter, audit.max_tokens)
        stored = by_doc.get(doc["id"], [])
        audit.chunks += len(stored)
        if [(c.ord, c.heading, c.text, c.content_hash) for c in expected] != [
            (r["ord"], r["heading"], r["text"], r["content_hash"]) for r in stored
        ]:
            audit.problems.append(f"{doc['doc_key']}: chunks differ from its text")
            continue
        if any(r["version_id"] != audit.version or r["property_id"] != property_id for r in stored):
            audit.problems.append(f"{doc['doc_key']}: chunks in another version or property")
        vectors = encoder.encode([c.embed_text for c in expected])
        if not np.allclose(
            np.stack([r["embedding"].to_numpy() for r in stored]), vectors, atol=1e-5
        ):
            audit.problems.append(f"{doc['doc_key']}: vectors differ from its chunks")
    return audit


async def blocked_backend(pool: asyncpg.Pool, holder: int, statement: str, within_s: float) -> int:
    """The backend whose ``statement`` waits on a lock held by backend ``holder``."""
    deadline = time.monotonic() + within_s
    async with pool.acquire() as conn:
        while time.monotonic() < deadline:
            pid = await conn.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) "
                "AND strpos(query, $2) > 0 LIMIT 1",
                holder,
                statement,
            )
            if pid is not None:
                return int(pid)
            await asyncio.sleep(0.01)
    raise TimeoutError(f"no statement {statement!r} blocked in {within_s}s")


async def backend_gone(pool: asyncpg.Pool, pid: int, within_s: float = 20.0) -> None:
    """Wait until PostgreSQL has ended the killed server's backend (and rolled it back)."""
    deadline = time.monotonic() + within_s
    async with pool.acquire() as conn:
        while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            if time.monotonic() > deadline:
                raise TimeoutError(f"backend {pid} still there after {within_s}s")
            await asyncio.sleep(0.02)


class RowLock:
    """``SELECT ... FOR UPDATE`` on one index version row, held on a connection of its own."""

    def __init__(self, pool: asyncpg.Pool, version_id: int) -> None:
        self.pool = pool
        self.version_id = version_id
        self.conn: Any = None
        self.pid = 0

    async def __aenter__(self) -> RowLock:
        self.conn = await self.pool.acquire()
        self.pid = await self.conn.fetchval("SELECT pg_backend_pid()")
        await self.conn.execute("BEGIN")
        await self.conn.execute("SET LOCAL lock_timeout = '10s'")
        await self.conn.execute(
            "SELECT 1 FROM index_versions WHERE id = $1 FOR UPDATE", self.version_id
        )
        return self

    async def release(self) -> None:
        if self.conn is not None:
            await self.conn.execute("ROLLBACK")
            await self.pool.release(self.conn)
            self.conn = None

    async def __aexit__(self, *exc: object) -> None:
        await self.release()


class Admin:
    """The admin API of one server process."""

    def __init__(self, server: ServerProcess) -> None:
        self.client = httpx.AsyncClient(
            base_url=server.base,
            headers={"authorization": f"Bearer {server.admin_token}"},
            timeout=30,
        )

    async def upload(self, property_id: str, docs: list[Document]) -> int:
        files = {"files": (UPLOAD_NAME, as_jsonl(docs), "application/jsonl")}
        response = await self.client.post(f"/admin/properties/{property_id}/documents", files=files)
        response.raise_for_status()
        return int(response.json()["job_id"])

    async def job(self, job_id: int) -> dict[str, Any]:
        response = await self.client.get(f"/admin/jobs/{job_id}")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    async def wait_for(
        self, job_id: int, states: set[str], within_s: float = 90.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + within_s
        while (job := await self.job(job_id))["state"] not in states:
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {within_s}s")
            await asyncio.sleep(0.1)
        return job

    async def close(self) -> None:
        await self.client.aclose()


async def guest_answers(server: ServerProcess, property_id: str, count: int = 20) -> int:
    """How many of ``count`` guest questions got a 200 with sources."""
    good = 0
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
        for n in range(count):
            question = f"when does the {TOPICS[n % len(TOPICS)]} {n} open?"
            reply = await client.post(
                "/ask", json={"property_id": property_id, "question": question}
            )
            good += reply.status_code == 200 and bool(reply.json()["sources"])
    return good


@dataclass(slots=True)
class Run:
    """What the phases of the scenario share."""

    env: Env
    outcome: Outcome
    property_id: str
    counter: TokenCounter
    token: str = field(default_factory=lambda: secrets.token_hex(16))

    def server(self) -> ServerProcess:
        return ServerProcess(
            self.env, job_encode_ms=JOB_ENCODE_MS, admin_token=self.token, **SERVER_SETTINGS
        )

    async def audit(self, label: str) -> Audit:
        audit = await audit_live(self.env.pool, self.property_id, self.counter)
        self.outcome.check(f"{label}: audit problems", len(audit.problems), not audit.problems)
        return audit

    async def resumed(self, server: ServerProcess, job_id: int, label: str, attempts: int) -> None:
        """The next server finishes the cut-off job by itself, and answers guests."""
        admin = Admin(server)
        try:
            done = await admin.wait_for(job_id, {"succeeded", "failed"})
        finally:
            await admin.close()
        answered = await guest_answers(server, self.property_id)
        self.outcome.requests += 22
        self.outcome.check(
            f"{label}: next server finished the job",
            f"{done['state']}, attempt {done['attempts']}",
            done["state"] == "succeeded" and done["attempts"] == attempts,
        )
        self.outcome.check(f"{label}: guests answered", f"{answered}/20", answered == 20)


async def crash_safety(env: Env, documents: int = 240) -> Outcome:
    outcome = Outcome(
        "crash", "SIGKILL inside an upload's write and a re-index's switch; SIGTERM mid-upload"
    )
    run = Run(env, outcome, f"crash-{tag()}", tokenizer_counter(default_model_path()))
    half = documents // 2
    first = knowledge(1, list(range(half)))
    # Every old document changed and as many new ones, interleaved: each write group of the
    # upload replaces old documents (deletes, then inserts) and adds new ones.
    second = knowledge(
        2, [n for pair in zip(range(half), range(half, 2 * half), strict=True) for n in pair]
    )
    upload = await _kill_mid_write(run, first, second)
    async with run.server() as two:
        await run.resumed(two, upload, "kill 1", attempts=2)
        complete = await run.audit("after kill 1, resumed")
        outcome.check("after kill 1, resumed: live = the upload", "", complete.matches(second))
        reindex, target = await _kill_mid_switch(run, two, complete.version)
    kept = await run.audit("after kill 2")
    async with env.pool.acquire() as conn:
        target_state = await conn.fetchval("SELECT state FROM index_versions WHERE id = $1", target)
    outcome.check(
        "after kill 2: live version and content unchanged",
        f"version {kept.version}, new one {target_state}",
        kept.version == complete.version and target_state == "building" and kept.matches(second),
    )
    async with run.server() as three:
        await run.resumed(three, reindex, "kill 2", attempts=2)
        switched = await run.audit("after kill 2, resumed")
        outcome.check(
            "after kill 2, resumed: the half-built version is live at 64 tokens",
            f"{switched.chunks} chunks",
            switched.version == target
            and switched.max_tokens == 64
            and switched.matches(second)
            and switched.chunks > kept.chunks,
        )
        third = knowledge(3, [int(d.doc_key.removeprefix("item-")) for d in second])
        upload = await _stop_mid_upload(run, three, switched.version, second, third)
    async with run.server() as four:
        await run.resumed(four, upload, "sigterm", attempts=1)
        final = await run.audit("after sigterm, resumed")
        outcome.check("after sigterm, resumed: live = the upload", "", final.matches(third))
    return outcome


async def _kill_mid_write(run: Run, first: list[Document], second: list[Document]) -> int:
    """Upload ``first``, then ``second``, killed while a write group waits after its DELETE.

    Returns the cut-off job's id.
    """
    outcome = run.outcome
    async with run.server() as one:
        admin = Admin(one)
        try:
            created = await admin.client.put(
                f"/admin/properties/{run.property_id}", json={"name": "Crash"}
            )
            created.raise_for_status()
            done = await admin.wait_for(
                await admin.upload(run.property_id, first), {"succeeded", "failed"}
            )
            outcome.check("first upload", done["state"], done["state"] == "succeeded")
            before = await run.audit("first upload")
            outcome.requests += 3
            job_id = await admin.upload(run.property_id, second)
            # Once one group of the upload is in, lock the live version: the next group waits
            # on that row in its first write (its DELETE updates the version's chunk count;
            # with no chunk to delete, its INSERT takes a key-share lock on the row).
            await wait_until_written(run.env.pool, run.property_id, before.version, second, 1)
            async with RowLock(run.env.pool, before.version) as lock:
                backend = await blocked_backend(run.env.pool, lock.pid, " documents", 30)
                status = await asyncio.to_thread(one.kill)
            outcome.check("kill 1: SIGKILL", status, status == -signal.SIGKILL)
            await backend_gone(run.env.pool, backend)
        finally:
            await admin.close()
    cut = await run.audit("after kill 1")
    new_hashes = {d.doc_key: d.content_hash for d in second}
    old_hashes = {d.doc_key: d.content_hash for d in first}
    written = sum(new_hashes[k] == h for k, h in cut.hashes.items())
    still_old = sum(old_hashes.get(k) == h for k, h in cut.hashes.items())
    mixed = [k for k, h in cut.hashes.items() if h not in (new_hashes[k], old_hashes.get(k))]
    outcome.check(
        "after kill 1: new / kept old / neither",
        f"{written} / {still_old} / {len(mixed)}",
        0 < written < len(second) and still_old > 0 and not mixed,
    )
    outcome.check(
        "after kill 1: old documents missing",
        len(old_hashes.keys() - cut.hashes.keys()),
        old_hashes.keys() <= cut.hashes.keys(),
    )
    return job_id


async def _kill_mid_switch(run: Run, server: ServerProcess, live: int) -> tuple[int, int]:
    """Re-index at 64 tokens, killed with the old version retired and the new one not live.

    Lock the old row (the switch's first UPDATE waits), then the new row, let the first go:
    the switch stops on its second UPDATE. Returns the job's id and the new version's.
    """
    admin = Admin(server)
    try:
        async with RowLock(run.env.pool, live) as old_lock:
            response = await admin.client.post(
                "/admin/reindex", json={"property_id": run.property_id, "max_tokens": 64}
            )
            response.raise_for_status()
            job_id = int(response.json()["job_id"])
            await blocked_backend(
                run.env.pool, old_lock.pid, "UPDATE index_versions SET state = 'retired'", 60
            )
            target = int((await admin.job(job_id))["target_version"])
            async with RowLock(run.env.pool, target) as new_lock:
                await old_lock.release()
                backend = await blocked_backend(
                    run.env.pool, new_lock.pid, "UPDATE index_versions SET state = 'live'", 30
                )
                status = await asyncio.to_thread(server.kill)
        run.outcome.requests += 2
        run.outcome.check("kill 2: SIGKILL", status, status == -signal.SIGKILL)
        await backend_gone(run.env.pool, backend)
    finally:
        await admin.close()
    return job_id, target


async def _stop_mid_upload(
    run: Run, server: ServerProcess, live: int, old: list[Document], new: list[Document]
) -> int:
    """Upload ``new`` and stop the server with SIGTERM once part of it is written: the job is
    released to the queue, not failed. Returns its id."""
    admin = Admin(server)
    try:
        job_id = await admin.upload(run.property_id, new)
        await wait_until_written(run.env.pool, run.property_id, live, new, 1)
        status = await asyncio.to_thread(server.terminate)
        run.outcome.requests += 1
    finally:
        await admin.close()
    async with run.env.pool.acquire() as conn:
        job = await conn.fetchrow(
            "SELECT state, attempts, error FROM ingest_jobs WHERE id = $1", job_id
        )
    cut = await run.audit("after sigterm")
    new_hashes = {d.doc_key: d.content_hash for d in new}
    old_hashes = {d.doc_key: d.content_hash for d in old}
    written = sum(new_hashes[k] == h for k, h in cut.hashes.items())
    neither = sum(h not in (new_hashes[k], old_hashes[k]) for k, h in cut.hashes.items())
    # uvicorn re-raises the signal once it has shut down cleanly.
    clean = status in (0, -signal.SIGTERM) and "Application shutdown complete" in server.log()
    run.outcome.check("sigterm: clean exit", status, clean)
    run.outcome.check(
        "sigterm: job released to the queue",
        f"{job['state']}, {job['attempts']} attempts counted",
        job["state"] == "queued" and job["attempts"] == 0,
    )
    run.outcome.check(
        "after sigterm: new / neither",
        f"{written} / {neither}",
        0 < written < len(new) and neither == 0 and cut.hashes.keys() == new_hashes.keys(),
    )
    return job_id


async def wait_until_written(
    pool: asyncpg.Pool, property_id: str, version: int, docs: list[Document], at_least: int
) -> int:
    """Wait until ``at_least`` of ``docs`` are in ``version`` as given (some groups committed)."""
    keys = [d.doc_key for d in docs]
    hashes = [d.content_hash for d in docs]
    deadline = time.monotonic() + 60
    async with pool.acquire() as conn:
        while True:
            written = await conn.fetchval(
                "SELECT count(*) FROM documents d JOIN unnest($2::text[], $3::text[]) AS u(k, h) "
                "ON d.doc_key = u.k AND d.content_hash = u.h WHERE d.version_id = $1",
                version,
                keys,
                hashes,
            )
            if written >= at_least:
                return int(written)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{property_id}: no group of the upload written in 60s")
            await asyncio.sleep(0.01)
