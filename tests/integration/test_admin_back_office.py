"""What a back office needs from the admin API: list, create, rename and delete properties,
list jobs with filters, uploads keyed like the staff command, and an honest OpenAPI schema."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.config import Settings
from app.embedding.encoder import Encoder
from app.main import create_app
from ingestion import store
from ingestion.chunking import TokenCounter
from ingestion.documents import load_paths
from ingestion.pipeline import Ingestor
from tests.fakes import HashingEncoder
from tests.integration.test_admin import AUTH, TOKEN, admin, admin_settings, wait_for_job
from tests.serving import app_client

pytestmark = pytest.mark.integration

__all__ = ["admin"]  # the fixture: a client of the app with the admin routes live


def new_id() -> str:
    return f"bo-{uuid.uuid4().hex[:8]}"


async def test_properties_are_listed_created_renamed_and_deleted(
    admin: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    prop = new_id()
    created = await admin.post(
        "/admin/properties", json={"property_id": prop, "name": "Sea View"}, headers=AUTH
    )
    assert created.status_code == 201
    again = await admin.post(
        "/admin/properties", json={"property_id": prop, "name": "Other"}, headers=AUTH
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "conflict")
    renamed = await admin.put(
        f"/admin/properties/{prop}", json={"name": "Sea View Inn"}, headers=AUTH
    )
    assert renamed.status_code == 200
    listed = (await admin.get("/admin/properties", headers=AUTH)).json()["properties"]
    (row,) = [p for p in listed if p["property_id"] == prop]
    assert (row["name"], row["documents"], row["chunks"], row["live_version"]) == (
        "Sea View Inn", 0, 0, None,
    )  # fmt: skip

    deleted = await admin.delete(f"/admin/properties/{prop}", headers=AUTH)
    assert deleted.json() == {"property_id": prop, "deleted": True}
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM properties WHERE id = $1", prop) == 0
    missing = await admin.delete(f"/admin/properties/{prop}", headers=AUTH)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "property_not_found")
    assert (await admin.get("/admin/properties")).status_code == 401


async def test_upload_keeps_the_relative_path_the_staff_command_uses(
    admin: httpx.AsyncClient, pool: asyncpg.Pool, count_tokens: TokenCounter, tmp_path: Path
) -> None:
    prop = new_id()
    ingestor = Ingestor(pool, HashingEncoder(), count_tokens)  # the job worker's encoder
    (tmp_path / "dining").mkdir()
    (tmp_path / "dining" / "restaurant.md").write_text("# Restaurant\n\nOpen 19:00 to 22:00.\n")
    await ingestor.ingest(prop, load_paths([tmp_path])[0], name="Paths")
    upload = await admin.post(
        f"/admin/properties/{prop}/documents",
        files=[("files", ("dining/restaurant.md", b"# Restaurant\n\nOpen 18:00 to 23:00.\n"))],
        headers=AUTH,
    )
    assert upload.status_code == 202, upload.text
    assert upload.json()["documents"] == ["dining/restaurant.md"]
    assert (await wait_for_job(admin, upload.json()["job_id"]))["state"] == "succeeded"
    async with pool.acquire() as conn:
        # One document, updated in place: the CLI and the API name the file alike.
        assert list(await store.document_hashes(conn, prop)) == ["dining/restaurant.md"]
    climbing = await admin.post(
        f"/admin/properties/{prop}/documents",
        files=[("files", ("../secrets.md", b"# x\n\ny\n"))],
        headers=AUTH,
    )
    assert climbing.status_code == 422


async def test_jobs_are_listed_with_filters(admin: httpx.AsyncClient) -> None:
    prop = new_id()
    await admin.put(f"/admin/properties/{prop}", json={"name": "Jobs"}, headers=AUTH)
    ids = []
    for n in range(3):
        r = await admin.post(
            f"/admin/properties/{prop}/documents",
            files=[("files", (f"doc{n}.md", f"# Doc {n}\n\nText {n}.\n".encode()))],
            headers=AUTH,
        )
        ids.append(r.json()["job_id"])
        await wait_for_job(admin, ids[-1])
    page = (await admin.get(f"/admin/jobs?property_id={prop}&limit=2", headers=AUTH)).json()
    assert [j["job_id"] for j in page["jobs"]] == [ids[2], ids[1]]
    rest = await admin.get(
        f"/admin/jobs?property_id={prop}&before={page['next_before']}", headers=AUTH
    )
    assert [j["job_id"] for j in rest.json()["jobs"]] == [ids[0]]
    by_state = await admin.get(
        f"/admin/jobs?property_id={prop}&state=succeeded&kind=ingest", headers=AUTH
    )
    assert len(by_state.json()["jobs"]) == 3
    none = await admin.get(f"/admin/jobs?property_id={prop}&kind=reindex", headers=AUTH)
    assert none.json()["jobs"] == []
    bad = await admin.get("/admin/jobs?state=sleeping", headers=AUTH)
    assert bad.status_code == 422


async def test_openapi_declares_bearer_auth_and_the_limits_the_server_applies(
    settings: Settings, encoder: Encoder, db_url: str
) -> None:
    custom = admin_settings(settings, max_question_chars=321, max_top_k=7)
    app = create_app(custom, encoder=encoder)
    async with app_client(app) as client:
        schema = (await client.get("/openapi.json")).json()
        ask = schema["components"]["schemas"]["AskRequest"]["properties"]
        assert ask["question"]["maxLength"] == custom.max_question_chars
        top_k = next(v for v in ask["top_k"]["anyOf"] if v.get("type") == "integer")
        assert top_k["maximum"] == custom.max_top_k
        # ... and the server refuses exactly past them.
        too_long = await client.post(
            "/ask", json={"property_id": "x", "question": "q" * (custom.max_question_chars + 1)}
        )
        assert too_long.status_code == 422
        schemes = schema["components"]["securitySchemes"]
        assert schemes["AdminToken"] == {
            "type": "http", "scheme": "bearer",
            "description": "RAG_ADMIN_TOKEN, or a staff token on the routes that take one",
        }  # fmt: skip
        for path, item in schema["paths"].items():
            for operation in item.values():
                secured = operation.get("security") == [{"AdminToken": []}]
                assert secured == path.startswith("/admin"), path
        for page in ("/docs", "/redoc"):
            html = (await client.get(page)).text
            assert "/docs-assets/" in html
            assert "https://" not in html, page  # no CDN: the page works offline
            asset = html.split('src="')[1].split('"')[0]
            assert (await client.get(asset)).status_code == 200
            assert TOKEN not in html
    assert TOKEN not in json.dumps(schema)  # the schema names the scheme, never the token
