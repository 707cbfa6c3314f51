"""Admin API: token checks, properties, uploads with limits and bad files, jobs, audit log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from app.config import Settings
from app.embedding.encoder import Encoder
from app.main import create_app
from tests.fakes import HashingEncoder
from tests.files import HTML_PAGE, write_pdf
from tests.serving import app_client

pytestmark = pytest.mark.integration

TOKEN = "s3cret-admin-token-for-tests"
AUTH = {"authorization": f"Bearer {TOKEN}"}


def admin_settings(settings: Settings, **changes: object) -> Settings:
    values = {
        "admin_token": SecretStr(TOKEN),
        "admin_max_upload_bytes": 200_000,
        "ingest_max_file_bytes": 100_000,
        "job_poll_s": 0.2,
        "retire_grace_s": 0.0,
        **changes,
    }
    return settings.model_copy(update=values)


@pytest_asyncio.fixture
async def admin(
    settings: Settings, encoder: Encoder, db_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(admin_settings(settings), encoder=encoder, job_encoder=HashingEncoder)
    async with app_client(app) as client:
        yield client


async def wait_for_job(client: httpx.AsyncClient, job_id: int) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            body = (await client.get(f"/admin/jobs/{job_id}", headers=AUTH)).json()
            if body["state"] in ("succeeded", "failed"):
                return body
            await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"authorization": "Basic abc"}, 401, "unauthorized"),
        ({"authorization": "Bearer wrong-token"}, 403, "forbidden"),
        ({"authorization": f"Bearer {TOKEN}x"}, 403, "forbidden"),
    ],
)
async def test_admin_routes_need_the_right_token(
    admin: httpx.AsyncClient, headers: dict[str, str], status: int, code: str
) -> None:
    for method, path in (("GET", "/admin/jobs/1"), ("POST", "/admin/reindex")):
        response = await admin.request(method, path, headers=headers, json={"property_id": "x"})
        assert response.status_code == status, (method, path)
        assert response.json()["error"]["code"] == code
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


async def test_right_token_is_accepted(admin: httpx.AsyncClient) -> None:
    response = await admin.get("/admin/jobs/999999", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_admin_is_disabled_without_a_token_outside_development(
    settings: Settings, encoder: Encoder, db_url: str
) -> None:
    app = create_app(
        admin_settings(settings, admin_token=None, job_worker_enabled=False), encoder=encoder
    )
    async with app_client(app) as client:
        response = await client.get(
            "/admin/jobs/1", headers={"authorization": "Bearer dev-admin-token"}
        )
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "admin_disabled"
    dev = create_app(
        admin_settings(settings, admin_token=None, env="development", job_worker_enabled=False),
        encoder=encoder,
    )
    async with app_client(dev) as client:
        response = await client.get(
            "/admin/jobs/999999", headers={"authorization": "Bearer dev-admin-token"}
        )
        assert response.status_code == 404


async def test_create_upload_list_delete_and_audit(
    admin: httpx.AsyncClient,
    tmp_path,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.INFO, logger="concierge.audit")
    created = await admin.put(
        "/admin/properties/admin-test", json={"name": "Admin Test"}, headers=AUTH
    )
    assert created.status_code == 201
    renamed = await admin.put(
        "/admin/properties/admin-test", json={"name": "Admin Test 2"}, headers=AUTH
    )
    assert renamed.status_code == 200
    pdf = write_pdf(tmp_path / "rules.pdf", [["Quiet hours start at 22:00."]]).read_bytes()
    files = [
        ("files", ("spa.html", HTML_PAGE.encode(), "text/html")),
        ("files", ("rules.pdf", pdf, "application/pdf")),
        ("files", ("broken.pdf", b"%PDF-1.4 garbage", "application/pdf")),
    ]
    upload = await admin.post("/admin/properties/admin-test/documents", files=files, headers=AUTH)
    assert upload.status_code == 202, upload.text
    body = upload.json()
    assert body["documents"] == ["spa.html", "rules.pdf"]
    assert body["skipped"][0]["name"] == "broken.pdf"
    job = await wait_for_job(admin, body["job_id"])
    assert job["state"] == "succeeded", job
    assert job["progress"]["chunks_done"] > 0

    listed = (await admin.get("/admin/properties/admin-test/documents", headers=AUTH)).json()
    assert {d["doc_key"] for d in listed["documents"]} == {"spa.html", "rules.pdf"}
    deleted = await admin.delete("/admin/properties/admin-test/documents/rules.pdf", headers=AUTH)
    assert deleted.status_code == 200
    again = await admin.delete("/admin/properties/admin-test/documents/rules.pdf", headers=AUTH)
    assert again.status_code == 404
    listed = (await admin.get("/admin/properties/admin-test/documents", headers=AUTH)).json()
    assert [d["doc_key"] for d in listed["documents"]] == ["spa.html"]

    records = [r for r in caplog.records if r.name == "concierge.audit"]
    # Audit entries are JSON fields, not text inside the message.
    entries = [getattr(r, "fields", {}) for r in records]
    for action in ("property.create", "property.rename", "documents.upload", "documents.delete"):
        assert any(e.get("action") == action for e in entries), action
    upload_entry = next(e for e in entries if e["action"] == "documents.upload")
    assert upload_entry["property"] == "admin-test"
    assert upload_entry["actor"] == "admin"
    assert upload_entry["request_id"] == upload.headers["x-request-id"]
    assert all(TOKEN not in f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in records)


async def test_upload_limits_and_bad_files(admin: httpx.AsyncClient) -> None:
    await admin.put("/admin/properties/admin-limits", json={"name": "Limits"}, headers=AUTH)
    url = "/admin/properties/admin-limits/documents"
    too_big_file = [("files", ("big.md", b"# Big\n\n" + b"a" * 150_000, "text/markdown"))]
    response = await admin.post(url, files=too_big_file, headers=AUTH)
    assert response.status_code == 413
    over_request = [("files", ("huge.md", b"a" * 300_000, "text/markdown"))]
    response = await admin.post(url, files=over_request, headers=AUTH)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    # Bigger than the guests' 64 KiB body limit, within the admin one: accepted.
    fine = [("files", ("menu.md", b"# Menu\n\n" + b"Soup of the day. " * 5000, "text/markdown"))]
    assert (await admin.post(url, files=fine, headers=AUTH)).status_code == 202
    bad = [
        ("files", ("empty.md", b"   ", "text/markdown")),
        ("files", ("photo.png", b"\x89PNG....", "image/png")),
        ("files", ("latin.txt", "caf\xe9".encode("latin-1"), "text/plain")),
    ]
    response = await admin.post(url, files=bad, headers=AUTH)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    for reason in (
        "empty.md: empty file",
        "photo.png: unsupported file type",
        "latin.txt: not UTF-8",
    ):
        assert reason in message
    missing = await admin.post(
        "/admin/properties/no-such-hotel/documents", files=fine, headers=AUTH
    )
    assert missing.status_code == 404
    no_files = await admin.post(url, headers=AUTH)
    assert no_files.status_code == 422


async def test_reindex_job_and_retry_rules(admin: httpx.AsyncClient) -> None:
    await admin.put("/admin/properties/admin-reindex", json={"name": "Reindex"}, headers=AUTH)
    files = [("files", ("faq.csv", b"question,answer\nParking?,Yes.\nPets?,Dogs.\n", "text/csv"))]
    upload = await admin.post(
        "/admin/properties/admin-reindex/documents", files=files, headers=AUTH
    )
    assert (await wait_for_job(admin, upload.json()["job_id"]))["state"] == "succeeded"
    response = await admin.post(
        "/admin/reindex", json={"property_id": "admin-reindex", "max_tokens": 64}, headers=AUTH
    )
    assert response.status_code == 202
    job = await wait_for_job(admin, response.json()["job_id"])
    assert job["state"] == "succeeded", job
    retry = await admin.post(f"/admin/jobs/{job['job_id']}/retry", headers=AUTH)
    assert retry.status_code == 409
    unknown = await admin.post(
        "/admin/reindex", json={"property_id": "no-such-hotel"}, headers=AUTH
    )
    assert unknown.status_code == 404
    bad = await admin.post(
        "/admin/reindex", json={"property_id": "x", "max_tokens": 1}, headers=AUTH
    )
    assert bad.status_code == 422
    # Past the model's window: refused at once, not a job that fails later.
    too_long = await admin.post(
        "/admin/reindex", json={"property_id": "admin-reindex", "max_tokens": 400}, headers=AUTH
    )
    assert too_long.status_code == 422
    assert "between 16 and 256" in too_long.json()["error"]["message"]
    await admin.put("/admin/properties/admin-empty", json={"name": "Empty"}, headers=AUTH)
    empty = await admin.post("/admin/reindex", json={"property_id": "admin-empty"}, headers=AUTH)
    assert empty.status_code == 409
    assert "no index yet" in empty.json()["error"]["message"]
