"""Scenarios of the hand-over to staff: a webhook target that is down, a flood of requests
from one session, and a staff token that must not see another property's tasks."""

from __future__ import annotations

import asyncio
import time
import uuid

from app.main import create_app
from app.services import Services
from app.tasks import staff
from tests.reliability.harness import Env, Outcome, app_settings, free_port, ingest, tag
from tests.reliability.server import SlowHashingEncoder
from tests.serving import app_client

DOCS = {"faq.md": "# FAQ\n\nTowels are changed daily. Reception is open 24 hours."}


async def _property(env: Env, prefix: str) -> str:
    property_id = f"{prefix}-{tag()}"
    await ingest(env, property_id, DOCS, name=property_id)
    return property_id


async def webhook_down(env: Env, requests: int = 20, attempts: int = 3) -> Outcome:
    """Every task is kept and every guest answered at once while the webhook target refuses
    connections; each delivery is tried a bounded number of times, then given up."""
    outcome = Outcome("webhook-down", f"webhook target refusing connections, {requests} requests")
    property_id = await _property(env, "hook")
    settings = app_settings(
        env,
        task_webhook_url=f"http://127.0.0.1:{free_port()}/hook",
        task_webhook_max_attempts=attempts,
        task_webhook_backoff_s=0.05,
        task_webhook_timeout_s=1.0,
    )
    app = create_app(settings, encoder=SlowHashingEncoder(0, 0))
    async with app_client(app) as client:
        services: Services = app.state.services
        assert services.tasks is not None
        assert services.tasks.webhooks is not None
        hooks = services.tasks.webhooks
        started = time.perf_counter()
        responses = await asyncio.gather(*(
            client.post("/ask", json={
                "property_id": property_id, "session_id": f"s{i}",
                "question": f"Please bring extra towels to room {100 + i}",
            }) for i in range(requests)
        ))  # fmt: skip
        slowest = time.perf_counter() - started
        stats = services.tasks.stats
        await asyncio.wait_for(hooks.drain(), 20)
        outcome.requests = len(responses)
        outcome.errors.update(str(r.status_code) for r in responses if r.status_code != 200)
        outcome.check("guests answered in", f"{slowest:.2f}s", slowest < 5)
        outcome.check(
            "deliveries given up", stats.webhooks["failed"], stats.webhooks["failed"] == requests
        )
        outcome.check("attempts", hooks.attempts, hooks.attempts == requests * attempts)
        outcome.check("queue left", hooks.queue.qsize(), hooks.queue.qsize() == 0)
    async with env.pool.acquire() as conn:
        kept = await conn.fetchval("SELECT count(*) FROM tasks WHERE property_id = $1", property_id)
    outcome.check("tasks kept", kept, kept == requests)
    return outcome


async def session_flood(env: Env, requests: int = 300) -> Outcome:
    """One session sends the same request hundreds of times at once, in several wordings:
    the rate limit sheds most of it and at most one task exists."""
    outcome = Outcome("session-flood", f"{requests} concurrent requests from one session")
    property_id = await _property(env, "flood")
    session = uuid.uuid4().hex
    wordings = [
        "Can I get extra towels sent to room 412?",
        "please bring more towels",
        "we need towels in 412",
    ]
    settings = app_settings(env, rate_limit_per_client=10.0, rate_limit_client_burst=20)
    app = create_app(settings, encoder=SlowHashingEncoder(0, 0))
    async with app_client(app) as client:
        started = time.perf_counter()
        responses = await asyncio.gather(*(
            client.post("/ask", json={
                "property_id": property_id, "session_id": session,
                "question": wordings[i % len(wordings)],
            }) for i in range(requests)
        ))  # fmt: skip
        took = time.perf_counter() - started
    codes = [r.status_code for r in responses]
    outcome.requests = len(responses)
    outcome.errors.update(str(c) for c in codes if c not in (200, 429))
    refs = {r.json()["task"]["ref"] for r in responses if r.status_code == 200}
    async with env.pool.acquire() as conn:
        tasks = await conn.fetchval(
            "SELECT count(*) FROM tasks WHERE property_id = $1 AND session_id = $2",
            property_id, session,
        )  # fmt: skip
    allowed = 20 + int(10 * took) + 1  # the burst, and what the bucket refilled meanwhile
    outcome.check("answered", codes.count(200), 0 < codes.count(200) <= allowed)
    outcome.check("shed with 429", codes.count(429), codes.count(429) >= requests - allowed)
    outcome.check("tasks", tasks, tasks == 1)
    outcome.check("references given", len(refs), len(refs) == 1)
    outcome.check("took", f"{took:.2f}s", took < 10)
    return outcome


async def staff_scope(env: Env) -> Outcome:
    """A staff token of property A sees, changes and follows only A's tasks."""
    outcome = Outcome("staff-scope", "staff token of property A asks for property B")
    prop_a, prop_b = await _property(env, "scope-a"), await _property(env, "scope-b")
    async with env.pool.acquire() as conn:
        token = await staff.create_token(conn, f"a-{tag()}", "staff", [prop_a])
    auth = {"authorization": f"Bearer {token}"}
    app = create_app(app_settings(env), encoder=SlowHashingEncoder(0, 0))
    async with app_client(app) as client:
        made = {}
        for prop in (prop_a, prop_b):
            body = {"property_id": prop, "question": "please call a cab for me"}
            made[prop] = (await client.post("/ask", json=body)).json()["task"]["id"]
        mine = (await client.get("/admin/tasks", headers=auth)).json()["tasks"]
        asked_b = await client.get("/admin/tasks", params={"property_id": prop_b}, headers=auth)
        patch_b = await client.patch(
            f"/admin/tasks/{made[prop_b]}", json={"status": "done"}, headers=auth
        )
        stream_b = await client.get(
            "/admin/tasks/stream", params={"property_id": prop_b}, headers=auth
        )
        gaps_b = await client.get("/admin/gaps", params={"property_id": prop_b}, headers=auth)
        patch_a = await client.patch(
            f"/admin/tasks/{made[prop_a]}", json={"status": "acknowledged"}, headers=auth
        )
    outcome.requests = 7
    seen = {t["property_id"] for t in mine}
    outcome.check("properties listed", sorted(seen), seen == {prop_a})
    outcome.check("list B", asked_b.status_code, asked_b.status_code == 403)
    outcome.check("change B's task", patch_b.status_code, patch_b.status_code == 404)
    outcome.check("follow B", stream_b.status_code, stream_b.status_code == 403)
    outcome.check("B's gaps", gaps_b.status_code, gaps_b.status_code == 403)
    outcome.check("change A's task", patch_a.status_code, patch_a.status_code == 200)
    async with env.pool.acquire() as conn:
        status_b = await conn.fetchval("SELECT status FROM tasks WHERE id = $1", made[prop_b])
    outcome.check("B's task untouched", status_b, status_b == "open")
    return outcome
