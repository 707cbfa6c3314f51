"""``/ask`` end to end through the app with the real model and database; errors and limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.api.ratelimit import KeyedLimiter
from app.services import Services
from ingestion.documents import Document
from ingestion.pipeline import Ingestor

pytestmark = pytest.mark.integration


def services(app: FastAPI) -> Services:
    result: Services = app.state.services
    return result


async def ask(client: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await client.post("/ask", json=body)


async def test_answers_a_plain_question_with_a_cited_source(client: httpx.AsyncClient) -> None:
    response = await ask(client, property_id="harbour-grand", question="What time is check-out?")
    assert response.status_code == 200
    body = response.json()
    assert "11:00" in body["answer"]
    assert not body["escalate"]
    cited = [s for s in body["sources"] if f"[{s['n']}]" in body["answer"]]
    assert cited, body
    assert {s["document_id"] for s in cited} <= {"check-in-check-out.md", "faq.md"}
    assert set(body["timings_ms"]) == {"embed", "search", "answer", "total"}
    assert response.headers["x-request-id"] == body["request_id"]


async def test_each_property_answers_from_its_own_documents(client: httpx.AsyncClient) -> None:
    expected = {"harbour-grand": "11:00", "sunset-cove": "12:00", "alpine-lodge": "10:00"}
    for property_id, time in expected.items():
        body = (await ask(client, property_id=property_id, question="check-out time?")).json()
        assert time in body["answer"], (property_id, body["answer"])


async def test_second_identical_question_is_cached(client: httpx.AsyncClient) -> None:
    question = "Is breakfast included in the room rate?"
    first = (await ask(client, property_id="sunset-cove", question=question)).json()
    second = (
        await ask(client, property_id="sunset-cove", question=f"  {question.upper()} ")
    ).json()
    assert second["cached"] is True
    assert second["answer"] == first["answer"]
    assert second["timings_ms"]["embed"] == 0.0
    # The cached body (rendered once, then reused) says all that the computed one said.
    per_request = {"cached", "request_id", "timings_ms"}
    assert {k: v for k, v in second.items() if k not in per_request} == {
        k: v for k, v in first.items() if k not in per_request
    }
    third = await client.post(
        "/ask",
        json={"property_id": "sunset-cove", "question": question},
        headers={"x-request-id": "cached-3"},
    )
    assert third.json()["request_id"] == third.headers["x-request-id"] == "cached-3"
    assert third.json()["sources"] == first["sources"]
    assert third.headers["content-type"] == "application/json"


async def test_a_cached_answer_still_counts_against_the_property_limit(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    body = {"property_id": "alpine-lodge", "question": "Is there a sauna?"}
    assert (await client.post("/ask", json=body)).status_code == 200
    limits = services(app).rate_limits
    unlimited = limits.per_property
    limits.per_property = KeyedLimiter(rate=0.01, burst=1, max_keys=10)
    try:
        allowed = await client.post("/ask", json=body)
        refused = await client.post("/ask", json=body)
    finally:
        limits.per_property = unlimited
    assert allowed.status_code == 200
    assert allowed.json()["cached"] is True
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"


async def test_a_question_is_embedded_once_for_the_desk_and_the_search(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tasks = services(app).tasks
    assert tasks is not None
    await tasks.recorder.drain()  # no hand-over of an earlier test is embedded meanwhile
    batcher = services(app).batcher
    before = batcher.stats.items
    question = "Where could we leave the car overnight near the harbour?"
    body = (await ask(client, property_id="harbour-grand", question=question)).json()
    assert body["kind"] == "information", body
    assert not body["cached"]
    assert batcher.stats.items - before == 1


async def test_unanswerable_question_escalates(client: httpx.AsyncClient) -> None:
    body = (await ask(client, property_id="alpine-lodge", question="Do you have a casino?")).json()
    assert body["escalate"] is True
    assert "front desk" in body["answer"]


async def test_top_k_controls_the_number_of_sources(client: httpx.AsyncClient) -> None:
    body = (await ask(client, property_id="alpine-lodge", question="sauna", top_k=8)).json()
    assert len(body["sources"]) == 8


async def test_new_content_is_answered_at_once_without_stale_cache(
    client: httpx.AsyncClient, app: FastAPI, ingestor: Ingestor, tmp_path: Path
) -> None:
    question = "When does the rooftop cinema start?"
    before = (await ask(client, property_id="harbour-grand", question=question)).json()
    assert "21:30" not in before["answer"]
    doc = Document(
        "rooftop-cinema.md",
        "Rooftop cinema",
        "# Rooftop cinema\n\nThe rooftop cinema starts at 21:30 every Friday on the Skyline "
        "Terrace. Blankets are provided.",
        str(tmp_path / "rooftop-cinema.md"),
    )
    report = await ingestor.ingest("harbour-grand", [doc])
    assert report.added == 1
    assert report.revision is not None
    async with asyncio.timeout(10):
        await services(app).registry.wait_for("harbour-grand", report.revision)
    after = (await ask(client, property_id="harbour-grand", question=question)).json()
    assert after["cached"] is False
    assert "21:30" in after["answer"]
    assert any(s["document_id"] == "rooftop-cinema.md" for s in after["sources"])


async def test_reingesting_unchanged_content_embeds_nothing(
    ingestor: Ingestor, tmp_path: Path
) -> None:
    doc = Document("same.md", "Same", "# Same\n\nNothing changes here.", "same.md")
    first = await ingestor.ingest("alpine-lodge", [doc])
    second = await ingestor.ingest("alpine-lodge", [doc])
    assert (first.added, first.embedded) == (1, 1)
    assert (second.added, second.updated, second.unchanged, second.embedded) == (0, 0, 1, 0)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"property_id": "no-such-hotel", "question": "hi"}, 404, "property_not_found"),
        ({"property_id": "harbour-grand", "question": ""}, 422, "invalid_request"),
        ({"property_id": "harbour-grand", "question": "   "}, 422, "invalid_request"),
        ({"property_id": "Bad Id!", "question": "hi"}, 422, "invalid_request"),
        ({"property_id": "harbour-grand"}, 422, "invalid_request"),
        ({"property_id": "harbour-grand", "question": 42}, 422, "invalid_request"),
        ({"property_id": "harbour-grand", "question": "hi", "top_k": 0}, 422, "invalid_request"),
        ({"property_id": "harbour-grand", "question": "hi", "top_k": 21}, 422, "invalid_request"),
        ({"property_id": "harbour-grand", "question": "x" * 1001}, 422, "invalid_request"),
        ({"property_id": "harbour-grand", "question": "hi", "extra": 1}, 422, "invalid_request"),
        ({"property_id": "x'; DROP TABLE chunks;--", "question": "hi"}, 422, "invalid_request"),
    ],
)
async def test_bad_input_gets_one_error_shape(
    client: httpx.AsyncClient, body: dict[str, object], status: int, code: str
) -> None:
    response = await client.post("/ask", json=body, headers={"x-request-id": "req-123"})
    assert response.status_code == status
    assert response.json() == {
        "error": {
            "code": code,
            "message": response.json()["error"]["message"],
            "request_id": "req-123",
        }
    }
    assert response.json()["error"]["message"]


async def test_malformed_json_and_wrong_content(client: httpx.AsyncClient) -> None:
    for content in (b"{not json", b"[]", b"null", b'"question"'):
        response = await client.post(
            "/ask", content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, content
        assert response.json()["error"]["code"] == "invalid_request"


async def test_oversized_bodies_are_refused(client: httpx.AsyncClient) -> None:
    big = b'{"property_id": "harbour-grand", "question": "' + b"a" * 200_000 + b'"}'
    response = await client.post("/ask", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"a" * 10_000

    streamed = await client.post(
        "/ask", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


async def test_unknown_route_and_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = await client.get("/ask")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


async def test_control_characters_and_odd_unicode_are_answered(client: httpx.AsyncClient) -> None:
    for question in ("wifi\x00 password\x1b[31m", "🏊‍♀️ pool hours?", "\u202eparking", "ǅ" * 50):
        response = await ask(client, property_id="harbour-grand", question=question)
        assert response.status_code == 200, question
        assert response.json()["answer"]


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "schema": "ok", "model": "ok"}
    # Reading the partitions into the database's buffers runs behind start-up.
    assert ready.json()["search_warm"] in {"warming", "done"}


async def test_openapi_docs_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    assert "/ask" in schema["paths"]
