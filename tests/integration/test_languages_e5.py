"""Guests in their own language, with the multilingual model end to end.

One sample hotel is ingested with multilingual-e5-small into a database of its own; the
translated public questions must find their documents in every language, and the widget in
headless Chromium gets answers with sources to a German and a Japanese question.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from app import languages
from app.config import PROJECT_ROOT, Settings
from app.db.migrate import drop_database, ensure_database, upgrade_to_head
from app.db.pool import create_pool
from app.db.properties import PropertyRegistry
from app.db.server import database_url
from app.embedding.encoder import Encoder, load_encoder
from app.main import create_app
from app.search.retriever import embedding_text, search_options
from evaluation.data import load_questions
from evaluation.harness import Variant, embed_all, run_variant
from ingestion.chunking import TokenCounter
from ingestion.documents import load_paths
from ingestion.pipeline import Ingestor
from tests.serving import browser_check, served_in_thread

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOTEL = "harbour-grand"
TRANSLATED = PROJECT_ROOT / "data" / "eval" / "multilingual" / "questions.jsonl"


@dataclass(frozen=True)
class E5Hotel:
    settings: Settings
    url: str
    pool: asyncpg.Pool
    encoder: Encoder


@pytest_asyncio.fixture(scope="module")
async def e5_hotel(
    settings: Settings, sample_dir: Path, count_tokens: TokenCounter
) -> AsyncIterator[E5Hotel]:
    """The Harbour Grand ingested with e5 into a database of its own."""
    scoped = settings.model_copy(
        update={
            "embedding_model": "e5",
            "embedding_threads": 1,
            "database_name": f"concierge_test_e5_{uuid.uuid4().hex[:8]}",
        }
    )
    await ensure_database(scoped)
    url = database_url(scoped)
    await asyncio.to_thread(upgrade_to_head, url)
    encoder = await asyncio.to_thread(load_encoder, scoped)
    pool = await create_pool(url, scoped)
    try:
        documents, skipped = load_paths([sample_dir / HOTEL])
        assert not skipped
        await Ingestor(pool, encoder, count_tokens).ingest(HOTEL, documents, name="Harbour Grand")
        yield E5Hotel(scoped, url, pool, encoder)
    finally:
        await pool.close()
        await drop_database(scoped)


async def test_translated_questions_find_their_documents_in_every_language(
    e5_hotel: E5Hotel,
) -> None:
    questions = [q for q in load_questions(TRANSLATED) if q.property_id == HOTEL]
    assert {q.language for q in questions} == {"de", "fr", "es", "it", "zh", "ja"}
    options = search_options(e5_hotel.settings)
    assert (options.glossary, options.other_language_text_weight) == (False, 0.0)
    vectors = embed_all(
        e5_hotel.encoder,
        [embedding_text(options, q.text, languages.detect(q.text)) for q in questions],
    )
    registry = PropertyRegistry(e5_hotel.pool, e5_hotel.url)
    await registry.reload()
    result = await run_variant(
        Variant("default", options),
        e5_hotel.pool,
        e5_hotel.settings.exact_search_max_chunks,
        registry,
        [(q, HOTEL) for q in questions],
        vectors,
        depth=10,
        top_k=5,
    )
    # Measured: 0.93-1.00 per language on this hotel's 30 questions (one miss is 0.033).
    low = {g: round(m["hit@5"], 3) for g, m in result.by_group.items() if m["hit@5"] < 0.9}
    assert not low, f"hit@5 below 0.9: {low}; misses: {result.misses}"


@pytest.fixture(scope="module")
def served(e5_hotel: E5Hotel) -> Iterator[str]:
    """The app on a real HTTP server, with e5, over the e5 database."""
    with served_in_thread(create_app(e5_hotel.settings, encoder=e5_hotel.encoder)) as base:
        yield base


def test_the_widget_answers_german_and_japanese_with_sources(served: str) -> None:
    seen = browser_check("widget_languages.mjs", served)
    assert seen["pageErrors"] == []
    german, japanese = seen["answers"]

    # Answers, not hand-overs: quoted from the breakfast page, introduced and labelled in the
    # guest's language.
    assert german["text"].startswith("Aus den Informationen des Hotels:"), german
    assert german["sourcesHeading"] == "Quellen"
    assert german["sources"], german
    assert japanese["text"].startswith("ホテルの案内より："), japanese
    assert japanese["sourcesHeading"] == "出典"
    assert japanese["sources"], japanese
    assert any("breakfast" in title.lower() for title in german["sources"] + japanese["sources"])

    # The page's language travels with every question.
    assert [body.get("language") for body in seen["asks"]] == ["en", "en"]
