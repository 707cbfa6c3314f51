"""Rate limits, CORS, security headers and the redaction of secrets, through the real app."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.config import PROJECT_ROOT, Settings
from app.db.server import server_url, with_database
from app.main import create_app
from tests.fakes import HashingEncoder
from tests.serving import app_client

pytestmark = pytest.mark.integration

ASK = {"property_id": "no-such-hotel", "question": "hi"}


async def _client(settings: Settings, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=changes), encoder=HashingEncoder())
    async with app_client(app, client=("10.0.0.1", 5000)) as client:
        yield client


async def test_per_client_limit_gives_429_with_retry_after(settings: Settings, db_url: str) -> None:
    async for client in _client(settings, rate_limit_per_client=1.0, rate_limit_client_burst=3):
        statuses = [(await client.post("/ask", json=ASK)).status_code for _ in range(3)]
        assert statuses == [404, 404, 404]
        limited = await client.post("/ask", json=ASK, headers={"x-request-id": "r-1"})
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"
        assert limited.json()["error"] == {
            "code": "rate_limited",
            "message": limited.json()["error"]["message"],
            "request_id": "r-1",
        }
        # Health checks are never limited.
        assert (await client.get("/healthz")).status_code == 200
        # X-Forwarded-For is ignored unless the proxy is trusted: still the same client.
        spoofed = await client.post("/ask", json=ASK, headers={"x-forwarded-for": "1.2.3.4"})
        assert spoofed.status_code == 429


async def test_forwarded_client_is_used_behind_a_trusted_proxy(
    settings: Settings, db_url: str
) -> None:
    async for client in _client(
        settings, rate_limit_per_client=0.1, rate_limit_client_burst=1, trust_proxy_headers=True
    ):
        first = await client.post("/ask", json=ASK, headers={"x-forwarded-for": "9.9.9.9, 1.1.1.1"})
        again = await client.post("/ask", json=ASK, headers={"x-forwarded-for": "8.8.8.8, 1.1.1.1"})
        other = await client.post("/ask", json=ASK, headers={"x-forwarded-for": "1.1.1.2"})
        assert (first.status_code, again.status_code, other.status_code) == (404, 429, 404)
        assert again.headers["retry-after"] == "10"


async def test_per_property_limit(settings: Settings, db_url: str) -> None:
    async for client in _client(
        settings, rate_limit_per_property=0.5, rate_limit_property_burst=2, rate_limit_per_client=0
    ):
        codes = [(await client.post("/ask", json=ASK)).status_code for _ in range(3)]
        assert codes == [404, 404, 429]
        other = await client.post("/ask", json={**ASK, "property_id": "another-hotel"})
        assert other.status_code == 404
        limited = await client.post("/ask", json=ASK)
        assert limited.json()["error"]["code"] == "rate_limited"
        assert limited.headers["retry-after"] == "2"


async def test_security_headers_on_every_response(settings: Settings, db_url: str) -> None:
    async for client in _client(settings):
        for response in (
            await client.get("/healthz"),
            await client.post("/ask", json=ASK),
            await client.post("/ask", content=b"x" * 100_000),
            await client.get("/nope"),
        ):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert "default-src 'none'" in response.headers["content-security-policy"]
            assert "server" not in response.headers
            assert "access-control-allow-origin" not in response.headers
        docs = await client.get("/docs")
        assert docs.status_code == 200
        # The docs page loads its assets, from this server only.
        assert docs.headers["content-security-policy"].startswith("default-src 'self'")


async def test_cors_only_for_configured_origins(settings: Settings, db_url: str) -> None:
    widget = "https://widget.example"
    async for client in _client(settings, cors_origins=f"{widget}, https://other.example/"):
        preflight = await client.options(
            "/ask",
            headers={
                "origin": widget,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == widget
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "content-type" in preflight.headers["access-control-allow-headers"]
        actual = await client.post("/ask", json=ASK, headers={"origin": widget})
        assert actual.headers["access-control-allow-origin"] == widget
        assert "retry-after" in actual.headers["access-control-expose-headers"]
        evil = "https://evil.example"
        refused = await client.options(
            "/ask", headers={"origin": evil, "access-control-request-method": "POST"}
        )
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "cors_forbidden"
        plain = await client.post("/ask", json=ASK, headers={"origin": evil})
        assert "access-control-allow-origin" not in plain.headers
    async for client in _client(settings, cors_origins="*"):
        anyone = await client.post("/ask", json=ASK, headers={"origin": "https://x.example"})
        assert anyone.headers["access-control-allow-origin"] == "*"


async def test_slow_body_gets_408(settings: Settings, db_url: str) -> None:
    import asyncio

    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"property_id": "no-such-hotel", '
        await asyncio.sleep(1.0)  # the slow client under test, not synchronisation
        yield b'"question": "hi"}'

    async for client in _client(settings, body_timeout_s=0.2):
        response = await client.post(
            "/ask", content=trickle(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 408
        assert response.json()["error"]["code"] == "request_timeout"


def test_database_password_is_never_printed(settings: Settings, db_url: str) -> None:
    secret = "Sup3r-Secret-pa55"
    base = server_url(settings)  # the embedded server trusts local connections
    scheme, rest = base.split("://", 1)
    user, _, tail = rest.partition("@")
    url = with_database(f"{scheme}://{user.split(':')[0]}:{secret}@{tail}", settings.database_name)
    env = {**os.environ, "RAG_DATABASE_URL": url, "RAG_LOG_LEVEL": "debug"}
    done = subprocess.run(
        [sys.executable, "-m", "app", "migrate"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-2000:]
    assert "***@" in output
    assert secret not in output
    # An unreachable server: the error must not carry the password either.
    bad = {**env, "RAG_DATABASE_URL": f"postgresql://app:{secret}@127.0.0.1:1/x"}
    failed = subprocess.run(
        [sys.executable, "-m", "app", "migrate"],
        cwd=PROJECT_ROOT,
        env=bad,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert failed.returncode != 0
    assert secret not in failed.stdout + failed.stderr
