"""What every scenario shares: the database, server processes, data helpers and the outcome."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.config import PROJECT_ROOT, Settings
from ingestion.documents import Document
from ingestion.pipeline import Ingestor
from tests.fakes import HashingEncoder, word_count
from tests.serving import free_port


@dataclass(slots=True)
class Env:
    """A migrated database (on the embedded server) and a pool on it."""

    settings: Settings
    db_url: str
    pool: asyncpg.Pool
    workdir: Path


@dataclass(slots=True)
class Check:
    name: str
    value: object
    ok: bool

    def __str__(self) -> str:
        return f"{self.name} {self.value} {'ok' if self.ok else 'FAIL'}"


@dataclass(slots=True)
class Outcome:
    """One row of the report: what was injected, what was sent, what went wrong, what held."""

    scenario: str
    injected: str
    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    checks: list[Check] = field(default_factory=list)

    def check(self, name: str, value: object, ok: bool) -> None:
        self.checks.append(Check(name, value, bool(ok)))

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failures(self) -> str:
        return "; ".join(str(c) for c in self.checks if not c.ok) or "no checks ran"


def tag() -> str:
    return uuid.uuid4().hex[:6]


async def ingest(env: Env, property_id: str, docs: dict[str, str], name: str | None = None) -> int:
    """Ingest ``{doc id: markdown}`` with the hashing encoder; returns the new revision."""
    ingestor = Ingestor(env.pool, HashingEncoder(), word_count)
    documents = [Document(key, key.removesuffix(".md"), text, key) for key, text in docs.items()]
    report = await ingestor.ingest(property_id, documents, name=name)
    assert report.revision is not None
    return report.revision


def app_settings(env: Env, **changes: Any) -> Settings:
    """The environment's settings with rate limits off unless ``changes`` sets them."""
    base = {"rate_limit_per_client": 0, "rate_limit_per_property": 0}
    return env.settings.model_copy(update={**base, **changes})


class ServerProcess:
    """``python -m tests.reliability.server`` on a free loopback port, logging to a file."""

    def __init__(
        self,
        env: Env,
        *,
        encode_ms: float = 0.0,
        batch_ms: float = 0.0,
        job_encode_ms: float = 0.0,
        accepted_log: Path | None = None,
        **settings: object,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = env.workdir / f"server-{self.port}.log"
        # Admin routes are live (a token is set) so the fuzzer meets their authentication;
        # with no token they are disabled and answer 503 by design.
        values = {
            "rate_limit_per_client": 0,
            "rate_limit_per_property": 0,
            "admin_token": secrets.token_hex(16),
            **settings,
        }
        self.env = {
            **os.environ,
            "RAG_DATA_DIR": str(env.settings.data_dir),
            "RAG_DATABASE_NAME": env.settings.database_name,
            "RAG_HOST": "127.0.0.1",
            "RAG_PORT": str(self.port),
            "RAG_LOG_LEVEL": "info",
            **{f"RAG_{k.upper()}": str(v) for k, v in values.items()},
        }
        self.env.pop("RAG_DATABASE_URL", None)
        self.admin_token = str(values["admin_token"])
        self.args = [
            sys.executable,
            "-m",
            "tests.reliability.server",
            f"--encode-ms={encode_ms}",
            f"--batch-ms={batch_ms}",
            f"--job-encode-ms={job_encode_ms}",
        ]
        if accepted_log is not None:
            self.args.append(f"--accepted-log={accepted_log}")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, limit_s: float = 90.0) -> None:
        self.process = await asyncio.to_thread(self._spawn)
        deadline = time.monotonic() + limit_s
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited during start-up:\n{self.log()[-3000:]}")
                try:
                    if (await client.get(f"{self.base}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server not ready in {limit_s}s:\n{self.log()[-3000:]}")
                await asyncio.sleep(0.1)

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self.log_path.open("wb") as log:
            return subprocess.Popen(
                self.args, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def rss_kb(self) -> int:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    async def stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=5) as client:
            data: dict[str, Any] = (await client.get(f"{self.base}/_debug/stats")).json()
            return data

    async def quiet_stats(self, limit_s: float = 20.0) -> dict[str, Any]:
        """Stats once nothing is queued or in flight and the open descriptors have settled."""
        deadline = time.monotonic() + limit_s
        previous: dict[str, Any] | None = None
        stable = 0
        while time.monotonic() < deadline:
            current = await self.stats()
            idle = current["queue_depth"] == 0 and current["cache_inflight"] == 0
            same = previous is not None and current["fds"] == previous["fds"]
            stable = stable + 1 if idle and same else 0
            if stable >= 3:
                return current
            previous = current
            await asyncio.sleep(0.1)
        raise RuntimeError("server did not settle")

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, wait for the exit; returns the exit status."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise

    def kill(self) -> int:
        """SIGKILL: no handler, no clean-up, no atexit; returns the exit status."""
        assert self.process is not None
        self.process.kill()
        return self.process.wait(10)

    async def __aenter__(self) -> ServerProcess:
        try:
            await self.start()
        except BaseException:
            self.terminate()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.terminate)


def count_errors(outcome: Outcome, kinds: Sequence[str], expected: set[str]) -> int:
    """Add every reply kind outside ``expected`` to the outcome's errors; returns how many."""
    unexpected = 0
    for kind in kinds:
        if kind not in expected:
            outcome.errors[kind] += 1
            unexpected += 1
    return unexpected
