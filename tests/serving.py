"""The app served to tests: in process with its lifespan, over HTTP by uvicorn in a thread or
as ``python -m app serve``, and a browser check run by node against it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from app.config import PROJECT_ROOT, Settings

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
BROWSER_SCRIPTS = PROJECT_ROOT / "tests" / "browser"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def app_client(
    app: FastAPI, client: tuple[str, int] = ("127.0.0.1", 123)
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound to ``app`` (seen as coming from ``client``), its lifespan running."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


@contextmanager
def served_in_thread(app: FastAPI) -> Iterator[str]:
    """``app`` on a real HTTP server (uvicorn in a thread); yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"test-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "the server stopped during start-up"
        assert time.monotonic() < deadline, "the server did not start within 60 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@dataclass(frozen=True, slots=True)
class ServedProcess:
    base: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def served_process(settings: Settings, log: Path, **env: str) -> Iterator[ServedProcess]:
    """``python -m app serve`` on the test database (``env``: more variables, ``RAG_…``),
    logging to ``log``; yields it once ready, and stops it with SIGTERM."""
    port = free_port()
    variables = {
        **os.environ,
        "RAG_DATA_DIR": str(settings.data_dir),
        "RAG_DATABASE_NAME": settings.database_name,
        "RAG_PORT": str(port),
        **env,
    }
    variables.pop("RAG_DATABASE_URL", None)
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            cwd=PROJECT_ROOT,
            env=variables,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(base, process, log, timeout=90)
        yield ServedProcess(base, process, log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"server exited during start-up: {log.read_text()[-2000:]}"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server not ready within {timeout}s: {log.read_text()[-2000:]}")


def browser_check(script: str, *args: str, timeout: float = 180) -> dict[str, Any]:
    """Run ``tests/browser/<script>`` with node (playwright-core driving headless Chromium)
    and return what it reports: the JSON object on the last line of its output."""
    node = shutil.which("node")
    if node is None or not CHROMIUM.exists():
        pytest.skip(f"needs node and Chromium at {CHROMIUM} (scripts/setup installs them)")
    if not (PROJECT_ROOT / "node_modules" / "playwright-core").is_dir():
        pytest.skip("needs playwright-core in node_modules (scripts/setup runs npm ci)")
    run = subprocess.run(
        [node, str(BROWSER_SCRIPTS / script), *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "CHROMIUM_PATH": str(CHROMIUM)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return seen


def screenshot_path(name: str) -> Path:
    """``test-artifacts/<name>``, with no file left there from an earlier run."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.unlink(missing_ok=True)
    return path
