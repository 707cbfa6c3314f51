"""The bench's 32-client phase (or, with ``--rate``, its fixed-rate phase), alternated between
versions of the service on one database.

Each version is a checkout of the project (a worktree) and settings for it; every round starts
each version in turn on the full bench corpus (``scripts/bench`` builds it), warms it up at the
phase's concurrency, runs wrk's closed loop (or the fixed-rate schedule) and stops it.
Alternating in the same minutes is what makes two versions comparable on a shared machine,
where the same code's throughput moves by a fifth from one hour to the next::

    PYTHONPATH=scripts .venv/bin/python scripts/bench_ab.py --rounds 3 --seconds 15 \\
        new=. old=../old-checkout small-pool=.,RAG_DB_POOL_MAX=4

Prints each run's requests per second, P99 and CPU per request (service + PostgreSQL), then
each version's mean. With ``--cold`` each run only starts the version and times it from exec to
ready, as the bench's cold-start row does; it then prints each version's median.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import asyncpg
from benchlib.cli import (
    DB_NAME,
    CpuMeter,
    ask_requests,
    child_env,
    closed_loop,
    closed_phase,
    rate_phase,
    start_service,
    stop_database,
)
from benchlib.procs import Children, free_port

from app.config import PROJECT_ROOT, Settings
from app.db.server import database_url, embedded_server

Version = tuple[str, Path, dict[str, str]]


def parse_version(spec: str) -> Version:
    """``label=checkout[,RAG_X=value...]``."""
    label, _, rest = spec.partition("=")
    checkout, *settings = rest.split(",")
    if not label or not checkout:
        raise argparse.ArgumentTypeError(f"expected label=checkout[,RAG_X=V...], got {spec!r}")
    return label, Path(checkout).resolve(), dict(s.split("=", 1) for s in settings)


async def run(
    versions: list[Version],
    rounds: int,
    seconds: float,
    clients: int,
    rate: float | None,
    cold: bool = False,
) -> None:
    data_dir = PROJECT_ROOT / ".data" / "bench"
    server = await asyncio.to_thread(embedded_server, data_dir)
    children = Children()
    try:
        url = database_url(Settings(data_dir=data_dir, database_name=DB_NAME, database_url=None))
        conn = await asyncpg.connect(url)
        try:
            ids = [r["id"] for r in await conn.fetch("SELECT id FROM properties ORDER BY id")]
        finally:
            await conn.close()
        if not ids:
            raise SystemExit("no bench corpus: run scripts/bench first")
        asks = ask_requests(ids, seed=int(time.time()))
        rates: dict[str, list[float]] = {label: [] for label, _, _ in versions}
        costs: dict[str, list[float]] = {label: [] for label, _, _ in versions}
        starts: dict[str, list[float]] = {label: [] for label, _, _ in versions}
        for round_ in range(rounds):
            for label, checkout, settings in versions:
                port = free_port()
                env = child_env(data_dir, {"RAG_PORT": str(port), "RAG_LOG_LEVEL": "warning"})
                env.update(settings)
                env["PYTHONPATH"] = os.pathsep.join([str(checkout), str(checkout / "scripts")])
                log = data_dir / "logs" / f"ab-{label}.log"
                os.chdir(checkout)
                argv = [sys.executable, "-m", "app", "serve"]
                proc, ready = await start_service(children, argv, env, port, log, warm=not cold)
                if cold:
                    children.stop(proc)
                    starts[label].append(ready)
                    print(f"round {round_} {label:12s} ready in {ready:.3f} s", flush=True)
                    continue
                try:
                    await closed_loop(port, asks, clients, 3.0)
                    meter = CpuMeter(proc.pid, server.get_pid())
                    if rate:
                        phase = await rate_phase(port, asks, rate, seconds)
                    else:
                        phase = await closed_phase(
                            True, port, asks, clients, seconds, distinct=int(seconds * 400)
                        )
                    result = meter.per_request(phase)
                finally:
                    children.stop(proc)
                cpu = result["cpu_ms_per_request"]
                rates[label].append(result["rps"])
                costs[label].append(cpu["total"])
                print(
                    f"round {round_} {label:12s} {result['rps']:6.1f} req/s, "
                    f"P99 {result['p99_ms']:6.1f} ms, CPU {cpu['service']:.2f} + "
                    f"{cpu['postgres']:.2f} = {cpu['total']:.2f} ms/request, "
                    f"load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
        for label, values in starts.items():
            if values:
                print(f"{label}: median {statistics.median(values):.3f} s over {values}")
        for label, values in rates.items():
            if not values:
                continue
            cost = costs[label]
            print(
                f"{label}: mean {sum(values) / len(values):.1f} req/s over {values}; "
                f"CPU mean {sum(cost) / len(cost):.2f} ms/request over {cost}"
            )
    finally:
        children.stop_all()
        stop_database([server])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("versions", nargs="+", type=parse_version, help="label=checkout[,RAG_X=V]")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0, help="per run")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--rate", type=float, help="requests/s on a fixed schedule (the bench's first phase)"
    )
    parser.add_argument(
        "--cold", action="store_true", help="only time each start, from exec to ready"
    )
    args = parser.parse_args()
    asyncio.run(run(args.versions, args.rounds, args.seconds, args.clients, args.rate, args.cold))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
