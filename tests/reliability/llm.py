"""The answer model fails under guest load: killed, slow, talking garbage, then healthy again.

The model is a :class:`~tests.faults.FaultServer` in this process, behind one URL whose
behaviour the scenario switches while a real server process answers a steady stream of guests
(plain and streamed ``/ask``). Every guest must get a 200 with an answer: while the model
fails, the extractive fallback within the time budget; the circuit breaker must keep calls to
the broken model few; once the model is healthy, generated answers come back by themselves.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from benchlib.loadgen import Client, Reply, open_loop, percentile

from app.answering.generative import FALLBACK_SOURCE
from tests.faults import FaultServer
from tests.reliability.harness import Env, Outcome, ServerProcess, count_errors, ingest, tag
from tests.waiting import wait_until

# Every question of the scenario asks for the check-out time, well above the answer threshold
# with the hashing encoder, so each one is either generated or answered extractively.
DOCS = {
    "checkout.md": "# Check-out time\n\nCheck-out time is 11:00 for every room. "
    "Late check-out costs 35 EUR.",
    "pool.md": "# Pool\n\nThe pool opens at 07:00 and closes at 22:00. Towels are at the bar.",
    "parking.md": "# Parking\n\nParking costs 25 EUR per night in the garage under the hotel.",
}

# The model's time budget, short so that each fault shows within a phase of a few seconds.
TTFT_S = 0.6
STALL_S = 0.4
TOTAL_S = 1.5
QUEUE_WAIT_S = 0.2
RETRIES = 1
BREAKER_FAILURES = 3
BREAKER_RESET_S = 1.0
CONCURRENCY = 4
# A guest's wait for a fallback: a generation slot (at most the queue wait), then at most the
# total timeout; the slack covers retrieval and scheduling on a busy 2-core machine that also
# runs this load generator and the fault server.
BUDGET_S = QUEUE_WAIT_S + TOTAL_S + 0.8
# Once the model is healthy: a trial in flight at that moment may still fail and open the
# circuit again, then the next trial comes after the reset time and succeeds within the budget.
RECOVERY_S = BREAKER_RESET_S + BUDGET_S


@dataclass(slots=True)
class Exchange:
    """One guest request and the answer it got (from the ``done`` event when streamed)."""

    reply: Reply
    streamed: bool
    answer: str = ""
    source: str | None = None
    reason: str | None = None
    problem: str | None = None  # why the guest got no usable answer; None when it did

    @classmethod
    def of(cls, reply: Reply, streamed: bool) -> Exchange:
        exchange = cls(reply, streamed)
        if reply.status != 200:
            exchange.problem = reply.kind
            return exchange
        try:
            body = _done_event(reply.body) if streamed else reply.json()
        except ValueError as exc:  # also orjson's decode error
            exchange.problem = str(exc)[:80]
            return exchange
        if not isinstance(body, dict):
            exchange.problem = "not an object"
            return exchange
        answer = body.get("answer")
        exchange.answer = answer if isinstance(answer, str) else ""
        exchange.source = body.get("answer_source")
        exchange.reason = body.get("fallback_reason")
        if not exchange.answer.strip():
            exchange.problem = "empty answer"
        return exchange


def _done_event(raw: bytes) -> object:
    """The data of the stream's ``done`` event; ValueError for an ``error`` event or none."""
    done: object = None
    for block in raw.split(b"\n\n"):
        fields = dict(line.split(b": ", 1) for line in block.split(b"\n") if b": " in line)
        if fields.get(b"event") == b"error":
            raise ValueError(f"error event {fields.get(b'data', b'')!r}")
        if fields.get(b"event") == b"done":
            done = orjson.loads(fields.get(b"data", b""))
    if done is None:
        raise ValueError("no done event")
    return done


@dataclass(slots=True)
class Phase:
    """A stretch of the run with one model behaviour (``mode``; None: nothing listens)."""

    name: str
    mode: str | None
    reason: str | None = None  # the fallback reason this fault must cause
    start: float = 0.0
    end: float = math.inf
    completed: bool = False


FAULTS = (
    Phase("killed", None, "unreachable"),
    Phase("late headers", "slow_first", "timeout"),
    Phase("stalls", "stall", "timeout"),
    Phase("malformed", "malformed", "malformed_event"),
    Phase("500s", "error500", "http_error"),
)


