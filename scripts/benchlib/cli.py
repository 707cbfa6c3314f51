"""``scripts/bench``: the whole experiment in one command, on one machine.

Starts the embedded PostgreSQL in a scratch data folder, builds (or reuses) the synthetic
corpus, measures the embedding path and the top-k query alone, then starts the service and the
naive baseline as separate processes and drives each with the load generator. Prints one table
with the targets, writes the JSON, and regenerates BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import itertools
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from app.config import PROJECT_ROOT, Settings
from app.db.migrate import drop_database, ensure_database, upgrade_to_head
from app.db.pool import create_pool
from app.db.properties import PropertyRegistry
from app.db.server import database_url, embedded_server
from app.embedding.cpu_features import this_cpu_flags, this_cpu_has_dot_products
from app.embedding.onnx_quantize import graph_precision
from app.search.retriever import Retriever
from benchlib import loadgen, report, topk, wrk
from benchlib.corpus import CorpusSpec, ensure_corpus
from benchlib.corpus_text import questions
from benchlib.procs import (
    Children,
    cpu_seconds,
    free_port,
    install_signal_handlers,
    rss_mb,
    wait_exit,
    wait_ready,
    wait_warm,
)
from benchlib.slices import alternated

DB_NAME = "concierge_bench"
NAIVE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Plan:
    """Durations and sizes of one run (full, --small or --smoke)."""

    name: str
    corpus: CorpusSpec
    rate: float
    clients: int
    rate_s: float
    clients_s: float
    cached_s: float
    naive_s: float
    embed_s: float
    topk_queries: int
    warmup: int


PLANS = {
    "full": Plan("full", CorpusSpec(50, 100_000), 100, 32, 20, 20, 10, 12, 5, 1000, 300),
    "small": Plan("small", CorpusSpec(10, 10_000), 100, 32, 10, 10, 5, 8, 3, 400, 200),
    "smoke": Plan(
        "smoke", CorpusSpec(3, 600, sentences_per_topic=20), 20, 8, 2, 2, 1.5, 2, 0.5, 40, 20
    ),
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--small", action="store_true", help="10 properties, 10k chunks, shorter phases"
    )
    size.add_argument(
        "--smoke", action="store_true", help="a tiny run (< 60 s) that checks the harness"
    )
    parser.add_argument("--properties", type=int, help="override the corpus's property count")
    parser.add_argument("--chunks", type=int, help="override the corpus's total chunks")
    parser.add_argument("--workers", type=int, default=1, help="service worker processes")
    parser.add_argument("--port", type=int, help="service port (default: a free one)")
    parser.add_argument("--naive-port", type=int, help="naive baseline port (default: a free one)")
    parser.add_argument(
        "--data-dir", type=Path, help="scratch data folder (default: .data/bench[-PLAN])"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="rebuild the corpus even if it matches"
    )
    parser.add_argument("--json", type=Path, help="results file (default: DATA_DIR/results.json)")
    parser.add_argument(
        "--markdown",
        type=Path,
        help="report file (default: BENCHMARKS.md, none for --smoke and --topk-only); "
        "'none' writes no report",
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    parser.add_argument(
        "--topk-only", action="store_true", help="build the corpus and measure the top-k query only"
    )
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="closed-loop load generator: wrk (a separate C process; auto uses it when "
        "installed) or the in-process one; the fixed-rate phase always uses the in-process one",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="RAG_X=VALUE",
        help="a setting for the service (repeatable), e.g. --env RAG_EMBEDDING_THREADS=2",
    )
    return parser.parse_args(argv)


def report_path(args: argparse.Namespace) -> Path | None:
    """Where the Markdown report goes: ``--markdown`` (``none``: nowhere), else BENCHMARKS.md
    for a full or small run and nowhere for the smoke and top-k-only runs."""
    if args.markdown is not None:
        return None if str(args.markdown) == "none" else args.markdown
    return None if args.smoke or args.topk_only else PROJECT_ROOT / "BENCHMARKS.md"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    plan = PLANS["smoke" if args.smoke else "small" if args.small else "full"]
    if args.properties or args.chunks:
        plan = Plan(
            **{
                **plan.__dict__,
                "corpus": CorpusSpec(
                    args.properties or plan.corpus.properties,
                    args.chunks or plan.corpus.chunks,
                    plan.corpus.sentences_per_topic,
                ),
            }
        )
    suffix = "" if plan.name == "full" else f"-{plan.name}"
    data_dir = (args.data_dir or PROJECT_ROOT / ".data" / f"bench{suffix}").resolve()
    json_path = args.json or data_dir / "results.json"
    md_path = report_path(args)
    data_dir.mkdir(parents=True, exist_ok=True)
    children = Children()
    database: list[Any] = []
    try:
        results = asyncio.run(run(plan, args, data_dir, children, database))
    except KeyboardInterrupt:
        log("interrupted: stopping every process started")
        return 130
    finally:
        children.stop_all()
        stop_database(database)
    table = report.rows(results)
    results["rows"] = table
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_bytes(
        orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    )
    print(report.text_table(table))
    print(f"\nresults: {json_path}")
    if md_path is not None:
        md_path.write_text(report.markdown(results, table))
        print(f"report:  {md_path}")
    return 0


def widest_vectors(flags: frozenset[str]) -> str:
    """The widest vector instructions among a CPU's flags: ``avx512f``, ``avx2``, ``asimd``
    (ARM), or ``other``."""
    return next((isa for isa in ("avx512f", "avx2", "asimd") if isa in flags), "other")


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        # What decides the model's speed: the widest vector instructions, and whether the CPU
        # has 8-bit dot products (which make the int8 graph the one served by default).
        "vectors": widest_vectors(this_cpu_flags() or frozenset()),
        "dot_products": this_cpu_has_dot_products(),
        "memory_gb": round(memory, 1),
        "python": platform.python_version(),
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def child_env(data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(
        {
            "RAG_DATA_DIR": str(data_dir),
            "RAG_DATABASE_NAME": DB_NAME,
            "RAG_HOST": "127.0.0.1",
            "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "scripts"), str(PROJECT_ROOT)]),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            # The load comes from one client address at rates far above a guest's: the
            # per-client and per-property limits would measure the limiter, not the service.
            "RAG_RATE_LIMIT_PER_CLIENT": "0",
            "RAG_RATE_LIMIT_PER_PROPERTY": "0",
            # The targets are for answering questions. Some synthetic questions ("can I borrow
            # an umbrella?") read as service requests, which the request desk files as tasks
            # (a database write each, never cached); --env RAG_REQUESTS_ENABLED=true measures
            # with the desk on.
            "RAG_REQUESTS_ENABLED": "false",
        }
    )
    env.update(extra)
    return env


def stop_database(database: list[Any]) -> None:
    """Stop the scratch PostgreSQL. Its own last-handle bookkeeping cannot be relied on here:
    a server child killed by a signal never removes its entry."""
    for server in database:
        try:
            server.stop()
        except Exception as exc:
            log(f"could not stop PostgreSQL cleanly: {exc}")
        (Path(server.pgdata) / ".handle_pids.json").unlink(missing_ok=True)
    database.clear()


async def run(
    plan: Plan, args: argparse.Namespace, data_dir: Path, children: Children, database: list[Any]
) -> dict[str, Any]:
    started = time.perf_counter()
    overrides = dict(item.split("=", 1) for item in args.env)
    results: dict[str, Any] = {
        "meta": {
            "command": shlex.join(["scripts/bench", *sys.argv[1:]]),
            "plan": plan.name,
            "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit(),
            "machine": machine(),
            "service_env": overrides,
        }
    }
    settings = Settings(data_dir=data_dir, database_name=DB_NAME, database_url=None)
    log(f"starting PostgreSQL in {data_dir}")
    database.append(await asyncio.to_thread(embedded_server, data_dir))
    if args.fresh:
        await drop_database(settings)
    await ensure_database(settings)
    url = database_url(settings)
    await asyncio.to_thread(upgrade_to_head, url)

    encoder_box: list[Any] = []

    def encoder() -> Any:
        if not encoder_box:
            from app.embedding.encoder import load_encoder

            # The service's model (RAG_EMBEDDING_MODEL among --env), so that questions and
            # chunks are embedded alike.
            encoder_box.append(load_encoder(_service_settings(Settings(), overrides)))
        return encoder_box[0]

    import asyncpg

    model = overrides.get("RAG_EMBEDDING_MODEL", os.environ.get("RAG_EMBEDDING_MODEL", "minilm"))
    spec = dataclasses.replace(plan.corpus, model=model)
    conn = await asyncpg.connect(url)
    try:
        sizes = await ensure_corpus(conn, spec, encoder, data_dir / "corpus.json", log)
    finally:
        await conn.close()
    ids = list(sizes)
    results["meta"]["corpus"] = {
        "properties": len(sizes),
        "chunks": sum(sizes.values()),
        "largest": max(sizes.values()),
        "smallest": min(sizes.values()),
        "fingerprint": spec.fingerprint(),
        "model": model,
    }

    log("top-k query alone")
    query_texts = [q for _, q in itertools.islice(questions(ids, seed=99), plan.topk_queries)]
    vectors = np.concatenate(
        [encoder().encode(query_texts[i : i + 64]) for i in range(0, len(query_texts), 64)]
    )
    encoder_box.clear()
    results["topk"] = await _topk(url, settings, overrides, vectors)
    log(f"  {results['topk']}")
    if args.topk_only:
        results["meta"]["machine"]["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        results["meta"]["elapsed_s"] = round(time.perf_counter() - started, 1)
        return results

    log("embedding throughput (child process)")
    results["embedding"] = await _embedding(plan, data_dir, overrides, children)
    log(f"  {results['embedding']}")

    asks = ask_requests(ids, seed=1)
    port = args.port or free_port()
    pg_pid = database[0].get_pid() if database else None
    results["service"] = await _service(
        plan, args, data_dir, overrides, children, port, asks, pg_pid
    )
    if not args.no_naive:
        naive_port = args.naive_port or free_port()
        results["naive"] = await _naive(plan, data_dir, url, children, naive_port, asks)
    results["meta"]["machine"]["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["meta"]["elapsed_s"] = round(time.perf_counter() - started, 1)
    return results


async def _topk(
    url: str, base: Settings, overrides: dict[str, str], vectors: np.ndarray
) -> dict[str, Any]:
    settings = _service_settings(base, overrides)
    pool = await create_pool(url, settings)
    try:
        registry = PropertyRegistry(pool, url)
        await registry.reload()
        states = list(registry.snapshot().values())
        retriever = Retriever(
            pool,
            settings.exact_search_max_chunks,
            ef_search_by_size=settings.hnsw_ef_search_by_size,
        )
        result = await topk.measure(
            pool,
            retriever,
            states,
            vectors,
            settings.top_k,
            warm_budget_s=settings.search_warm_budget_s,
        )
        result["exact_search_max_chunks"] = settings.exact_search_max_chunks
        result["hnsw_ef_search"] = settings.hnsw_ef_search
        result["hnsw_ef_search_by_size"] = {
            str(k): v for k, v in settings.hnsw_ef_search_by_size.items()
        }
        return result
    finally:
        await pool.close()


def _service_settings(base: Settings, overrides: dict[str, str]) -> Settings:
    fields = {k[4:].lower(): v for k, v in overrides.items() if k.startswith("RAG_")}
    return Settings(**{**base.model_dump(), **fields})


async def _embedding(
    plan: Plan, data_dir: Path, overrides: dict[str, str], children: Children
) -> dict[str, Any]:
    log_file = data_dir / "logs" / "embedbench.log"
    proc = children.start(
        [sys.executable, "-m", "benchlib.embedbench", str(plan.embed_s), "64"],
        child_env(data_dir, {**overrides, "RAG_LOG_LEVEL": "warning"}),
        log_file,
    )
    try:
        await wait_exit(proc, 300 + plan.embed_s * 3)
    finally:
        children.stop(proc)
    text = await asyncio.to_thread(log_file.read_text)
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"embedding benchmark failed; see {log_file}")
    data: dict[str, Any] = json.loads(lines[-1])
    return data


def ask_requests(ids: list[str], seed: int) -> Iterator[bytes]:
    for prop, question in questions(ids, seed):
        yield loadgen.post_json("/ask", orjson.dumps({"property_id": prop, "question": question}))


class CpuMeter:
    """CPU time the service and PostgreSQL spend per answered request during one phase.

    It moves far less than latency when other programs share the machine, so it estimates
    what the same code would do on dedicated cores: cores x 1000 / ms per request.
    """

    def __init__(self, service_pid: int, pg_pid: int | None) -> None:
        self._pids = {"service": service_pid, "postgres": pg_pid}
        self._start = {k: cpu_seconds(p) if p else 0.0 for k, p in self._pids.items()}

    def per_request(self, summary: dict[str, Any]) -> dict[str, Any]:
        ok = max(1, int(summary.get("ok") or 0))
        used = {
            k: (cpu_seconds(p) - self._start[k]) * 1000 / ok if p else None
            for k, p in self._pids.items()
        }
        total = sum(v for v in used.values() if v is not None)
        cores = os.cpu_count() or 1
        summary["cpu_ms_per_request"] = {
            **{k: round(v, 2) for k, v in used.items() if v is not None},
            "total": round(total, 2),
        }
        summary["capacity_rps_on_dedicated_cores"] = round(cores * 1000 / total) if total else None
        return summary


class CachedFlagCounter:
    """Counts /ask responses served from the cache, without parsing them."""

    def __init__(self) -> None:
        self.cached = 0

    def __call__(self, body: bytes) -> None:
        if b'"cached":true' in body:
            self.cached += 1


class StageCollector:
    """Collects ``timings_ms`` and the ``cached`` flag from /ask responses."""

    def __init__(self) -> None:
        self.stages: dict[str, list[float]] = {}
        self.cached = 0

    def __call__(self, body: bytes) -> None:
        data = orjson.loads(body)
        if data.get("cached"):
            self.cached += 1
        for name, value in (data.get("timings_ms") or {}).items():
            self.stages.setdefault(name, []).append(float(value))

    def summary(self) -> dict[str, Any]:
        return {
            name: {
                "p50": round(float(np.percentile(v, 50)), 2),
                "p99": round(float(np.percentile(v, 99)), 2),
            }
            for name, v in self.stages.items()
        }


async def rate_phase(
    port: int, asks: Iterator[bytes], rate: float, seconds: float, timeout_s: float = 10
) -> dict[str, Any]:
    """Open loop at a fixed rate (in-process: wrk cannot schedule arrivals); the generator's
    own CPU is this process's CPU during the phase."""
    collector = StageCollector()
    cpu0, began = time.process_time(), time.perf_counter()
    async with loadgen.Client(port, max_connections=256, timeout=timeout_s) as client:
        replies, skipped = await loadgen.open_loop(
            client, rate, seconds, loadgen.sending(asks), max_outstanding=256
        )
    elapsed = time.perf_counter() - began
    result = loadgen.Result("open-loop", max(seconds, elapsed), replies, skipped, target_rate=rate)
    summary = result.summary()
    generator = wrk.generator_cpu(time.process_time() - cpu0, elapsed, result.ok)
    _read_bodies(replies, collector)
    return {
        **summary,
        "generator": "python",
        "generator_cpu": generator,
        "stages": collector.summary(),
        "cached_answers": collector.cached,
    }


