"""Follow-up sessions live in PostgreSQL: bounded, expiring, and seen by every server process,
so a guest's follow-up may land on another process (no sticky routing)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from app.config import PROJECT_ROOT, Settings
from app.rag.session_store import PostgresSessionStore
from app.rag.sessions import Turn

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited during start-up"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server not ready within {timeout}s")


@pytest.fixture
def two_servers(settings: Settings, sample_loaded: list[str]) -> Iterator[list[str]]:
    """Two ``python -m app serve`` processes on the one test database."""
    processes: list[subprocess.Popen[bytes]] = []
    bases = []
    logs = []
    try:
        for n in range(2):  # one after the other: each attaches to the embedded server
            port = _free_port()
            env = {
                **os.environ,
                "RAG_DATA_DIR": str(settings.data_dir),
                "RAG_DATABASE_NAME": settings.database_name,
                "RAG_PORT": str(port),
                "RAG_LOG_LEVEL": "warning",
                "RAG_ANSWER_WRITER": "extractive",
                "RAG_SESSION_STORE": "postgres",
            }
            env.pop("RAG_DATABASE_URL", None)
            log = settings.data_dir / f"sessions-server-{n}.log"
            logs.append(log)
            with log.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "app", "serve"],
                        cwd=PROJECT_ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            bases.append(f"http://127.0.0.1:{port}")
            try:
                _wait_ready(bases[-1], processes[-1], timeout=90)
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {log.read_text()[-2000:]}") from None
        yield bases
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


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