def _within(exchanges: list[Exchange], phase: Phase) -> list[Exchange]:
    """The exchanges that started and ended inside ``phase``."""
    return [e for e in exchanges if phase.start <= e.reply.started and e.reply.ended <= phase.end]


async def _run_phase(
    fault: FaultServer, phase: Phase, ready: Callable[[], bool], min_s: float, limit_s: float
) -> None:
    """Switch the model to the phase's behaviour and keep it until at least ``min_s`` have
    passed and ``ready()`` holds, or ``limit_s`` have passed (``completed`` stays False)."""
    phase.start = time.monotonic()
    if phase.mode is None:
        await fault.stop()
    else:
        fault.live = phase.mode
        if not fault.listening:
            await fault.start()
    while True:
        elapsed = time.monotonic() - phase.start
        if elapsed >= min_s and ready():
            phase.completed = True
            break
        if elapsed >= limit_s:
            break
        await asyncio.sleep(0.02)
    phase.end = time.monotonic()


async def llm_faults(
    env: Env, rate: float = 16.0, phase_s: float = 2.0, stream_every: int = 4
) -> Outcome:
    """Steady guest load at ``rate`` requests/s (every ``stream_every``-th one streamed) while
    the model is healthy, killed, late with its headers, stalled mid-stream, sending malformed
    events, answering 500, then healthy again; each phase lasts at least ``phase_s``."""
    names = ", ".join(p.name for p in FAULTS)
    outcome = Outcome("llm-faults", f"LLM {names}, back; {rate:g} req/s")
    property_id = f"llm-{tag()}"
    await ingest(env, property_id, DOCS, name=property_id)
    fault = FaultServer()
    await fault.start()
    exchanges: list[Exchange] = []
    min_replies = 10

    async def ask(client: Client, i: int) -> Reply:
        streamed = i % stream_every == 0
        # A question no one asked before, so that no answer comes from the cache.
        question = f"What time is check-out for room {i}?"
        body = {"property_id": property_id, "question": question, "stream": streamed}
        reply = await client.request("POST", "/ask", json=body)
        exchanges.append(Exchange.of(reply, streamed))
        return reply

    server = ServerProcess(
        env,
        answer_writer="openai",
        llm_api="chat",
        llm_base_url=fault.url("live"),
        llm_model="fault-model",
        llm_max_tokens=64,
        llm_connect_timeout_s=0.5,
        llm_ttft_timeout_s=TTFT_S,
        llm_stall_timeout_s=STALL_S,
        llm_total_timeout_s=TOTAL_S,
        llm_retries=RETRIES,
        llm_breaker_failures=BREAKER_FAILURES,
        llm_breaker_reset_s=BREAKER_RESET_S,
        llm_max_concurrency=CONCURRENCY,
        llm_queue_wait_s=QUEUE_WAIT_S,
        request_timeout_s=TOTAL_S + 5,
    )
    healthy = Phase("healthy", "ok")
    recovered = Phase("healthy again", "ok")
    recovered_at: float | None = None
    calls_before = calls_after = 0
    try:
        async with server:
            client = Client(server.port, max_connections=128, timeout=15)
            stop = asyncio.Event()
            load = asyncio.create_task(
                open_loop(client, rate, math.inf, ask, max_outstanding=sys.maxsize, until=stop)
            )
            limit_s = phase_s + 8

            def healthy_ready() -> bool:
                done = _within(exchanges, healthy)
                return len(done) >= min_replies and any(e.streamed for e in done)

            def fault_ready(phase: Phase) -> Callable[[], bool]:
                return lambda: any(
                    e.reply.started >= phase.start and e.reason == phase.reason for e in exchanges
                )

            def recovered_ready() -> bool:
                nonlocal recovered_at
                if recovered_at is None:
                    generated = [
                        e.reply.ended
                        for e in exchanges
                        if e.reply.started >= recovered.start and e.source == "openai"
                    ]
                    if not generated:
                        return False
                    recovered_at = min(generated)
                after = [e for e in exchanges if e.reply.started >= recovered_at]
                return len(after) >= min_replies and any(e.streamed for e in after)

            try:
                await _run_phase(fault, healthy, healthy_ready, phase_s, limit_s)
                calls_before = fault.requests.total()
                for phase in FAULTS:
                    await _run_phase(fault, phase, fault_ready(phase), phase_s, limit_s)
                calls_after = fault.requests.total()
                await _run_phase(fault, recovered, recovered_ready, 0, RECOVERY_S + limit_s)
            finally:
                stop.set()
                replies, _ = await load
                await client.close()
            try:
                await wait_until(lambda: fault.open_connections == 0, 5.0, "LLM connections closed")
                idle = True
            except TimeoutError:
                idle = False
    finally:
        await fault.close()

    outcome.requests = len(replies)
    count_errors(outcome, [r.kind for r in replies], {"200"})
    server_errors = sum(1 for r in replies if r.status is not None and r.status >= 500)
    transport = sum(1 for r in replies if r.error is not None)
    outcome.check(
        "5xx/transport errors", f"{server_errors}/{transport}", not server_errors and not transport
    )
    unanswered = [e for e in exchanges if e.problem is not None]
    outcome.check("not 200 with an answer", len(unanswered), not unanswered)
    during_healthy = _within(exchanges, healthy)
    during_faults = [e for p in FAULTS for e in _within(exchanges, p)]
    streamed = sum(e.streamed for e in exchanges)
    outcome.check(
        "streamed",
        f"{streamed}/{len(exchanges)}",
        any(e.streamed for e in during_healthy) and any(e.streamed for e in during_faults),
    )
    generated = sum(e.source == "openai" for e in during_healthy)
    outcome.check(
        "generated while healthy",
        f"{generated}/{len(during_healthy)}",
        bool(during_healthy) and generated == len(during_healthy),
    )
    missed = [p.name for p in FAULTS if not p.completed]
    outcome.check(
        "faults met", f"missing {', '.join(missed)}" if missed else len(FAULTS), not missed
    )
    fallbacks = sum(e.source == FALLBACK_SOURCE and e.reason is not None for e in during_faults)
    outcome.check(
        "fallback while failing",
        f"{fallbacks}/{len(during_faults)}",
        bool(during_faults) and fallbacks == len(during_faults),
    )

    fault_start, fault_end = FAULTS[0].start, FAULTS[-1].end
    started_in_faults = [e for e in exchanges if fault_start <= e.reply.started < fault_end]
    latencies = [e.reply.latency for e in started_in_faults]
    p99 = percentile(latencies, 99)
    outcome.check(
        f"fault p99 s (budget {BUDGET_S:.1f})",
        f"{p99:.2f} (max {max(latencies, default=0):.2f})",
        bool(latencies) and p99 <= BUDGET_S,
    )
    # The breaker answers most guests at once, so the p99 alone could hide slow fallbacks:
    # every guest whose answer waited on the broken model must be within the budget too.
    waited = [
        e.reply.latency for e in started_in_faults if e.reason not in ("circuit_open", "busy")
    ]
    slowest = max(waited, default=0.0)
    outcome.check(
        "slowest LLM-bound reply s", f"{slowest:.2f}", bool(waited) and slowest <= BUDGET_S
    )

    # Calls the broken model received: requests to the fault server, and for the killed one
    # every answer that gave up on it (each may have tried once more).
    refused = sum(e.reason == "unreachable" for e in started_in_faults)
    calls = calls_after - calls_before + refused * (1 + RETRIES)
    # The breaker lets through what was admitted before it opened (the failures that open it,
    # the generations running and those waiting for a slot), then one trial per reset time.
    admitted = BREAKER_FAILURES + CONCURRENCY + math.ceil(rate * QUEUE_WAIT_S)
    trials = math.ceil((fault_end - fault_start) / BREAKER_RESET_S) + 1
    bound = (admitted + trials) * (1 + RETRIES)
    guests = len(started_in_faults)
    outcome.check(
        f"LLM calls/guests in faults (bound {bound})",
        f"{calls}/{guests}",
        calls <= bound < guests / 2,
    )

    if recovered_at is None:
        outcome.check("generated again after s", "never", False)
    else:
        back_s = recovered_at - recovered.start
        outcome.check(
            f"generated again after s (<= {RECOVERY_S:.1f})", f"{back_s:.2f}", back_s <= RECOVERY_S
        )
        after = [e for e in exchanges if e.reply.started >= recovered_at]
        generated = sum(e.source == "openai" for e in after)
        outcome.check(
            "generated after recovery",
            f"{generated}/{len(after)}",
            len(after) >= min_replies and generated == len(after),
        )
    outcome.check("LLM connections open at end", fault.open_connections, idle)
    tracebacks = server.log().count("Traceback")
    outcome.check("tracebacks in server log", tracebacks, tracebacks == 0)
    return outcome
