"""The OpenAI-compatible writer against a misbehaving server on loopback: every failure ends
in the extractive answer within the time budget, with no task or connection left behind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from app.answering.extractive import ExtractiveWriter
from app.answering.generative import FALLBACK_SOURCE, GenerationLimits, GenerativeWriter
from app.answering.llm.guards import CircuitBreaker, ConcurrencyGate
from app.answering.llm.openai_compat import OpenAICompatibleBackend
from app.answering.prompts import PromptBuilder
from app.answering.types import Answer, Delta, Source
from app.search.types import Hit
from tests.faults import FaultServer
from tests.serving import free_port
from tests.waiting import wait_until

LIMITS = GenerationLimits(
    ttft_timeout_s=0.6, stall_timeout_s=0.4, total_timeout_s=1.5, retries=1, max_tokens=64
)
# The budget a fallback must meet: the total timeout, plus slack for a loaded machine.
BUDGET_S = LIMITS.total_timeout_s + 1.0

SOURCES = [
    Source(
        1, Hit(1, "faq.md", "FAQ", "", "Check-out is by 11:00. Late check-out costs EUR 35.", 0.8)
    ),
    Source(2, Hit(2, "spa.md", "Spa", "", "The spa is open from 09:00 to 20:00.", 0.5)),
]
QUESTION = "What time is check-out?"


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FaultServer]:
    srv = FaultServer()
    await srv.start()
    yield srv
    await srv.close()


def make_writer(base_url: str, breaker: CircuitBreaker | None = None) -> GenerativeWriter:
    backend = OpenAICompatibleBackend.create(
        base_url, "test-model", "chat", connect_timeout_s=0.5, read_timeout_s=5, max_connections=4
    )
    return GenerativeWriter(
        backend,
        ExtractiveWriter(0.3),
        PromptBuilder("chat"),
        LIMITS,
        breaker or CircuitBreaker(failures=3, reset_s=30),
        ConcurrencyGate(2, wait_s=0.2),
    )


def leaked_tasks(before: set[asyncio.Task[object]]) -> list[asyncio.Task[object]]:
    """New tasks still running code of the writer or its HTTP client.

    Tests share one event loop with other components (the property registry, the job worker),
    whose own tasks come and go; only the writer's are its leaks.
    """
    leaked = []
    for task in asyncio.all_tasks() - before - {asyncio.current_task()}:
        code = getattr(task.get_coro(), "cr_code", None)
        filename = code.co_filename if code is not None else ""
        if any(
            part in filename
            for part in ("app/answering/llm/", "app/answering/generative", "httpx", "httpcore")
        ):
            leaked.append(task)
    return leaked


async def collect(writer: GenerativeWriter) -> tuple[list[str], Answer, float]:
    started = time.monotonic()
    deltas: list[str] = []
    final: Answer | None = None
    async for event in writer.stream(QUESTION, SOURCES):
        if isinstance(event, Delta):
            deltas.append(event.text)
        else:
            final = event
    assert final is not None
    return deltas, final, time.monotonic() - started


async def test_a_healthy_server_streams_a_cleaned_cited_answer(server: FaultServer) -> None:
    writer = make_writer(server.url("ok"))
    try:
        deltas, answer, _ = await collect(writer)
    finally:
        await writer.backend.aclose()
    assert answer.answer_source == "openai"
    assert answer.text == "Check-out is by 11:00 [1]."
    assert answer.citations == (1,)
    assert "[7]" not in "".join(deltas)  # the marker to no source never reached the guest
    assert len(deltas) > 1
    assert answer.extra["tokens"] >= 4
    assert 0 < answer.extra["ttft"] <= answer.extra["generation"]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("slow_first", "timeout"),
        ("stall", "timeout"),
        ("error500", "http_error"),
        ("malformed", "malformed_event"),
        ("hang_up", "incomplete_stream"),
    ],
)
async def test_each_failure_falls_back_within_budget_without_leaks(
    server: FaultServer, mode: str, reason: str
) -> None:
    writer = make_writer(server.url(mode))
    tasks_before = asyncio.all_tasks()
    try:
        deltas, answer, elapsed = await collect(writer)
    finally:
        await writer.backend.aclose()
    assert answer.answer_source == FALLBACK_SOURCE
    assert answer.fallback_reason == reason
    assert "11:00" in answer.text
    assert answer.citations == (1,)
    assert elapsed < BUDGET_S, elapsed
    # The guest always sees text: the fallback's when nothing was streamed before.
    assert deltas
    await wait_until(lambda: server.open_connections == 0, 3, "the model's connections closed")
    await wait_until(lambda: not leaked_tasks(tasks_before), 3, "no task left running")


async def test_server_errors_are_retried_once_before_the_first_token(server: FaultServer) -> None:
    writer = make_writer(server.url("flaky"))
    try:
        _, answer, _ = await collect(writer)
    finally:
        await writer.backend.aclose()
    assert server.requests["flaky"] == 2
    assert answer.answer_source == "openai"


async def test_no_retry_once_text_was_sent(server: FaultServer) -> None:
    writer = make_writer(server.url("hang_up"))
    try:
        deltas, answer, _ = await collect(writer)
    finally:
        await writer.backend.aclose()
    assert server.requests["hang_up"] == 1
    assert deltas[0] == "Check"  # the model's text went out first, then the fallback answer
    assert answer.fallback_reason == "incomplete_stream"


async def test_connection_refused_falls_back_at_once() -> None:
    port = free_port()  # closed again: nothing listens there
    writer = make_writer(f"http://127.0.0.1:{port}/v1")
    try:
        _, answer, elapsed = await collect(writer)
    finally:
        await writer.backend.aclose()
    assert answer.fallback_reason == "unreachable"
    assert elapsed < BUDGET_S


async def test_open_circuit_skips_the_model_until_it_may_have_recovered(
    server: FaultServer,
) -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=2, reset_s=10, clock=lambda: now[0])
    writer = make_writer(server.url("error500"), breaker)
    try:
        for _ in range(2):
            _, answer, _ = await collect(writer)
            assert answer.fallback_reason == "http_error"
        calls = server.requests["error500"]
        _, answer, elapsed = await collect(writer)
        assert answer.fallback_reason == "circuit_open"
        assert server.requests["error500"] == calls  # the model was not called
        assert elapsed < 0.1
        now[0] = 11.0  # the reset time has passed: one trial call goes through
        _, answer, _ = await collect(writer)
        assert answer.fallback_reason == "http_error"
        assert server.requests["error500"] > calls
    finally:
        await writer.backend.aclose()


async def test_calls_beyond_the_concurrency_bound_fall_back_instead_of_piling_up(
    server: FaultServer,
) -> None:
    writer = make_writer(server.url("stall"))  # two slots, each held by a stalled stream
    try:
        results = await asyncio.gather(*(collect(writer) for _ in range(4)))
    finally:
        await writer.backend.aclose()
    reasons = sorted(answer.fallback_reason or "" for _, answer, _ in results)
    assert reasons == ["busy", "busy", "timeout", "timeout"]
    assert all(elapsed < BUDGET_S for *_, elapsed in results)
    await wait_until(lambda: server.open_connections == 0, 3, "the model's connections closed")


async def test_a_live_url_follows_its_switch_and_a_stopped_server_comes_back(
    server: FaultServer,
) -> None:
    writer = make_writer(server.url("live"), CircuitBreaker(failures=10, reset_s=30))
    try:
        _, answer, _ = await collect(writer)
        assert answer.answer_source == "openai"
        server.live = "malformed"
        _, answer, _ = await collect(writer)
        assert answer.fallback_reason == "malformed_event"
        server.live = "stall"
        stalled = asyncio.create_task(collect(writer))
        await wait_until(lambda: server.requests["stall"] == 1, 3, "the stalled request sent")
        await server.stop()  # the stalled stream is cut and nothing listens any more
        _, answer, _ = await stalled
        assert answer.answer_source == FALLBACK_SOURCE
        await wait_until(lambda: server.open_connections == 0, 3, "the model's connections closed")
        _, answer, _ = await collect(writer)
        assert answer.fallback_reason == "unreachable"
        server.live = "ok"
        await server.start()
        _, answer, _ = await collect(writer)
        assert answer.answer_source == "openai"
    finally:
        await writer.backend.aclose()
    assert server.requests == {"ok": 2, "malformed": 1, "stall": 1}
