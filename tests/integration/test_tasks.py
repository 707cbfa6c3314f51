"""Requests, safety and the hand-over to staff, through the API on the sample hotels."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from app.config import Settings
from app.embedding.encoder import Encoder
from app.main import create_app
from app.services import Services
from app.tasks import staff
from tests.serving import app_client

pytestmark = pytest.mark.integration

TOKEN = "tasks-admin-token-for-tests"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest_asyncio.fixture(scope="module")
async def desk_app(
    settings: Settings, encoder: Encoder, sample_loaded: list[str]
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    app = create_app(settings.model_copy(update={"admin_token": SecretStr(TOKEN)}), encoder=encoder)
    async with app_client(app) as client:
        yield client, app.state.services


async def ask(client: httpx.AsyncClient, question: str, **extra: object) -> dict:
    body = {"property_id": "harbour-grand", "question": question, **extra}
    response = await client.post("/ask", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_request_becomes_one_task_per_session_with_its_room(
    desk_app: tuple[httpx.AsyncClient, Services],
) -> None:
    client, _ = desk_app
    session = uuid.uuid4().hex
    first = await ask(client, "Can I get extra towels sent to room 412?", session_id=session)
    assert first["kind"] == "service_request"
    task = first["task"]
    assert (task["category"], task["room"], task["status"]) == ("housekeeping", "412", "open")
    assert task["created"] is True
    assert task["ref"] in first["answer"]
    assert first["answer"].startswith("I have passed your request to our "), first["answer"]
    again = await ask(client, "can you bring the towels please", session_id=session)
    assert again["task"]["id"] == task["id"]
    assert again["task"]["created"] is False
    other = await ask(client, "Can I get extra towels sent to room 412?", session_id="x" + session)
    assert other["task"]["id"] != task["id"]


async def test_a_missing_room_is_asked_for_and_filled_in_by_the_next_request(
    desk_app: tuple[httpx.AsyncClient, Services],
) -> None:
    client, _ = desk_app
    session = uuid.uuid4().hex
    first = await ask(client, "My shower is broken", session_id=session)
    assert first["task"]["needs_room"] is True
    assert first["task"]["category"] == "maintenance"
    assert "room" in first["answer"].lower()
    second = await ask(client, "My shower is broken", session_id=session, room="305")
    assert second["task"]["id"] == first["task"]["id"]
    assert second["task"]["room"] == "305"
    assert second["task"]["needs_room"] is False
    seen = await client.get(f"/tasks/{first['task']['ref']}", params={"session_id": session})
    assert seen.status_code == 200
    assert seen.json()["status"] == "open"
    stranger = await client.get(f"/tasks/{first['task']['ref']}", params={"session_id": "nope"})
    assert stranger.status_code == 404


async def test_an_allergy_question_is_handed_over_with_the_hotels_own_text_never_a_yes(
    desk_app: tuple[httpx.AsyncClient, Services],
) -> None:
    client, _ = desk_app
    body = await ask(client, "I am allergic to peanuts, is the breakfast safe?")
    assert (body["kind"], body["answer_source"], body["escalate"]) == ("safety", "safety", True)
    assert body["task"]["priority"] == "high"
    assert "can't confirm" in body["answer"]
    assert "allerg" in body["answer"].split("What the hotel says:")[1].lower()
    assert body["citations"]
    assert {s["n"] for s in body["sources"]} == set(body["citations"])


async def test_an_emergency_gives_the_number_from_the_knowledge_base_and_an_urgent_task(
    desk_app: tuple[httpx.AsyncClient, Services],
) -> None:
    client, _ = desk_app
    response = await client.post(
        "/ask",
        json={"property_id": "alpine-lodge", "question": "There is smoke in the corridor!"},
    )
    body = response.json()
    assert body["kind"] == "safety"
    assert body["task"]["priority"] == "urgent"
    assert "call 112" in body["answer"]


async def test_small_talk_and_questions_are_not_tasks(
    desk_app: tuple[httpx.AsyncClient, Services],
) -> None:
    client, _ = desk_app
    thanks = await ask(client, "thanks a lot!")
    assert (thanks["kind"], thanks["answer_source"]) == ("small_talk", "small_talk")
    assert "task" not in thanks
    question = await ask(client, "What time is check-out?")
    assert question["kind"] == "information"
    assert "11:00" in question["answer"]


async def test_staff_list_acknowledge_and_finish_tasks_and_the_change_is_audited(
    desk_app: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = desk_app
    assert services.tasks is not None
    feed = services.tasks.feed
    await asyncio.wait_for(feed.listening.wait(), 10)
    sub = feed.subscribe(frozenset({"harbour-grand"}))
    try:
        made = await ask(client, "Please book a table for four at the restaurant tonight")
        task_id = made["task"]["id"]
        event = await asyncio.wait_for(sub.queue.get(), 10)
        assert event is not None
        assert (event["event"], event["task"]["id"]) == ("created", task_id)
    finally:
        feed.unsubscribe(sub)
    listed = await client.get(
        "/admin/tasks", params={"property_id": "harbour-grand", "status": "open"}, headers=AUTH
    )
    assert task_id in [t["id"] for t in listed.json()["tasks"]]
    headers = {**AUTH, "x-admin-actor": "maria"}
    ack = await client.patch(
        f"/admin/tasks/{task_id}", json={"status": "acknowledged"}, headers=headers
    )
    assert ack.status_code == 200, ack.text
    assert (ack.json()["status"], ack.json()["updated_by"]) == ("acknowledged", "maria")
    done = await client.patch(f"/admin/tasks/{task_id}", json={"status": "done"}, headers=AUTH)
    assert done.json()["closed_at"] is not None
    again = await client.patch(f"/admin/tasks/{task_id}", json={"status": "open"}, headers=AUTH)
    assert again.status_code == 409
    bad = await client.patch(f"/admin/tasks/{task_id}", json={"status": "lost"}, headers=AUTH)
    assert bad.status_code == 422
    async with services.pool.acquire() as conn:
        actions = await conn.fetch(
            "SELECT actor, action FROM audit_log WHERE target = $1 ORDER BY id", made["task"]["ref"]
        )
    assert [(a["actor"], a["action"]) for a in actions] == [
        ("maria", "task.acknowledged"),
        ("admin", "task.done"),
    ]


async def test_a_staff_token_sees_only_its_own_properties_and_a_revoked_one_nothing(
    desk_app: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = desk_app
    await ask(client, "please call a cab for me")
    await client.post(
        "/ask", json={"property_id": "sunset-cove", "question": "please call a cab for me"}
    )
    name = f"desk-{uuid.uuid4().hex[:6]}"
    async with services.pool.acquire() as conn:
        token = await staff.create_token(conn, name, "staff", ["sunset-cove"])
    mine = {"authorization": f"Bearer {token}"}
    seen = (await client.get("/admin/tasks", headers=mine)).json()["tasks"]
    assert seen
    assert {t["property_id"] for t in seen} == {"sunset-cove"}
    other = await client.get("/admin/tasks", params={"property_id": "harbour-grand"}, headers=mine)
    assert other.status_code == 403
    harbour = (
        await client.get("/admin/tasks", params={"property_id": "harbour-grand"}, headers=AUTH)
    ).json()
    foreign = harbour["tasks"][0]["id"]
    patch = await client.patch(f"/admin/tasks/{foreign}", json={"status": "done"}, headers=mine)
    assert patch.status_code == 404
    async with services.pool.acquire() as conn:
        assert await staff.revoke_token(conn, name)
    from app.api.staff import forget_tokens

    forget_tokens()
    assert (await client.get("/admin/tasks", headers=mine)).status_code == 403
    assert (await client.get("/admin/tasks")).status_code == 401


async def test_hand_overs_and_thumbs_down_are_masked_grouped_and_counted(
    desk_app: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = desk_app
    assert services.tasks is not None
    for question in (
        "Can I land my helicopter on the roof?",
        "can I land a helicopter on your roof",
        "Is there a helipad for my helicopter on the roof?",
    ):
        body = await ask(client, question)
        assert body["escalate"] is True
    vote = {
        "property_id": "harbour-grand", "request_id": f"r-{uuid.uuid4().hex}", "rating": "down",
        "question": "Email me at anna@example.com or call +44 20 7946 0000 about room 412",
    }  # fmt: skip
    assert (await client.post("/feedback", json=vote)).status_code == 202
    assert (await client.post("/feedback", json={**vote, "rating": "up"})).status_code == 202
    bad = await client.post("/feedback", json={**vote, "property_id": "nowhere"})
    assert bad.status_code == 404
    nul = await client.post("/feedback", json={**vote, "question": "towels\x00now"})
    assert nul.status_code == 422
    assert nul.json()["error"]["code"] == "invalid_request"
    await asyncio.wait_for(services.tasks.recorder.drain(), 20)
    gaps = (
        await client.get("/admin/gaps", params={"property_id": "harbour-grand"}, headers=AUTH)
    ).json()
    heli = [
        g for g in gaps["groups"]
        if any("helicopter" in q.lower() for q in [g["question"], *g["examples"]])
    ]  # fmt: skip
    assert heli
    assert heli[0]["count"] == 3
    rated = (await client.get("/admin/feedback", headers=AUTH)).json()["feedback"]
    mine = [r for r in rated if r["request_id"] == vote["request_id"]]
    assert len(mine) == 1
    assert mine[0]["kind"] == "thumbs_up"
    assert mine[0]["question"] == "Email me at [email] or call [phone] about room [room]"
    metrics = (await client.get("/metrics")).text
    assert 'concierge_handovers_total{reason="no_answer"}' in metrics
    assert 'concierge_tasks_created_total{category="housekeeping"}' in metrics
    assert 'concierge_feedback_total{rating="down"} 1.0' in metrics


async def test_admin_changes_are_audit_rows_and_old_signals_are_purged(
    desk_app: tuple[httpx.AsyncClient, Services],
) -> None:
    from app.api.admin import _audit_writes
    from app.tasks.gaps import purge

    client, services = desk_app
    headers = {**AUTH, "x-admin-actor": "olga"}
    renamed = await client.put(
        "/admin/properties/harbour-grand", json={"name": "The Harbour Grand Hotel"}, headers=headers
    )
    assert renamed.status_code == 200
    await asyncio.gather(*_audit_writes)
    async with services.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT actor, action, property_id FROM audit_log WHERE request_id = $1",
            renamed.headers["x-request-id"],
        )
        assert row is not None
        assert (row["actor"], row["action"], row["property_id"]) == (
            "olga", "property.rename", "harbour-grand",
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO guest_signals (property_id, kind, reason, question, created_at) VALUES "
            "('harbour-grand', 'handover', 'no_answer', 'old one', now() - interval '100 days')"
        )
        assert await purge(conn, 90) >= 1
        left = await conn.fetchval("SELECT count(*) FROM guest_signals WHERE question = 'old one'")
    assert left == 0


async def test_audit_rows_past_the_bound_are_logged_as_not_written(
    desk_app: tuple[httpx.AsyncClient, Services],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from app.api import admin

    client, services = desk_app
    monkeypatch.setattr(admin, "MAX_AUDIT_WRITES", 0)
    with caplog.at_level(logging.WARNING, logger="app.api.admin"):
        renamed = await client.put(
            "/admin/properties/harbour-grand", json={"name": "Harbour Grand"}, headers=AUTH
        )
    assert renamed.status_code == 200
    assert not admin._audit_writes
    assert any("audit row not written" in r.getMessage() for r in caplog.records)
    async with services.pool.acquire() as conn:
        rows = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE request_id = $1", renamed.headers["x-request-id"]
        )
    assert rows == 0


async def test_a_propertys_own_examples_teach_the_classifier_up_to_a_limit(
    desk_app: tuple[httpx.AsyncClient, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, services = desk_app
    assert services.tasks is not None
    classifier = services.tasks.classifier
    monkeypatch.setattr(classifier, "max_property_examples", 2)
    route = "/admin/properties/sunset-cove/examples"
    booking = {"kind": "service_request", "category": "reservation"}
    lessons = {"text": "zorbing lessons wanted", **booking}
    kayak = {"text": "a kayak for the morning", **booking}
    added = await client.post(route, json={"examples": [lessons, kayak]}, headers=AUTH)
    assert added.status_code == 201, added.text
    found = await classifier.classify("sunset-cove", "zorbing lessons wanted for tomorrow")
    assert (found.kind, found.category) == ("service_request", "reservation")
    relabelled = await client.post(
        route, json={"examples": [{**kayak, "category": "transport"}]}, headers=AUTH
    )
    assert relabelled.status_code == 201, relabelled.text
    third = {"text": "paragliding at noon", **booking}
    over = await client.post(route, json={"examples": [third]}, headers=AUTH)
    assert over.status_code == 409
    nowhere = "/admin/properties/nowhere/examples"
    unknown = await client.post(nowhere, json={"examples": [third]}, headers=AUTH)
    assert unknown.status_code == 404
    assert over.json()["error"]["code"] == "conflict"
    nul = await client.post(
        route, json={"examples": [{**third, "text": "kayak\x00tour"}]}, headers=AUTH
    )
    assert nul.status_code == 422
    assert nul.json()["error"]["code"] == "invalid_request"
    async with services.pool.acquire() as conn:
        kept = await conn.fetch(
            "SELECT text, category FROM classifier_examples WHERE property_id = 'sunset-cove'"
        )
    assert {(r["text"], r["category"]) for r in kept} == {
        ("zorbing lessons wanted", "reservation"),
        ("a kayak for the morning", "transport"),
    }


@pytest.mark.slow
async def test_a_german_request_is_read_by_the_multilingual_model_and_becomes_a_task(
    desk_app: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = desk_app
    assert services.tasks is not None
    space = services.tasks.classifier.multilingual
    assert space is not None
    # The first load embeds the examples with e5 (kept in the model folder for the next start);
    # a guest's message waits for it only a bounded time.
    assert await space.load()
    hangers = await ask(client, "Hätten Sie noch ein paar Kleiderbügel für uns?", room="214")
    assert hangers["kind"] == "service_request"
    assert (hangers["task"]["category"], hangers["task"]["room"]) == ("housekeeping", "214")
    sink = await ask(client, "Das Waschbecken ist verstopft, könnte sich das jemand ansehen?")
    assert (sink["kind"], sink["task"]["category"]) == ("service_request", "maintenance")
    assert sink["task"]["priority"] != "urgent"
