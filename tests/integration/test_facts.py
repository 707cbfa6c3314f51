"""Opening hours as data: extracted at ingestion, corrected by staff, answered at local time."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from app.config import Settings
from app.db.properties import PropertyRegistry
from app.embedding.encoder import Encoder
from app.facts import stage as facts_stage
from app.facts import store as facts_store
from app.facts.clock import FixedClock
from app.facts.stage import FactsStage
from app.main import create_app
from app.services import Services
from ingestion.documents import Document
from ingestion.pipeline import Ingestor
from tests.integration.test_admin import AUTH, admin_settings
from tests.serving import app_client

pytestmark = pytest.mark.integration
ADMIN = AUTH


@pytest_asyncio.fixture(scope="module")
async def admin(
    settings: Settings, encoder: Encoder, sample_loaded: list[str]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(admin_settings(settings), encoder=encoder)
    async with app_client(app) as client:
        yield client


def pin(app: FastAPI, instant: datetime) -> None:
    services: Services = app.state.services
    assert services.rag.facts is not None
    services.rag.facts.clock = FixedClock(instant)


async def ask(client: httpx.AsyncClient, question: str, prop: str = "harbour-grand") -> dict:
    response = await client.post("/ask", json={"property_id": prop, "question": question})
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


def cited_text(body: dict) -> str:
    cited = [s for s in body["sources"] if f"[{s['n']}]" in body["answer"]]
    assert cited, body
    return " ".join(s["text"] for s in cited)


async def test_sample_hours_are_extracted_per_facility(
    pool: asyncpg.Pool, sample_loaded: list[str]
) -> None:
    async with pool.acquire() as conn:
        rows = {r.facility: r for r in await facts_store.list_hours(conn, "harbour-grand")}
        zone = await conn.fetchval("SELECT timezone FROM properties WHERE id = 'harbour-grand'")
    assert zone == "Europe/Rome"
    assert rows["pool"].hours == "Mo-Su 06:30-22:00"
    assert rows["Compass Bar"].hours == "Mo-Su 11:00-01:00"
    assert rows["dinner"].hours == "Mo off; Tu-Su 18:30-22:30"
    assert rows["skyline terrace"].hours == "May 01-Sep 30: Mo-Su 17:00-23:00"


async def test_pool_open_now_is_answered_at_the_hotels_local_time(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    pin(app, datetime(2026, 7, 1, 18, 15, tzinfo=UTC))  # 20:15 in Rome (summer time)
    body = await ask(client, "Is the pool open now?")
    assert body["answer"].startswith("Yes — the pool is open until 22:00 today; it is 20:15 now. [")
    assert "06:30 to 22:00" in cited_text(body)
    pin(app, datetime(2026, 7, 1, 20, 30, tzinfo=UTC))  # 22:30: the cached answer must not return
    later = await ask(client, "Is the pool open now?")
    assert later["answer"].startswith("No — the pool is closed now (it is 22:30); it opens again")


async def test_summer_time_change_moves_the_local_clock(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # 29 March 2026: Rome moved to UTC+2 at 01:00 UTC; 05:15 UTC is 07:15, not 06:15.
    pin(app, datetime(2026, 3, 29, 5, 15, tzinfo=UTC))
    body = await ask(client, "can I still swim in the pool?")
    assert "it is 07:15 now" in body["answer"]
    assert body["answer"].startswith("Yes")
    pin(app, datetime(2026, 10, 25, 5, 15, tzinfo=UTC))  # back to UTC+1: 06:15, closed
    body = await ask(client, "can I still swim in the pool?")
    assert body["answer"].startswith("No — the pool is closed now; it opens at 06:30 today")


async def test_past_midnight_hours_belong_to_the_evening_before(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    pin(app, datetime(2026, 7, 1, 22, 30, tzinfo=UTC))  # 00:30 on 2 July in Rome
    body = await ask(client, "Is the Compass Bar still open?")
    assert body["answer"].startswith("Yes — the Compass Bar is open until 01:00 tonight")
    assert "11:00 to 01:00" in cited_text(body)


async def test_tomorrow_and_closed_days(app: FastAPI, client: httpx.AsyncClient) -> None:
    pin(app, datetime(2026, 11, 29, 12, 0, tzinfo=UTC))  # a Sunday; Le Quai dines Tue-Sun
    body = await ask(client, "Is dinner served tomorrow?")
    assert body["answer"].startswith("Dinner is not served tomorrow (Monday).")


async def test_a_question_without_a_moment_goes_to_the_writer(client: httpx.AsyncClient) -> None:
    body = await ask(client, "When does the pool open?")
    assert body["answer_source"] != "hours"


async def test_a_correction_survives_reingestion_until_the_sentence_changes(
    pool: asyncpg.Pool, ingestor: Ingestor, admin: httpx.AsyncClient
) -> None:
    def doc(extra: str, hours: str) -> Document:
        text = f"# Spa\n\n{extra}\n\n- Pool opening hours: {hours}.\n"
        return Document("spa.md", "Spa", text, "spa.md")

    await ingestor.ingest("facts-test", [doc("Welcome.", "daily from 07:00 to 21:00")])
    response = await admin.get("/admin/properties/facts-test/hours", headers=ADMIN)
    assert response.status_code == 200
    (row,) = response.json()["hours"]
    assert row["hours"] == "Mo-Su 07:00-21:00"
    bad = await admin.put(f"/admin/properties/facts-test/hours/{row['id']}", headers=ADMIN,
                           json={"hours": "every day 8 to 8"})  # fmt: skip
    assert bad.status_code in (400, 422)
    assert bad.json()["error"]["message"].startswith("hours:")
    fixed = await admin.put(f"/admin/properties/facts-test/hours/{row['id']}", headers=ADMIN,
                             json={"hours": "Mo-Su 08:00-20:00"})  # fmt: skip
    assert fixed.status_code == 200
    assert fixed.json()["hours"] == "Mo-Su 08:00-20:00"

    await ingestor.ingest("facts-test", [doc("Welcome to our spa.", "daily from 07:00 to 21:00")])
    async with pool.acquire() as conn:
        (kept,) = await facts_store.list_hours(conn, "facts-test")
    assert kept.corrected == "Mo-Su 08:00-20:00"

    await ingestor.ingest("facts-test", [doc("Welcome to our spa.", "daily from 06:00 to 23:00")])
    async with pool.acquire() as conn:
        (fresh,) = await facts_store.list_hours(conn, "facts-test")
    assert fresh.corrected is None
    assert fresh.hours == "Mo-Su 06:00-23:00"


async def test_time_zone_is_validated(admin: httpx.AsyncClient) -> None:
    bad = await admin.put("/admin/properties/harbour-grand/clock", headers=ADMIN,
                           json={"timezone": "Mars/Olympus"})  # fmt: skip
    assert bad.status_code in (400, 422)
    assert "time zone" in bad.json()["error"]["message"]
    good = await admin.put("/admin/properties/harbour-grand/clock", headers=ADMIN,
                            json={"timezone": "Europe/Rome", "locale": "en"})  # fmt: skip
    assert good.status_code == 200
    assert good.json()["timezone"] == "Europe/Rome"


async def test_sample_menus_are_stored_as_dishes(
    pool: asyncpg.Pool, sample_loaded: list[str]
) -> None:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT name, price_cents, currency, diets, contains FROM dishes "
            "WHERE property_id = 'harbour-grand'"
        )
    dishes = {r["name"]: r for r in rows}
    carpaccio = dishes["Beetroot Carpaccio with walnuts"]
    assert (carpaccio["price_cents"], carpaccio["currency"]) == (1300, "EUR")
    assert "vegan" in carpaccio["diets"]
    assert list(carpaccio["contains"]) == ["nuts"]


async def test_vegan_dishes_at_dinner_are_listed_from_the_menu_with_citations(
    client: httpx.AsyncClient,
) -> None:
    body = await ask(client, "What vegan dishes do you have at dinner?")
    assert body["answer_source"] == "menu", body
    assert "Chickpea and Spinach Stew (Main courses, EUR 19.00)" in body["answer"]
    assert "Burrata" not in body["answer"]
    assert "Chickpea and Spinach Stew (vegan): EUR 19" in cited_text(body)


async def test_an_allergen_question_is_handed_over_with_the_hotels_allergy_note(
    client: httpx.AsyncClient,
) -> None:
    body = await ask(client, "Does the almond panna cotta contain nuts?")
    assert body["escalate"], body
    assert "is safe" not in body["answer"].replace("any dish is safe for you", "")
    assert "allerg" in body["answer"].lower()


class CountingPool:
    """The test database's pool, counting the connections taken from it."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.acquired = 0

    def acquire(self) -> Any:
        self.acquired += 1
        return self.pool.acquire()


