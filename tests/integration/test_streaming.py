"""Streamed answers (SSE), follow-up sessions and the generative writer through the API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from app.answering.extractive import ExtractiveWriter
from app.answering.generative import GenerationLimits, GenerativeWriter
from app.answering.llm.guards import CircuitBreaker, ConcurrencyGate
from app.answering.llm.openai_compat import OpenAICompatibleBackend
from app.answering.prompts import PromptBuilder
from app.answering.types import Answer, AnswerEvents, AnswerWriter, Delta, Source
from app.services import Services
from tests.faults import FaultServer
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def services(app: FastAPI) -> Services:
    result: Services = app.state.services
    return result


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """The (event, data) pairs of an event stream."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        assert set(fields) == {"event", "data"}, block
        events.append((fields["event"], json.loads(fields["data"])))
    return events


async def stream(client: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await client.post("/ask", json={**body, "stream": True})


async def test_events_come_in_order_and_done_is_the_json_answer(
    client: httpx.AsyncClient,
) -> None:
    question = {"property_id": "harbour-grand", "question": "Where can I park my car?"}
    response = await stream(client, **question)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[0] == "sources"
    assert names[-1] == "done"
    assert set(names[1:-1]) == {"delta"}
    sources, done = events[0][1], events[-1][1]
    assert sources["request_id"] == done["request_id"] == response.headers["x-request-id"]
    assert all(s["cited"] is None for s in sources["sources"])
    assert "".join(data["text"] for name, data in events if name == "delta") == done["answer"]
    # The done event carries what the plain request returns (now from the cache).
    plain = (await client.post("/ask", json=question)).json()
    assert plain["cached"] is True
    assert set(done) == set(plain)
    assert done["answer"] == plain["answer"]
    assert done["sources"] == plain["sources"]
    assert [s["n"] for s in done["sources"] if s["cited"]] == done["citations"]
    assert [{k: v for k, v in s.items() if k != "cited"} for s in sources["sources"]] == [
        {k: v for k, v in s.items() if k != "cited"} for s in done["sources"]
    ]


async def test_accept_header_asks_for_a_stream_and_cached_answers_stream_too(
    client: httpx.AsyncClient,
) -> None:
    body = {"property_id": "sunset-cove", "question": "Is there a kids club?"}
    first = await client.post("/ask", json=body)
    assert first.json()["cached"] is False
    response = await client.post("/ask", json=body, headers={"accept": "text/event-stream"})
    events = parse_sse(response.text)
    assert [name for name, _ in events] == ["sources", "delta", "done"]
    assert events[-1][1]["cached"] is True
    assert events[1][1]["text"] == first.json()["answer"]
    # A cached answer's citations are known at once.
    assert [s["n"] for s in events[0][1]["sources"] if s["cited"]] == first.json()["citations"]


async def test_errors_before_the_stream_are_plain_json(client: httpx.AsyncClient) -> None:
    missing = await stream(client, property_id="no-such-hotel", question="Check-out?")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "property_not_found"
    invalid = await stream(client, property_id="harbour-grand", question="")
    assert invalid.status_code == 422
    assert invalid.headers["content-type"].startswith("application/json")


async def test_a_follow_up_is_rewritten_within_its_session_and_property(
    client: httpx.AsyncClient,
) -> None:
    first = {"property_id": "harbour-grand", "question": "When is breakfast served?"}
    await client.post("/ask", json={**first, "session_id": "guest-1"})
    follow = (
        await client.post(
            "/ask",
            json={
                "property_id": "harbour-grand",
                "question": "and on Sundays?",
                "session_id": "guest-1",
            },
        )
    ).json()
    assert follow["standalone_question"] == "When is breakfast served? and on Sundays?"
    assert "breakfast" in follow["answer"].lower()
    # The same session id at another hotel has no history there.
    elsewhere_reply = await client.post(
        "/ask",
        json={"property_id": "sunset-cove", "question": "and on Sundays?", "session_id": "guest-1"},
    )
    assert elsewhere_reply.status_code == 200
    elsewhere = elsewhere_reply.json()
    assert elsewhere["answer"]
    assert "standalone_question" not in elsewhere
    # Without a session, nothing is rewritten.
    alone_reply = await client.post(
        "/ask", json={"property_id": "harbour-grand", "question": "and on Sundays?"}
    )
    assert alone_reply.status_code == 200
    alone = alone_reply.json()
    assert alone["answer"]
    assert "standalone_question" not in alone


@pytest_asyncio.fixture
async def fault_server() -> AsyncIterator[FaultServer]:
    server = FaultServer()
    await server.start()
    yield server
    await server.close()


@contextmanager
def writer_in_place(app: FastAPI, writer: AnswerWriter) -> Iterator[None]:
    rag = services(app).rag
    previous = rag.writer
    rag.writer = writer
    rag.cache.clear()
    try:
        yield
    finally:
        rag.writer = previous
        rag.cache.clear()


def generative(base_url: str) -> GenerativeWriter:
    backend = OpenAICompatibleBackend.create(base_url, "m", "chat", connect_timeout_s=0.5)
    return GenerativeWriter(
        backend,
        ExtractiveWriter(0.3),
        PromptBuilder("chat"),
        GenerationLimits(ttft_timeout_s=1.0, stall_timeout_s=1.0, total_timeout_s=3.0),
        CircuitBreaker(failures=5, reset_s=30),
        ConcurrencyGate(2, wait_s=0.2),
    )


async def test_generative_answers_report_timings_and_fallbacks_are_not_cached(
    client: httpx.AsyncClient, app: FastAPI, fault_server: FaultServer
) -> None:
    body = {"property_id": "harbour-grand", "question": "What time is check-out?"}
    writer = generative(fault_server.url("ok"))
    with writer_in_place(app, writer):
        answer = (await client.post("/ask", json=body)).json()
    await writer.backend.aclose()
    assert answer["answer_source"] == "openai"
    assert answer["answer"].startswith("Check-out is by 11:00")
    assert answer["timings_ms"]["ttft"] <= answer["timings_ms"]["generation"]
    assert answer["tokens"] >= 4
    writer = generative(fault_server.url("error500"))
    with writer_in_place(app, writer):
        first = (await client.post("/ask", json=body)).json()
        second = (await client.post("/ask", json=body)).json()
    await writer.backend.aclose()
    for fallback in (first, second):
        assert fallback["answer_source"] == "extractive_fallback"
        assert fallback["fallback_reason"] == "http_error"
        assert "11:00" in fallback["answer"]
        assert fallback["cached"] is False  # so that a recovered model is used again


async def test_a_client_that_disconnects_stops_the_generation_upstream(
    app: FastAPI, client: httpx.AsyncClient, fault_server: FaultServer
) -> None:
    writer = generative(fault_server.url("slow_stream"))
    writer = GenerativeWriter(
        writer.backend,
        ExtractiveWriter(0.3),
        PromptBuilder("chat"),
        GenerationLimits(ttft_timeout_s=2, stall_timeout_s=2, total_timeout_s=60, max_tokens=500),
        CircuitBreaker(failures=5, reset_s=30),
        ConcurrencyGate(2, wait_s=0.2),
    )
    body = json.dumps(
        {"property_id": "harbour-grand", "question": "Is there a pool?", "stream": True}
    ).encode()
    sent: list[dict[str, Any]] = []
    first_delta = asyncio.Event()
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await first_delta.wait()
        return {"type": "http.disconnect"}  # the guest closed the widget

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if b"event: delta" in message.get("body", b""):
            first_delta.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/ask",
        "raw_path": b"/ask",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"test")],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }
    with writer_in_place(app, writer):
        async with asyncio.timeout(10):
            await app(scope, receive, send)
    await writer.backend.aclose()
    bodies = b"".join(m.get("body", b"") for m in sent)
    assert b"event: delta" in bodies
    assert b"event: done" not in bodies
    await wait_until(lambda: not fault_server.open_connections, 5, "upstream connection closed")
    assert fault_server.closed_early["slow_stream"] == 1


class BrokenWriter:
    """A writer that fails after its first piece of text, as a bug would."""

    name = "broken"

    async def write(self, question: str, sources: Sequence[Source], language: str = "en") -> Answer:
        raise RuntimeError("bug")

    async def stream(
        self, question: str, sources: Sequence[Source], language: str = "en"
    ) -> AnswerEvents:
        yield Delta("Check")
        raise RuntimeError("bug")


async def test_a_failure_inside_the_stream_ends_with_an_error_event(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    with writer_in_place(app, BrokenWriter()):
        response = await stream(client, property_id="harbour-grand", question="Is there a gym?")
    events = parse_sse(response.text)
    assert [name for name, _ in events] == ["sources", "delta", "error"]
    error = events[-1][1]["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"] == response.headers["x-request-id"]
