"""Shared fixtures: one embedded PostgreSQL per test session, a fresh database migrated from
empty, the real packaged model loaded once, and the sample hotels ingested once."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from app.config import PROJECT_ROOT, Settings
from app.db.migrate import drop_database, ensure_database, upgrade_to_head
from app.db.server import database_url
from app.embedding.encoder import Encoder, default_model_path, load_encoder
from ingestion.chunking import TokenCounter, tokenizer_counter

TEST_DATA_DIR = Path(os.environ.get("RAG_TEST_DATA_DIR", PROJECT_ROOT / ".data" / "test"))


def _has_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _has_cuda():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings pointing at a database of its own on the test server (dropped at the end)."""
    TEST_DATA_DIR.mkdir(parents=True, exist_ok=True)
    return Settings(
        data_dir=TEST_DATA_DIR,
        database_name=f"concierge_test_{uuid.uuid4().hex[:8]}",
        database_url=None,
        registry_refresh_s=60,
        # Rate limits are exercised by their own tests; the shared client must not trip them.
        rate_limit_per_client=0,
        rate_limit_per_property=0,
    )


@pytest_asyncio.fixture(scope="session")
async def db_url(settings: Settings) -> AsyncIterator[str]:
    """URL of a fresh database migrated from empty to head."""
    await ensure_database(settings)
    url = database_url(settings)
    await asyncio.to_thread(upgrade_to_head, url)
    yield url
    await drop_database(settings)


@pytest.fixture(scope="session")
def encoder(settings: Settings) -> Encoder:
    """The real packaged all-MiniLM-L6-v2 model."""
    return load_encoder(settings)


@pytest.fixture(scope="session")
def count_tokens() -> TokenCounter:
    return tokenizer_counter(default_model_path())


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return PROJECT_ROOT / "data" / "sample"