async def test_a_question_that_is_no_menu_question_reads_nothing_once_facts_are_cached(
    pool: asyncpg.Pool, db_url: str, sample_loaded: list[str]
) -> None:
    registry = PropertyRegistry(pool, db_url)
    prop = await registry.get("harbour-grand")
    counting = CountingPool(pool)
    stage = FactsStage(cast(asyncpg.Pool, counting))
    assert await stage.answer(prop, "What vegan dishes do you have at dinner?", []) is not None
    counting.acquired = 0
    # It names a dish's word but asks nothing the menu answers: no dish needs a citation.
    assert await stage.answer(prop, "Where can I buy chickpea flour in town?", []) is None
    assert counting.acquired == 0


def _scanned_tables(plan: Any) -> set[str]:
    """The tables a JSON plan reads."""
    found: set[str] = set()
    if isinstance(plan, dict):
        if "Relation Name" in plan:
            found.add(plan["Relation Name"])
        for value in plan.values():
            found |= _scanned_tables(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= _scanned_tables(value)
    return found


async def test_a_menu_answer_cites_chunks_it_reads_from_the_propertys_partition_only(
    pool: asyncpg.Pool, db_url: str, sample_loaded: list[str]
) -> None:
    registry = PropertyRegistry(pool, db_url)
    prop = await registry.get("harbour-grand")
    assert prop.partition is not None
    assert prop.version_id is not None
    result = await FactsStage(pool).answer(prop, "What vegan dishes do you have at dinner?", [])
    assert result is not None
    answer, sources = result
    assert "Chickpea and Spinach Stew" in answer.text
    # Nothing was retrieved: every cited chunk was read from the property's own chunks.
    assert sources
    assert "Chickpea and Spinach Stew" in " ".join(s.hit.text for s in sources)
    async with pool.acquire() as conn:
        owned = {
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM chunks WHERE property_id = $1", "harbour-grand"
            )
        }
        assert {s.hit.chunk_id for s in sources} <= owned
        chunk_plan = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) " + facts_stage.CHUNK_SQL, prop.version_id, "x", prop.id
        )
        policy_plan = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) " + facts_stage.POLICY_SQL, prop.version_id, ["menu"], prop.id
        )
    partition = prop.partition.strip('"')
    for plan in (chunk_plan, policy_plan):
        chunk_tables = {t for t in _scanned_tables(json.loads(plan)) if t != "documents"}
        assert chunk_tables == {partition}, chunk_tables