def _read_bodies(replies: list[loadgen.Reply], on_body: Callable[[bytes], None]) -> None:
    for reply in replies:
        if reply.status == 200:
            on_body(reply.body)


async def closed_loop(
    port: int, requests: Iterator[bytes], clients: int, seconds: float, timeout_s: float = 10
) -> loadgen.Result:
    began = time.perf_counter()
    async with loadgen.Client(port, max_connections=clients, timeout=timeout_s) as client:
        replies = await loadgen.closed_loop(
            client, clients, loadgen.sending(requests), duration=seconds
        )
    elapsed = time.perf_counter() - began
    return loadgen.Result("closed-loop", elapsed, replies, clients=clients)


def _use_wrk(args: argparse.Namespace) -> bool:
    if args.generator == "python":
        return False
    if args.generator == "wrk" and not wrk.available():
        raise RuntimeError("--generator wrk: wrk is not installed (apt-get install -y wrk)")
    return wrk.available()


async def closed_phase(
    use_wrk: bool,
    port: int,
    requests: Iterator[bytes],
    clients: int,
    seconds: float,
    *,
    distinct: int,
    collect: str = "timings",
    timeout_s: float = 10,
) -> dict[str, Any]:
    """Closed loop with ``clients`` connections: wrk when available, else in-process.

    wrk cycles through ``distinct`` requests taken from ``requests`` (enough that none repeats
    in an uncached phase); the in-process generator draws from ``requests`` as it goes.
    """
    if use_wrk:
        batch = list(itertools.islice(requests, distinct))
        return await wrk.closed_loop(
            port, batch, clients, seconds, collect=collect, timeout_s=timeout_s
        )
    on_body: Any = StageCollector() if collect == "timings" else CachedFlagCounter()
    cpu0, began = time.process_time(), time.perf_counter()
    result = await closed_loop(port, requests, clients, seconds, timeout_s)
    summary = result.summary()
    out = {
        **summary,
        "generator": "python",
        "generator_cpu": wrk.generator_cpu(
            time.process_time() - cpu0, time.perf_counter() - began, result.ok
        ),
        "cached_answers": 0,
    }
    if collect != "none":
        _read_bodies(result.replies, on_body)
        out["cached_answers"] = on_body.cached
    if isinstance(on_body, StageCollector):
        out["stages"] = on_body.summary()
    return out


