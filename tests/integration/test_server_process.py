"""The real server process: ``python -m app serve`` answers over HTTP and stops on SIGTERM."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from tests.serving import served_process

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_served_over_http_with_the_packaged_model(
    settings: Settings, db_url: str, sample_loaded: list[str]
) -> None:
    log = settings.data_dir / "server-process.log"
    with served_process(settings, log, RAG_LOG_LEVEL="info") as server:
        response = httpx.post(
            f"{server.base}/ask",
            json={"property_id": "sunset-cove", "question": "what's the wifi password?"},
            timeout=10,
        )
        assert response.status_code == 200
        body = response.json()
        assert "coconut88" in body["answer"]
        assert body["sources"][0]["document_id"] in {"wifi-and-business.md", "faq.md"}
    output = log.read_text(errors="replace")
    # A normal exit, not a kill by the re-raised signal: the exit handlers ran, and the server
    # let go of the embedded PostgreSQL (which stops with its last user).
    assert server.process.returncode == 0, output[-2000:]
    assert "Application shutdown complete" in output, output[-2000:]
    # Loaded once, by the load begun before the app's modules were imported (app.serving).
    assert output.count(" loaded on cpu with ") == 1, output[-2000:]
    if settings.database_url is None:
        users = json.loads((settings.data_dir / "pg" / ".handle_pids.json").read_text())
        assert server.process.pid not in users


def _workers(pid: int) -> list[int]:
    """The worker processes ``pid`` spawned (multiprocessing's spawn; its resource tracker,
    which ends by itself once the parent is gone, is not one)."""
    found = []
    for task in Path("/proc").iterdir():
        if not task.name.isdigit():
            continue
        try:
            parent = int((task / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (task / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if parent == pid and b"multiprocessing.spawn" in command:
            found.append(int(task.name))
    return found


def _state(pid: int) -> str:
    """The process's state letter ("Z": exited, not yet reaped), or "gone"."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return "gone"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
def test_two_workers_answer_and_stop_cleanly_on_sigterm(
    settings: Settings, db_url: str, sample_loaded: list[str]
) -> None:
    log = settings.data_dir / "server-two-workers.log"
    with served_process(settings, log, RAG_LOG_LEVEL="info", RAG_WORKERS="2") as server:
        workers = _workers(server.process.pid)
        assert len(workers) == 2, workers
        for _ in range(4):
            response = httpx.post(
                f"{server.base}/ask",
                json={"property_id": "sunset-cove", "question": "what's the wifi password?"},
                timeout=10,
            )
            assert response.status_code == 200
            assert "coconut88" in response.json()["answer"]
    output = log.read_text(errors="replace")
    assert server.process.returncode == 0, output[-2000:]
    # Each worker ran its shutdown (the answer cache, the pool and the model let go of).
    assert output.count("Application shutdown complete") == 2, output[-2000:]
    # Each worker loaded its own model; the supervising process none.
    assert output.count(" loaded on cpu with ") == 2, output[-2000:]
    # Both have exited (one the machine's init has not reaped yet shows as "Z").
    states = {pid: _state(pid) for pid in workers}
    assert set(states.values()) <= {"gone", "Z"}, states
    if settings.database_url is None:
        users = json.loads((settings.data_dir / "pg" / ".handle_pids.json").read_text())
        assert not {server.process.pid, *workers} & set(users)
