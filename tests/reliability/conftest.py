"""Fixtures of the reliability scenarios; they run only when selected with ``-m reliability``
(``scripts/test`` runs them as a second step), as they take a minute or more together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from app.config import Settings
from app.db.pool import create_pool
from tests.reliability.harness import Env


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "reliability" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="slow reliability scenario: run with -m reliability")
    for item in items:
        if item.get_closest_marker("reliability") is not None:
            item.add_marker(skip)


@pytest_asyncio.fixture(scope="session")
async def env(
    settings: Settings, db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Env]:
    pool = await create_pool(db_url, settings)
    workdir: Path = tmp_path_factory.mktemp("reliability")
    yield Env(settings, db_url, pool, workdir)
    await pool.close()