async def start_service(
    children: Children,
    argv: list[str],
    env: dict[str, str],
    port: int,
    log_file: Path,
    warm: bool = True,
) -> tuple[subprocess.Popen[bytes], float]:
    began = time.perf_counter()
    proc = children.start(argv, env, log_file)
    try:
        await wait_ready(proc, port, "/readyz" if "app" in argv else "/healthz", 120)
        ready = time.perf_counter() - began
        if warm and "app" in argv:
            # Not part of the cold start: the service answers meanwhile, but the database
            # time it spends would be counted against the measured requests.
            await wait_warm(port, 120)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}; see {log_file}") from None
    return proc, ready


async def _service(
    plan: Plan,
    args: argparse.Namespace,
    data_dir: Path,
    overrides: dict[str, str],
    children: Children,
    port: int,
    asks: Iterator[bytes],
    pg_pid: int | None = None,
) -> dict[str, Any]:
    log_file = data_dir / "logs" / "service.log"
    env = child_env(data_dir, {"RAG_PORT": str(port), "RAG_LOG_LEVEL": "info", **overrides})
    argv = [sys.executable, "-m", "app", "serve", "--workers", str(args.workers)]
    log(f"service: {' '.join(argv[1:])} on :{port}")
    proc, cold = await start_service(children, argv, env, port, log_file)
    out: dict[str, Any] = {"cold_start_s": round(cold, 3), "workers": args.workers}
    use_wrk = _use_wrk(args)
    try:
        # Warm-up at the run's concurrency, so batches (and the runtime's buffers) reach their
        # working size before memory is read.
        await closed_loop(port, asks, plan.clients, max(1.0, plan.warmup / 100))
        out["rss_warm_mb"] = round(rss_mb(proc.pid), 1)
        rss_series = out["rss_series_mb"] = {"warm": out["rss_warm_mb"]}
        cpu0 = cpu_seconds(proc.pid)
        log(
            f"  cold start {cold:.2f}s, RSS {out['rss_warm_mb']} MB; "
            f"{plan.rate:.0f} req/s for {plan.rate_s:.0f}s"
        )
        meter = CpuMeter(proc.pid, pg_pid)
        out["uncached_rate"] = meter.per_request(
            await rate_phase(port, asks, plan.rate, plan.rate_s)
        )
        log(f"  {plan.clients} clients for {plan.clients_s:.0f}s")
        rss_series["after_rate"] = round(rss_mb(proc.pid), 1)
        meter = CpuMeter(proc.pid, pg_pid)
        out["uncached_clients"] = meter.per_request(
            await closed_phase(
                use_wrk,
                port,
                asks,
                plan.clients,
                plan.clients_s,
                distinct=_distinct(plan.clients_s),
            )
        )
        rss_series["after_clients"] = round(rss_mb(proc.pid), 1)
        out["unexpected_cache_hits"] = (
            out["uncached_rate"]["cached_answers"] + out["uncached_clients"]["cached_answers"]
        )
        log("  cached /ask and no-op /healthz")
        primed = [next(asks) for _ in range(64)]
        async with loadgen.Client(port, max_connections=1) as client:
            await loadgen.send_each(client, primed)  # compute each answer once
        # The cached phase only checks the flag (no JSON parsing in the client), so that the
        # load generator spends the same per request here as on the no-op endpoint.
        cycled = itertools.cycle(primed)

        async def cached(seconds: float) -> dict[str, Any]:
            return await closed_phase(
                use_wrk, port, cycled, plan.clients, seconds, distinct=len(primed), collect="flag"
            )

        async def noop(seconds: float) -> dict[str, Any]:
            healthz = itertools.repeat(loadgen.get("/healthz"))
            return await closed_phase(
                use_wrk, port, healthz, plan.clients, seconds, distinct=1, collect="none"
            )

        # In turns, so that the machine's speed changing meanwhile does not move the ratio.
        out["cached"], out["noop"] = await alternated(cached, noop, plan.cached_s)
        out["cpu_s"] = round(cpu_seconds(proc.pid) - cpu0, 1)
        out["rss_end_mb"] = round(rss_mb(proc.pid), 1)
    finally:
        children.stop(proc)
    # Read after the run: with several workers, the others may log after the first is ready.
    text = await asyncio.to_thread(log_file.read_text)
    backend = re.search(r"embedding model (\S+) loaded on \w+ with (\w+)", text)
    out["backend"] = backend.group(2) if backend else "?"
    if backend and backend.group(2) == "onnx":
        out["graph"] = graph_precision(backend.group(1))
    for key in ("uncached_rate", "uncached_clients", "cached", "noop"):
        log(f"  {key}: {_brief(out.get(key))}")
    return out


