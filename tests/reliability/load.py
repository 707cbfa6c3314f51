"""Scenarios against a real server process: overload, soak, SIGTERM under load."""

from __future__ import annotations

import asyncio
import random
import signal
import time

from benchlib.loadgen import (
    CLOSED_BEFORE_RESPONSE,
    PARTIAL,
    REFUSED,
    Client,
    MakeRequest,
    Reply,
    closed_loop,
    open_loop,
    percentile,
)

from tests.reliability.harness import Env, Outcome, ServerProcess, ingest, tag

DOCS = {
    "pool.md": "# Pool\n\nThe pool opens at 07:00 and closes at 22:00. Towels are at the bar.",
    "breakfast.md": "# Breakfast\n\nBreakfast is served from 06:30 to 10:30 in the Garden Room.",
    "parking.md": "# Parking\n\nParking costs 25 EUR per night in the garage under the hotel.",
    "wifi.md": "# Wifi\n\nThe wifi network is Guest and the password is seashell42.",
}
WORDS = "pool breakfast parking wifi towel garage password garden night bar open close".split()


def distinct_question(rng: random.Random) -> str:
    """An information question no one asked before: the cache cannot answer it, and it is
    worded as a question about the hotel, so the front desk leaves it to the search and the
    answer writer (three bare words may read as small talk or a request to the classifier,
    and one word three times can pull the test's hashing vectors to a single example)."""
    return f"where is the {' '.join(rng.sample(WORDS, k=3))} {rng.randrange(10**9)}?"


def distinct_asks(property_id: str, rng: random.Random) -> MakeRequest:
    """Questions to ``property_id``'s /ask, each one no one asked before."""

    async def ask(client: Client, i: int) -> Reply:
        body = {"property_id": property_id, "question": distinct_question(rng)}
        return await client.request("POST", "/ask", json=body)

    return ask


async def _load_property(env: Env, prefix: str) -> str:
    property_id = f"{prefix}-{tag()}"
    await ingest(env, property_id, DOCS, name=property_id)
    return property_id


async def overload(env: Env, factor: float = 10.0, duration: float = 6.0) -> Outcome:
    """Offer ``factor`` x the sustainable rate: expect shedding (503/429), bounded memory, and
    the usual latency once the burst is over."""
    outcome = Outcome("overload", f"{factor:g}x sustainable rate for {duration:g}s")
    property_id = await _load_property(env, "load")
    rng = random.Random(7)
    ms_per_text = 40.0  # a model that sustains ~25 questions/s, whatever the machine
    ask = distinct_asks(property_id, rng)

    server = ServerProcess(
        env,
        encode_ms=ms_per_text,
        batch_ms=2,
        batch_queue_size=32,
        batch_max_size=16,
        rate_limit_per_property=75,
        rate_limit_property_burst=75,
    )
    async with server:
        client = Client(server.port, max_connections=512, timeout=30)
        before = await closed_loop(client, 4, ask, duration=3.0)
        sustainable = sum(r.status == 200 for r in before) / 3.0
        p50_before = percentile([r.latency for r in before if r.status == 200], 50)
        rss_before = server.rss_kb()
        peak_rss = rss_before
        sampling = True

        async def sample_rss() -> None:
            nonlocal peak_rss
            while sampling:
                peak_rss = max(peak_rss, server.rss_kb())
                await asyncio.sleep(0.1)

        sampler = asyncio.create_task(sample_rss())
        offered = sustainable * factor
        started = time.monotonic()
        during, skipped = await open_loop(client, offered, duration, ask, max_outstanding=500)
        elapsed = time.monotonic() - started
        sampling = False
        await sampler
        await client.close()
        await server.quiet_stats()
        client = Client(server.port, max_connections=8, timeout=30)
        after = await closed_loop(client, 4, ask, duration=3.0)
        await client.close()
        p50_after = percentile([r.latency for r in after if r.status == 200], 50)

    replies = before + during + after
    outcome.requests = len(replies)
    outcome.errors.update(r.kind for r in replies if r.status != 200)
    kinds = {r.kind for r in during}
    shed = sum(r.status in (429, 503) for r in during)
    outcome.check("sustainable req/s", f"{sustainable:.0f}", sustainable > 5)
    sent = len(during) / elapsed
    capped = f" ({skipped} over the in-flight cap)" if skipped else ""
    outcome.check("offered/sent req/s", f"{offered:.0f}/{sent:.0f}{capped}", sent > 5 * sustainable)
    outcome.check("shed 503/429", shed, shed > len(during) / 2)
    outcome.check(
        "other errors", len(kinds - {"200", "429", "503"}), kinds <= {"200", "429", "503"}
    )
    growth_mb = (peak_rss - rss_before) / 1024
    outcome.check("RSS growth MB", f"{growth_mb:.1f}", growth_mb < 64)
    answered_after = sum(r.status == 200 for r in after)
    outcome.check(
        "answered after the burst",
        f"{answered_after}/{len(after)}",
        answered_after > 0.9 * len(after),
    )
    outcome.check(
        "p50 ms before/after",
        f"{p50_before * 1000:.0f}/{p50_after * 1000:.0f}",
        p50_after <= 1.5 * p50_before + 0.02,
    )
    return outcome


