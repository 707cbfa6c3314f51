"""The admin API under hostile input, with the valid token: values PostgreSQL cannot store, ids
past its integers and files that choke a parser get a 4xx in the one error shape, never a 500;
accepted uploads ingest."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from app.config import Settings
from app.embedding.encoder import Encoder
from app.main import create_app
from tests import files as hostile_files
from tests.fakes import HashingEncoder
from tests.integration.test_admin import AUTH, TOKEN, admin_settings, wait_for_job
from tests.reliability.attacks import admin_hand_written
from tests.reliability.hostile import error_shaped
from tests.serving import app_client

pytestmark = pytest.mark.integration

PROPERTY = "admin-hostile"
CASES = admin_hand_written(PROPERTY, PROPERTY, TOKEN, "some-other-hotel")


@pytest_asyncio.fixture(scope="module")
async def admin(
    settings: Settings, encoder: Encoder, db_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    limits = {
        "admin_max_upload_bytes": 2_000_000,
        "ingest_max_file_bytes": 1_000_000,
        "ingest_load_cpu_s": 1,
        # Far more than reading these files takes, however busy the machine: the limit that
        # stops a file here is the one each test means (the budget has a test of its own).
        "ingest_load_timeout_s": 60,
    }
    app = create_app(
        admin_settings(settings, **limits), encoder=encoder, job_encoder=HashingEncoder
    )
    async with app_client(app) as client:
        await client.put(f"/admin/properties/{PROPERTY}", json={"name": "Hostile"}, headers=AUTH)
        files = [("files", ("lobby.md", b"# Lobby\n\nOpen all night.", "text/markdown"))]
        upload = await client.post(
            f"/admin/properties/{PROPERTY}/documents", files=files, headers=AUTH
        )
        assert (await wait_for_job(client, upload.json()["job_id"]))["state"] == "succeeded"
        yield client


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_admin_hand_written_attack(
    admin: httpx.AsyncClient,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    expected: set[int],
) -> None:
    response = await admin.request(method, path, content=body or None, headers=headers)
    assert response.status_code in expected, response.text[:300]
    if response.status_code >= 400:
        assert error_shaped(response.content), response.text[:300]
    if response.status_code == 202:
        job = await wait_for_job(admin, response.json()["job_id"])
        assert job["state"] == "succeeded", job


def _corrupt_deflate_docx() -> bytes:
    """A zip whose first member's compressed stream is garbage (zlib fails, not the zip)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>" * 50)
    raw = bytearray(out.getvalue())
    start = 30 + len("[Content_Types].xml")
    raw[start : start + 8] = b"\xff" * 8
    return bytes(raw)


async def test_files_that_choke_a_parser_are_skipped_and_the_rest_ingested(
    admin: httpx.AsyncClient,
) -> None:
    choking = {
        "zlib.docx": _corrupt_deflate_docx(),
        "deep.json": b"[" * 50_000 + b"]" * 50_000,
        "deep.jsonl": b"[" * 50_000,
        "deep.html": b"<div>" * 5_000 + b"x",
        "wide.csv": b'question,answer\n"' + b"a" * 200_000 + b'",yes\n',
    }
    files = [
        ("files", (name, content, "application/octet-stream")) for name, content in choking.items()
    ]
    files.append(("files", ("spa.md", b"# Spa\n\nThe spa opens at 09:00.", "text/markdown")))
    response = await admin.post(
        f"/admin/properties/{PROPERTY}/documents", files=files, headers=AUTH
    )
    assert response.status_code == 202, response.text[:300]
    body = response.json()
    assert body["documents"] == ["spa.md"]
    assert {s["name"] for s in body["skipped"]} == set(choking)
    assert (await wait_for_job(admin, body["job_id"]))["state"] == "succeeded"
    alone = await admin.post(
        f"/admin/properties/{PROPERTY}/documents", files=files[:1], headers=AUTH
    )
    assert alone.status_code == 422
    assert "zlib.docx: could not be read" in alone.json()["error"]["message"]


async def test_document_bombs_cost_a_bounded_time_and_are_skipped_with_a_reason(
    admin: httpx.AsyncClient,
) -> None:
    bombs = {
        "styles.docx": hostile_files.docx_style_bomb(40_000),
        "cells.html": hostile_files.html_element_bomb(90_000),
        "photo.md": hostile_files.markdown_with_image(700_000),
    }
    files = [("files", (name, raw, "application/octet-stream")) for name, raw in bombs.items()]
    response = await admin.post(
        f"/admin/properties/{PROPERTY}/documents", files=files, headers=AUTH
    )
    assert response.status_code == 202, response.text[:300]
    body = response.json()
    assert body["skipped"] == [
        {"name": "styles.docx", "reason": "reading it took more than 1 s of CPU time"}
    ]
    assert sorted(body["documents"]) == ["cells.html", "photo.md"]
    assert (await wait_for_job(admin, body["job_id"]))["state"] == "succeeded"


async def test_an_upload_stops_reading_its_files_when_its_time_budget_is_spent(
    settings: Settings, encoder: Encoder, admin: httpx.AsyncClient
) -> None:
    """A second app (no job worker) on the property the ``admin`` fixture made, with a reading
    budget of 1 s."""
    limits = {"ingest_max_file_bytes": 1_000_000, "ingest_load_cpu_s": 60}
    budget = admin_settings(settings, **limits, ingest_load_timeout_s=1, job_worker_enabled=False)
    files = [
        ("files", ("styles.docx", hostile_files.docx_style_bomb(40_000), "application/msword")),
        ("files", ("spa.md", b"# Spa\n\nThe spa opens at 09:00.", "text/markdown")),
    ]
    async with app_client(create_app(budget, encoder=encoder)) as client:
        started = time.monotonic()
        response = await client.post(
            f"/admin/properties/{PROPERTY}/documents", files=files, headers=AUTH
        )
        elapsed = time.monotonic() - started
    # The docx, seconds of CPU, is stopped at the budget; the file after it is not even read.
    assert response.status_code == 422, response.text[:300]
    message = response.json()["error"]["message"]
    assert "styles.docx: reading it took longer than " in message, message
    assert "spa.md: not read: reading the upload's files took longer than 1 s" in message
    assert elapsed < 5


async def test_a_job_that_finds_documents_already_stored_reports_all_of_them_done(
    admin: httpx.AsyncClient,
) -> None:
    docs = {
        f"desk-{n}.md": f"# Desk {n}\n\nDesk {n} is open from 0{n}:00.".encode() for n in range(4)
    }
    first = [("files", (k, v, "text/markdown")) for k, v in list(docs.items())[:3]]
    path = f"/admin/properties/{PROPERTY}/documents"
    done = await wait_for_job(
        admin, (await admin.post(path, files=first, headers=AUTH)).json()["job_id"]
    )
    assert done["state"] == "succeeded"
    every = [("files", (k, v, "text/markdown")) for k, v in docs.items()]
    again = await wait_for_job(
        admin, (await admin.post(path, files=every, headers=AUTH)).json()["job_id"]
    )
    assert again["state"] == "succeeded", again
    assert (again["progress"]["documents_done"], again["progress"]["documents_total"]) == (4, 4)