async def _naive(
    plan: Plan,
    data_dir: Path,
    url: str,
    children: Children,
    port: int,
    asks: Iterator[bytes],
) -> dict[str, Any]:
    log_file = data_dir / "logs" / "naive.log"
    env = child_env(data_dir, {"NAIVE_DATABASE_URL": url, "NAIVE_PORT": str(port)})
    argv = [sys.executable, "-m", "benchlib.naive_server"]
    log(f"naive baseline on :{port}")
    proc, cold = await start_service(children, argv, env, port, log_file)
    out: dict[str, Any] = {"cold_start_s": round(cold, 3)}
    try:
        await closed_loop(port, asks, 2, 1.0)
        out["rss_warm_mb"] = round(rss_mb(proc.pid), 1)
        # A generous timeout: the baseline answers slowly but does answer, and its slowness is
        # the measurement. The fixed-rate phase is kept short, since it cannot keep up.
        # In-process: the baseline answers in seconds, and wrk drops what is still in flight
        # when its time is up (at tens of requests per second the generator's cost is nil).
        out["uncached_clients"] = await closed_phase(
            False,
            port,
            asks,
            plan.clients,
            plan.naive_s,
            distinct=_distinct(plan.naive_s),
            timeout_s=NAIVE_TIMEOUT_S,
        )
        out["uncached_rate"] = await rate_phase(
            port, asks, plan.rate, max(1.0, plan.naive_s / 2), timeout_s=NAIVE_TIMEOUT_S
        )
        out["rss_end_mb"] = round(rss_mb(proc.pid), 1)
    finally:
        children.stop(proc)
    for key in ("uncached_clients", "uncached_rate"):
        log(f"  naive {key}: {_brief(out.get(key))}")
    return out


def _distinct(seconds: float, max_rps: float = 800) -> int:
    """Distinct questions for a closed-loop phase: more than it can answer in ``seconds``."""
    return max(2000, int(seconds * max_rps))


def _brief(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "n/a"
    return (
        f"{summary['rps']} req/s, P50 {summary['p50_ms']} P99 {summary['p99_ms']} ms, "
        f"{summary['errors']} errors, generator {summary.get('generator', '?')} "
        f"{_get_share(summary)}"
    )


def _get_share(summary: dict[str, Any]) -> str:
    cpu = summary.get("generator_cpu") or {}
    return f"{cpu.get('core_share', 0) * 100:.0f}% of a core" if cpu else ""
