"""A frozen database: every PostgreSQL process stopped with SIGSTOP under load, then resumed.

Unlike a stopped server, a frozen one keeps its sockets open: connections succeed, queries are
sent and nothing ever answers. Guests and admin calls must still get a 503 in the one shape
within about the pool's acquire timeout (not the request timeout), and everything must work
again once PostgreSQL resumes, in the same server process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import time
from pathlib import Path

import httpx
from benchlib.loadgen import Client, Reply, open_loop, percentile

from app.db.migrate import ensure_database, upgrade_to_head
from app.db.pool import create_pool
from app.db.server import database_url, embedded_server
from tests.reliability.harness import Env, Outcome, ServerProcess, count_errors, ingest, tag
from tests.reliability.load import DOCS, distinct_asks
from tests.reliability.outage import _discard, error_shape_ok, http_error_shape_ok

ACQUIRE_TIMEOUT_S = 1.0
COMMAND_TIMEOUT_S = 2.0
REQUEST_TIMEOUT_S = 10.0
# A reply slower than this during the freeze is a hang: a request may wait for a connection
# and then for one statement, no longer (plus room for a loaded machine).
FAST_S = ACQUIRE_TIMEOUT_S + COMMAND_TIMEOUT_S + 0.75


def postgres_pids(data_dir: Path) -> list[int]:
    """The postmaster of ``data_dir`` and all its children."""
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{entry}/stat") as f:
            if int(f.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                pids.append(int(entry))
    return pids


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


async def frozen_database(env: Env, rate: float = 10.0, freeze_s: float = 4.0) -> Outcome:
    """SIGSTOP every PostgreSQL process for ``freeze_s`` under ``rate`` uncached questions/s."""
    outcome = Outcome("frozen-db", f"PostgreSQL frozen (SIGSTOP) {freeze_s:g}s, {rate:g} req/s")
    data_dir = env.workdir / f"freeze-{tag()}"
    settings = env.settings.model_copy(
        update={"data_dir": data_dir, "database_name": "concierge_freeze", "database_url": None}
    )
    pg = await asyncio.to_thread(embedded_server, data_dir)
    try:
        await ensure_database(settings)
        url = await asyncio.to_thread(database_url, settings)
        await asyncio.to_thread(upgrade_to_head, url)
        pool = await create_pool(url, settings)
        private = Env(settings, url, pool, env.workdir)
        try:
            await _freeze(private, data_dir / "pg", outcome, rate, freeze_s)
        finally:
            pool.terminate()
    finally:
        await asyncio.to_thread(_discard, pg, data_dir)
    return outcome


async def _freeze(env: Env, pgdata: Path, outcome: Outcome, rate: float, freeze_s: float) -> None:
    guest = f"freeze-{tag()}"
    await ingest(env, guest, DOCS, name=guest)
    rng = random.Random(23)
    server = ServerProcess(
        env,
        request_timeout_s=REQUEST_TIMEOUT_S,
        db_acquire_timeout_s=ACQUIRE_TIMEOUT_S,
        db_command_timeout_s=COMMAND_TIMEOUT_S,
        job_poll_s=0.5,
        registry_refresh_s=1,
    )
    async with server, httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        auth = {"authorization": f"Bearer {server.admin_token}"}
        client = Client(server.port, max_connections=64, timeout=30)
        ask = distinct_asks(guest, rng)

        warm, _ = await open_loop(client, rate, 1.0, ask)
        pids = await asyncio.to_thread(postgres_pids, pgdata)
        _signal_all(pids, signal.SIGSTOP)
        frozen_at = time.monotonic()
        admin: list[tuple[float, httpx.Response]] = []
        try:

            async def admin_calls() -> None:
                while time.monotonic() - frozen_at < freeze_s - 0.5:
                    started = time.monotonic()
                    response = await http.get(f"/admin/properties/{guest}/documents", headers=auth)
                    admin.append((time.monotonic() - started, response))

            during, (_) = await asyncio.gather(
                open_loop(client, rate, freeze_s - 0.5, ask), admin_calls()
            )
        finally:
            _signal_all(pids, signal.SIGCONT)
        replies = during[0]
        resumed_at = time.monotonic()

        async def recovered() -> bool:
            reply = await ask(client, 0)
            return reply.status == 200

        recovery = None
        while time.monotonic() - resumed_at < 20:
            if await recovered():
                recovery = time.monotonic() - resumed_at
                break
            await asyncio.sleep(0.2)
        after, _ = await open_loop(client, rate, 1.0, ask)
        await client.close()
        log = server.log()

    _report(outcome, warm, replies, after, admin, recovery, log)


def _report(
    outcome: Outcome,
    warm: list[Reply],
    during: list[Reply],
    after: list[Reply],
    admin: list[tuple[float, httpx.Response]],
    recovery: float | None,
    log: str,
) -> None:
    outcome.requests = len(warm) + len(during) + len(after) + len(admin)
    count_errors(outcome, [r.kind for r in during], {"200", "503"})
    count_errors(outcome, [str(r.status_code) for _, r in admin], {"200", "503"})
    slowest = max((r.latency for r in during), default=0.0)
    shed = [r for r in during if r.status == 503]
    outcome.check(
        "guests during the freeze",
        f"{len(shed)}/{len(during)} fast 503s, "
        f"p99 {percentile([r.latency for r in during], 99):.2f}s, slowest {slowest:.2f}s",
        bool(during) and slowest <= FAST_S and all(r.status in (200, 503) for r in during),
    )
    outcome.check(
        "503s in the one shape with Retry-After",
        f"{sum(error_shape_ok(r) for r in shed)}/{len(shed)}",
        all(error_shape_ok(r) for r in shed),
    )
    admin_slowest = max((s for s, _ in admin), default=0.0)
    outcome.check(
        "admin calls during the freeze",
        f"{len(admin)} calls, statuses {sorted({r.status_code for _, r in admin})}, "
        f"slowest {admin_slowest:.2f}s",
        bool(admin)
        and admin_slowest <= FAST_S
        and all(r.status_code == 200 or http_error_shape_ok(r) for _, r in admin),
    )
    outcome.check(
        "answers again after the thaw",
        f"within {recovery:.1f}s, then {sum(r.status == 200 for r in after)}/{len(after)} ok"
        if recovery is not None
        else "no",
        recovery is not None and all(r.status == 200 for r in after),
    )
    # A message that ends in ": " names an error whose text is empty (a bare TimeoutError).
    empty = [line for line in log.splitlines() if re.search(r'"msg":"([^"]*: )?"', line)]
    outcome.check(
        "every log line says what failed",
        f"{len(empty)} without" + (f": {empty[0][:160]}" if empty else ""),
        not empty,
    )
