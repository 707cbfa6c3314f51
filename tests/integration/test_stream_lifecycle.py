"""How an answer stream lives: keep-alive pings while the answer is slow, a client that leaves
cancels the generation, and a server that shuts down ends its open streams at once."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from app.answering.types import Answer, AnswerEvents, Delta, Source
from app.config import Settings
from app.services import Services
from tests.faults import FaultServer
from tests.integration.test_streaming import writer_in_place
from tests.serving import served_process
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

PING_S = 0.1


@pytest_asyncio.fixture
async def fault_server() -> AsyncIterator[FaultServer]:
    server = FaultServer()
    await server.start()
    yield server
    await server.close()


class StuckWriter:
    """A model that sends one piece and then never finishes; records that it was closed."""

    name = "stuck"

    def __init__(self) -> None:
        self.closed = False

    async def write(self, question: str, sources: Sequence[Source], language: str = "en") -> Answer:
        raise AssertionError("only streamed here")

    async def stream(
        self, question: str, sources: Sequence[Source], language: str = "en"
    ) -> AnswerEvents:
        try:
            yield Delta("Check")
            await asyncio.Event().wait()
        finally:
            self.closed = True


@contextmanager
def ping_every(app: FastAPI, seconds: float) -> Iterator[None]:
    services: Services = app.state.services
    previous = services.settings
    services.settings = previous.model_copy(update={"stream_ping_s": seconds})
    try:
        yield
    finally:
        services.settings = previous


@dataclass
class Exchange:
    """One request driven through the ASGI app: what was sent, and when."""

    sent: list[tuple[float, bytes]] = field(default_factory=list)
    pings: int = 0
    enough: asyncio.Event = field(default_factory=asyncio.Event)

    def bodies(self) -> bytes:
        return b"".join(body for _, body in self.sent)

    def ping_times(self) -> list[float]:
        return [at for at, body in self.sent if body == b": ping\n\n"]


async def drive(app: FastAPI, path: str, body: dict[str, Any], pings: int) -> Exchange:
    """POST ``body`` to ``path``; the client leaves once ``pings`` pings have come."""
    exchange = Exchange()
    loop = asyncio.get_running_loop()
    raw = json.dumps(body).encode()
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await exchange.enough.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] != "http.response.body":
            return
        exchange.sent.append((loop.time(), message.get("body", b"")))
        if message.get("body") == b": ping\n\n":
            exchange.pings += 1
            if exchange.pings >= pings:
                exchange.enough.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"test")],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }
    async with asyncio.timeout(10):
        await app(scope, receive, send)
    return exchange


ASK = {"property_id": "harbour-grand", "question": "Is there a sauna?", "stream": True}
CHAT = {
    "model": "harbour-grand",
    "messages": [{"role": "user", "content": "Is there a sauna?"}],
    "stream": True,
}


async def test_a_slow_answer_is_kept_alive_by_pings_and_a_client_that_leaves_closes_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _pings_then_leave(app, "/ask", ASK, b"event: sources\n", b"event: delta\n")


async def test_a_slow_chat_completion_is_kept_alive_and_closed_the_same_way(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _pings_then_leave(app, "/v1/chat/completions", CHAT, b"data: {", b'"content":"Check"')


async def _pings_then_leave(
    app: FastAPI, path: str, body: dict[str, Any], first: bytes, delta: bytes
) -> None:
    writer = StuckWriter()
    with writer_in_place(app, writer), ping_every(app, PING_S):
        exchange = await drive(app, path, body, pings=3)
    bodies = exchange.bodies()
    assert bodies.startswith(first)
    assert delta in bodies
    # The client left after the third ping: the generation was closed, nothing more was sent.
    assert writer.closed
    assert exchange.pings == 3
    assert exchange.sent[-1][1] == b": ping\n\n"
    # Pings follow the last event and each other at the configured interval.
    last_event = max(at for at, chunk in exchange.sent if chunk and chunk != b": ping\n\n")
    times = [last_event, *exchange.ping_times()]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(PING_S * 0.9 <= gap < PING_S + 1.0 for gap in gaps), gaps


@pytest.mark.slow
async def test_shutting_down_ends_an_open_stream_with_an_error_event(
    settings: Settings, sample_loaded: list[str], fault_server: FaultServer
) -> None:
    # A model that would stream for 20 s; a shutdown must not wait for it.
    env = {
        "RAG_LOG_LEVEL": "warning",
        "RAG_ANSWER_WRITER": "openai",
        "RAG_LLM_API": "chat",
        "RAG_LLM_BASE_URL": fault_server.url("slow_stream"),
        "RAG_LLM_MAX_TOKENS": "500",
        "RAG_LLM_TOTAL_TIMEOUT_S": "60",
        "RAG_REQUEST_TIMEOUT_S": "60",
    }
    log = settings.data_dir / "stream-shutdown-server.log"
    with ExitStack() as stack:
        server = await asyncio.to_thread(stack.enter_context, served_process(settings, log, **env))
        events: list[tuple[str, Any]] = []
        async with (
            httpx.AsyncClient(base_url=server.base, timeout=30) as http,
            http.stream("POST", "/ask", json={**ASK, "question": "Is there a pool?"}) as reply,
        ):
            assert reply.status_code == 200
            async with asyncio.timeout(10):
                async for name, data in _events(reply):
                    events.append((name, data))
                    if name == "delta" and len(events) == 2:
                        server.process.send_signal(signal.SIGTERM)
        took = await wait_until(lambda: server.process.poll() is not None, 10, "server exit")
        await asyncio.to_thread(stack.close)
    names = [name for name, _ in events]
    assert names[:2] == ["sources", "delta"]
    assert names[-1] == "error", names[-5:]
    assert "done" not in names
    error = events[-1][1]["error"]
    assert error["code"] == "unavailable"
    assert error["request_id"] == events[0][1]["request_id"]
    assert server.process.returncode == 0
    assert took < 5, took
    await wait_until(lambda: not fault_server.open_connections, 5, "upstream connection closed")
    assert fault_server.closed_early["slow_stream"] == 1


async def _events(reply: httpx.Response) -> Any:
    name = ""
    async for line in reply.aiter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield name, json.loads(line.removeprefix("data: "))
