"""Follow-up sessions live in PostgreSQL: bounded, expiring, and seen by every server process,
so a guest's follow-up may land on another process (no sticky routing)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack

import asyncpg
import httpx
import pytest

from app.config import Settings
from app.rag.session_store import PostgresSessionStore
from app.rag.sessions import Turn
from tests.serving import served_process

pytestmark = pytest.mark.integration


async def test_turns_are_bounded_per_session_and_scoped_by_property(
    pool: asyncpg.Pool, sample_loaded: list[str]
) -> None:
    store = PostgresSessionStore(pool, max_sessions=100, max_turns=2, ttl_s=60)
    for n in range(3):
        await store.record("harbour-grand", "bounded-1", Turn(f"q{n}"))
    assert [t.question for t in await store.history("harbour-grand", "bounded-1")] == [
        "q1",
        "q2",
    ]
    assert await store.history("sunset-cove", "bounded-1") == []


async def test_sessions_expire_and_the_sweep_caps_their_number(
    pool: asyncpg.Pool, sample_loaded: list[str]
) -> None:
    await pool.execute("DELETE FROM follow_up_sessions")
    short = PostgresSessionStore(pool, max_sessions=100, max_turns=4, ttl_s=0.2)
    await short.record("harbour-grand", "expiring", Turn("q"))
    assert await short.history("harbour-grand", "expiring") != []
    await asyncio.sleep(0.3)  # past the expiry the database itself measures
    assert await short.history("harbour-grand", "expiring") == []
    # An expired session starts again from the new turn instead of continuing.
    await short.record("harbour-grand", "expiring", Turn("fresh"))
    assert [t.question for t in await short.history("harbour-grand", "expiring")] == ["fresh"]

    capped = PostgresSessionStore(pool, max_sessions=3, max_turns=4, ttl_s=60)
    for n in range(5):
        await capped.record("alpine-lodge", f"cap-{n}", Turn("q"))
    await asyncio.sleep(0.3)
    deleted = await capped.sweep()
    assert deleted == 3  # the expired one, and the two closest to expiry beyond three
    remaining = await pool.fetch("SELECT session_id FROM follow_up_sessions ORDER BY 1")
    assert [r["session_id"] for r in remaining] == ["cap-2", "cap-3", "cap-4"]


@pytest.fixture
def two_servers(settings: Settings, sample_loaded: list[str]) -> Iterator[list[str]]:
    """Two ``python -m app serve`` processes on the one test database."""
    env = {
        "RAG_LOG_LEVEL": "warning",
        "RAG_ANSWER_WRITER": "extractive",
        "RAG_SESSION_STORE": "postgres",
    }
    with ExitStack() as stack:
        # One after the other: each attaches to the embedded server.
        servers = [
            stack.enter_context(
                served_process(settings, settings.data_dir / f"sessions-server-{n}.log", **env)
            )
            for n in range(2)
        ]
        yield [server.base for server in servers]


@pytest.mark.slow
def test_a_guests_follow_ups_alternate_between_two_server_processes(
    two_servers: list[str],
) -> None:
    first, second = two_servers
    session = f"guest-{time.monotonic_ns()}"

    def ask(base: str, question: str) -> dict[str, object]:
        response = httpx.post(
            f"{base}/ask",
            json={"property_id": "sunset-cove", "question": question, "session_id": session},
            timeout=15,
        )
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    opening = ask(first, "What's the wifi password?")
    assert "standalone_question" not in opening
    # The follow-up reaches the other process, which has never seen this guest.
    follow_up = ask(second, "and the speed?")
    assert follow_up["standalone_question"] == "What's the wifi password? and the speed?"
    # And back: the first process sees the turn the second one recorded.
    again = ask(first, "and on Sundays?")
    assert again["standalone_question"] == (
        "What's the wifi password? and the speed? and on Sundays?"
    )
