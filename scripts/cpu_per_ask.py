"""CPU time per uncached POST /ask, for the service and for PostgreSQL apart.

Starts the embedded PostgreSQL on the ``scripts/bench --small`` corpus (``--plan full``: the
full bench's; built on first use),
starts the service as ``python -m app serve``, sends a warm-up and then ``--questions``
distinct questions from ``--clients`` connections (or at ``--rate`` requests/s on a fixed
schedule, as the bench's first phase), and reads the CPU time (user + system,
from /proc) the service and the PostgreSQL processes used meanwhile. CPU time moves far less
than latency when other programs share the cores, so two versions can be compared on a busy
machine. Also prints the cold start, the resident memory before and after, and the database
transactions per request (pg_stat_database).

    PYTHONPATH=scripts .venv/bin/python scripts/cpu_per_ask.py [--questions 400] [--plan full]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from benchlib import loadgen
from benchlib.cli import PLANS, child_env, rate_phase, stop_database
from benchlib.corpus import ensure_corpus
from benchlib.corpus_text import questions
from benchlib.procs import Children, cpu_seconds, free_port, rss_mb, wait_ready, wait_warm

from app.config import PROJECT_ROOT, Settings
from app.db.migrate import ensure_database, upgrade_to_head
from app.db.server import database_url, embedded_server

DB_NAME = "concierge_bench"


def log(message: str) -> None:
    print(f"[cpu {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def _transactions(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        value = await conn.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1",
            DB_NAME,
        )
        return int(value)
    finally:
        await conn.close()


def _thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of each thread of a process, by thread name (the event loop is "main")."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            name = "main" if task.name == str(pid) else (task / "comm").read_text().strip()
        except FileNotFoundError:
            continue
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return out


async def _send(port: int, asks: list[bytes], clients: int, rate: float | None = None) -> int:
    """Send each request once from ``clients`` connections, or at ``rate`` requests/s
    whatever the service does; how many were answered 200."""
    if rate:
        phase = await rate_phase(port, iter(asks), rate, len(asks) / rate, timeout_s=30)
        return int(phase["ok"])
    async with loadgen.Client(port, max_connections=clients, timeout=30) as client:
        parts = [asks[i::clients] for i in range(clients)]
        replies = await asyncio.gather(*(loadgen.send_each(client, part) for part in parts))
    return sum(1 for part in replies for reply in part if reply.status == 200)


async def measure(args: argparse.Namespace, children: Children, database: list[Any]) -> dict:
    data_dir = args.data_dir.resolve()
    settings = Settings(data_dir=data_dir, database_name=DB_NAME, database_url=None)
    database.append(await asyncio.to_thread(embedded_server, data_dir))
    await ensure_database(settings)
    url = database_url(settings)
    await asyncio.to_thread(upgrade_to_head, url)

    def encoder() -> Any:
        from app.embedding.encoder import load_encoder

        return load_encoder(Settings())

    conn = await asyncpg.connect(url)
    try:
        sizes = await ensure_corpus(
            conn, PLANS[args.plan].corpus, encoder, data_dir / "corpus.json", log
        )
    finally:
        await conn.close()
    texts = questions(list(sizes), seed=args.seed)
    asks = [
        orjson.dumps({"property_id": p, "question": q})
        for p, q in itertools.islice(texts, args.warmup + args.questions)
    ]
    requests = [loadgen.post_json("/ask", body) for body in asks]
    port = free_port()
    overrides = dict(item.split("=", 1) for item in args.env)
    env = child_env(data_dir, {"RAG_PORT": str(port), "RAG_LOG_LEVEL": "info", **overrides})
    log_file = data_dir / "logs" / "cpu_per_ask.log"
    began = time.perf_counter()
    proc = children.start([sys.executable, "-m", "app", "serve"], env, log_file)
    await wait_ready(proc, port, "/readyz", 120)
    out: dict[str, Any] = {"cold_start_s": round(time.perf_counter() - began, 2)}
    # The partitions read into the database's buffers behind start-up: not the requests' time.
    out["search_warm_wait_s"] = round(await wait_warm(port, 120), 2)
    await asyncio.sleep(1.0)
    out["rss_idle_mb"] = round(rss_mb(proc.pid), 1)
    await _send(port, requests[: args.warmup], args.clients)
    pg_pid = database[0].get_pid()
    await asyncio.sleep(1.5)  # backends flush their statistics when idle
    xacts0 = await _transactions(url)
    threads0 = _thread_cpu(proc.pid)
    service0, pg0, wall0 = cpu_seconds(proc.pid), cpu_seconds(pg_pid), time.perf_counter()
    ok = await _send(port, requests[args.warmup :], args.clients, args.rate)
    wall = time.perf_counter() - wall0
    service, pg = cpu_seconds(proc.pid) - service0, cpu_seconds(pg_pid) - pg0
    threads = _thread_cpu(proc.pid)
    main_thread = threads["main"] - threads0.get("main", 0.0)
    await asyncio.sleep(1.5)
    xacts = await _transactions(url) - xacts0 - 2  # less this script's own two reads
    out.update(
        {
            "answered": ok,
            "service_cpu_ms": round(service * 1000 / max(ok, 1), 2),
            "event_loop_cpu_ms": round(main_thread * 1000 / max(ok, 1), 2),
            "postgres_cpu_ms": round(pg * 1000 / max(ok, 1), 2),
            "transactions_per_request": round(xacts / max(ok, 1), 2),
            "wall_ms": round(wall * 1000 / max(ok, 1), 2),
            "rss_after_mb": round(rss_mb(proc.pid), 1),
            "threads_cpu_ms": {
                name: round((seconds - threads0.get(name, 0.0)) * 1000 / max(ok, 1), 2)
                for name, seconds in sorted(threads.items())
                if seconds - threads0.get(name, 0.0) > 0
            },
        }
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=400, help="distinct questions measured")
    parser.add_argument("--warmup", type=int, default=100, help="questions sent first, unmeasured")
    parser.add_argument("--clients", type=int, default=4, help="concurrent connections")
    parser.add_argument(
        "--rate", type=float, help="requests/s sent on a fixed schedule instead of --clients"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="RAG_X=VALUE",
        help="a setting for the service (repeatable), e.g. --env RAG_REQUESTS_ENABLED=true",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the question generator")
    parser.add_argument(
        "--plan", choices=sorted(PLANS), default="small", help="the corpus of scripts/bench's plan"
    )
    parser.add_argument("--data-dir", type=Path, help="data folder (default: .data/bench-PLAN)")
    args = parser.parse_args()
    if args.data_dir is None:
        suffix = "" if args.plan == "full" else f"-{args.plan}"
        args.data_dir = PROJECT_ROOT / ".data" / f"bench{suffix}"
    children = Children()
    database: list[Any] = []
    try:
        result = asyncio.run(measure(args, children, database))
    finally:
        children.stop_all()
        stop_database(database)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
