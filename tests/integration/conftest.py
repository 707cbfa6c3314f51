"""Integration fixtures: the sample hotels ingested with the real model, and an app client."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from app.config import Settings
from app.db.pool import create_pool
from app.db.properties import PropertyRegistry
from app.embedding.encoder import Encoder
from app.main import create_app
from ingestion.chunking import TokenCounter
from ingestion.documents import load_paths
from ingestion.facts_cli import set_clock
from ingestion.pipeline import Ingestor
from tests.serving import app_client

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="session")
async def pool(db_url: str, settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(db_url, settings)
    yield pool
    # A connection a test left acquired would make a graceful close wait forever: it is
    # reported, and the pool closed at once, as the service does at shutdown.
    try:
        await asyncio.wait_for(pool.close(), timeout=30)
    except TimeoutError:
        warnings.warn("the test pool did not close within 30 s", stacklevel=2)
        pool.terminate()


@pytest_asyncio.fixture
async def registry(pool: asyncpg.Pool, db_url: str, sample_loaded: list[str]) -> PropertyRegistry:
    """A registry loaded with the sample hotels (not listening: tests reload it themselves)."""
    registry = PropertyRegistry(pool, db_url)
    await registry.reload()
    return registry


@pytest_asyncio.fixture(scope="session")
async def ingestor(pool: asyncpg.Pool, encoder: Encoder, count_tokens: TokenCounter) -> Ingestor:
    return Ingestor(pool, encoder, count_tokens)


@pytest_asyncio.fixture(scope="session")
async def sample_loaded(ingestor: Ingestor, sample_dir: Path) -> list[str]:
    """Ingest the sample hotels once; returns their property ids."""
    entries = json.loads((sample_dir / "properties.json").read_text())
    for entry in entries:
        documents, skipped = load_paths([sample_dir / entry["folder"]])
        assert not skipped
        await ingestor.ingest(entry["id"], documents, name=entry["name"])
        async with ingestor.pool.acquire() as conn:
            await set_clock(conn, entry["id"], entry["timezone"], entry.get("locale"))
    return [e["id"] for e in entries]


@pytest_asyncio.fixture(scope="session")
async def app(
    settings: Settings, encoder: Encoder, db_url: str, sample_loaded: list[str]
) -> FastAPI:
    return create_app(settings, encoder=encoder)


@pytest_asyncio.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound to the app, with its lifespan (pool, batcher, registry) running."""
    async with app_client(app) as c:
        yield c