async def soak(env: Env, duration: float = 20.0, rate: float = 60.0) -> Outcome:
    """Steady mixed load: after warm-up, RSS grows < 5% and connections, descriptors, tasks and
    threads do not grow at all."""
    outcome = Outcome("soak", f"{rate:g} req/s mixed for {duration:g}s, peak in warm-up")
    property_id = await _load_property(env, "soak")
    rng = random.Random(11)
    repeated = [f"when does the {w} open" for w in WORDS]

    async def mixed(client: Client, i: int) -> Reply:
        roll = rng.random()
        if roll < 0.55:
            body: dict[str, object] = {
                "property_id": property_id,
                "question": distinct_question(rng),
            }
        elif roll < 0.85:
            body = {"property_id": property_id, "question": rng.choice(repeated)}
        elif roll < 0.95:
            body = {"property_id": f"missing-{rng.randrange(10**6)}", "question": "pool?"}
        else:
            body = {"property_id": property_id, "question": ""}
        return await client.request("POST", "/ask", json=body)

    cache_size = 200
    warmup = max(3.0, duration * 0.25)
    async with ServerProcess(env, encode_ms=1, cache_max_entries=cache_size) as server:
        client = Client(server.port, max_connections=16, timeout=15)
        first, _ = await open_loop(client, rate, warmup, mixed, max_outstanding=64)
        # A short peak, so lazily grown resources (pool connections, executor threads)
        # reach the size the steady load can ever need before the baseline is taken.
        first += await closed_loop(client, 32, mixed, duration=1.5)
        await client.close()
        warm = await server.quiet_stats()
        warm_rss = server.rss_kb()
        client = Client(server.port, max_connections=16, timeout=15)
        second, skipped = await open_loop(
            client, rate, duration - warmup, mixed, max_outstanding=64
        )
        await client.close()
        end = await server.quiet_stats()
        end_rss = server.rss_kb()

    replies = first + second
    outcome.requests = len(replies)
    outcome.errors.update(r.kind for r in replies if r.status != 200)
    unexpected = {r.kind for r in replies} - {"200", "404", "422"}
    outcome.check("unexpected kinds", len(unexpected), not unexpected and skipped == 0)
    growth = (end_rss - warm_rss) / warm_rss * 100
    outcome.check("RSS growth %", f"{growth:+.1f}", growth < 5)
    for key in ("fds", "threads", "tasks", "pool_size"):
        outcome.check(f"{key}", f"{warm[key]}->{end[key]}", end[key] <= warm[key])
    outcome.check("cache entries", end["cache_entries"], end["cache_entries"] <= cache_size)
    return outcome


async def sigterm_under_load(env: Env) -> Outcome:
    """SIGTERM while requests are in flight: each one is answered 200 or refused before the
    application saw it; none is lost or cut short."""
    outcome = Outcome("sigterm", "SIGTERM under 24 concurrent clients")
    property_id = await _load_property(env, "term")
    rng = random.Random(3)
    accepted_log = env.workdir / f"accepted-{tag()}.json"
    server = ServerProcess(env, encode_ms=15, batch_max_size=8, accepted_log=accepted_log)
    signalled = 0.0
    ask = distinct_asks(property_id, rng)

    async with server:
        client = Client(server.port, max_connections=24, timeout=30)
        done_before = asyncio.Event()
        count = 0

        def stop(reply: Reply) -> bool:
            nonlocal count
            count += 1
            if count >= 150:
                done_before.set()
            return reply.error == REFUSED

        load = asyncio.create_task(closed_loop(client, 24, ask, stop=stop))
        await done_before.wait()
        signalled = time.monotonic()
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            replies = await load
        await client.close()
        status = await asyncio.to_thread(server.terminate)
        log = server.log()

    accepted = set(accepted_log.read_text().split())
    ok = {r.request_id for r in replies if r.status == 200}
    outcome.requests = len(replies)
    outcome.errors.update(r.kind for r in replies if r.status != 200)
    finished_after = sum(1 for r in replies if r.status == 200 and r.started < signalled < r.ended)
    outcome.check("accepted but not answered", len(accepted - ok), not accepted - ok)
    outcome.check(
        "cut short",
        sum(r.error == PARTIAL for r in replies),
        not any(r.error == PARTIAL for r in replies),
    )
    bad = {r.kind for r in replies} - {"200", REFUSED, CLOSED_BEFORE_RESPONSE}
    outcome.check("other outcomes", len(bad), not bad)
    outcome.check("in flight at SIGTERM, then 200", finished_after, finished_after > 0)
    clean = status in (0, -signal.SIGTERM) and "Application shutdown complete" in log
    outcome.check("clean exit", status, clean)
    return outcome
