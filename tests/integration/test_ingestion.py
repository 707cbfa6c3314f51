"""Incremental ingestion against the real database: idempotence, partial updates, sync, dry run."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest

from ingestion import store
from ingestion.chunking import TokenCounter
from ingestion.documents import load_paths
from ingestion.pipeline import Ingestor
from tests.fakes import HashingEncoder
from tests.files import HTML_PAGE, write_pdf

pytestmark = pytest.mark.integration

MENU = """# Restaurant menu

## Starters

Tomato soup with basil, EUR 9.

## Mains

Grilled sea bass with fennel, EUR 28.

## Desserts

Lemon tart, EUR 8.
"""


@pytest.fixture
def hashing_ingestor(pool: asyncpg.Pool, count_tokens: TokenCounter) -> Ingestor:
    return Ingestor(pool, HashingEncoder(), count_tokens)


def new_property() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def mixed_folder(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "menu.md").write_text(MENU)
    (folder / "spa.html").write_text(HTML_PAGE)
    (folder / "faq.csv").write_text("question,answer\nIs there parking?,Yes.\nPets?,Dogs only.\n")
    write_pdf(folder / "rules.pdf", [["House rules", "Quiet hours from 22:00."]], title="Rules")
    return folder


async def live_keys(pool: asyncpg.Pool, property_id: str) -> set[str]:
    async with pool.acquire() as conn:
        return set(await store.document_hashes(conn, property_id))


async def test_reingesting_the_same_folder_embeds_nothing_and_changes_nothing(
    hashing_ingestor: Ingestor, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    prop = new_property()
    folder = mixed_folder(tmp_path / "kb")
    documents, skipped = load_paths([folder])
    assert skipped == []
    first = await hashing_ingestor.ingest(prop, documents, name="Test Hotel")
    assert (first.added, first.updated, first.unchanged) == (4, 0, 0)
    assert first.embedded == first.chunks > 0
    encoder = hashing_ingestor.encoder
    assert isinstance(encoder, HashingEncoder)
    calls_before = list(encoder.calls)
    async with pool.acquire() as conn:
        revision = await conn.fetchval("SELECT revision FROM properties WHERE id = $1", prop)

    again = await hashing_ingestor.ingest(prop, load_paths([folder])[0])
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, 4, 0)
    assert encoder.calls == calls_before  # the model was not called at all
    async with pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT revision FROM properties WHERE id = $1", prop) == revision
        )


async def test_a_changed_document_re_embeds_only_its_changed_chunks(
    hashing_ingestor: Ingestor, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    prop = new_property()
    folder = mixed_folder(tmp_path / "kb")
    await hashing_ingestor.ingest(prop, load_paths([folder])[0])
    (folder / "menu.md").write_text(MENU.replace("EUR 28", "EUR 31"))
    report = await hashing_ingestor.ingest(prop, load_paths([folder])[0])
    assert (report.added, report.updated, report.unchanged) == (0, 1, 3)
    assert report.chunks == 3  # the document's chunks are all rewritten...
    assert (report.embedded, report.reused) == (1, 2)  # ...but only the changed one embedded
    async with pool.acquire() as conn:
        texts = await conn.fetch(
            "SELECT c.text FROM chunks c JOIN documents d ON d.id = c.document_id "
            "JOIN properties p ON p.live_version = d.version_id "
            "WHERE p.id = $1 AND d.doc_key = 'menu.md' ORDER BY c.ord",
            prop,
        )
    assert [r["text"] for r in texts][1] == "Grilled sea bass with fennel, EUR 31."


async def test_sync_removes_vanished_documents_but_keeps_unreadable_ones(
    hashing_ingestor: Ingestor, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    prop = new_property()
    folder = mixed_folder(tmp_path / "kb")
    await hashing_ingestor.ingest(prop, load_paths([folder])[0])
    (folder / "faq.csv").unlink()
    (folder / "rules.pdf").write_bytes(b"%PDF-1.4 truncated by a bad upload")
    documents, skipped = load_paths([folder])
    assert [s.key for s in skipped] == ["rules.pdf"]

    plain = await hashing_ingestor.ingest(prop, documents, skipped=skipped)
    assert plain.removed == 0
    assert await live_keys(pool, prop) == {"menu.md", "spa.html", "faq.csv", "rules.pdf"}

    dry = await hashing_ingestor.ingest(prop, documents, skipped=skipped, sync=True, dry_run=True)
    assert (dry.dry_run, dry.removed) == (True, 1)
    # Staff see which document a sync would delete before it does.
    assert dry.removed_keys == ["faq.csv"]
    assert await live_keys(pool, prop) == {"menu.md", "spa.html", "faq.csv", "rules.pdf"}

    synced = await hashing_ingestor.ingest(prop, documents, skipped=skipped, sync=True)
    assert (synced.removed, synced.removed_keys) == (1, ["faq.csv"])
    # The unreadable PDF keeps its last good version: nothing indexed is lost to a bad file.
    assert await live_keys(pool, prop) == {"menu.md", "spa.html", "rules.pdf"}


async def test_dry_run_reports_the_plan_and_writes_nothing(
    hashing_ingestor: Ingestor, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    prop = new_property()
    folder = mixed_folder(tmp_path / "kb")
    report = await hashing_ingestor.ingest(prop, load_paths([folder])[0], dry_run=True)
    assert (report.added, report.dry_run) == (4, True)
    assert sorted(report.added_keys) == ["faq.csv", "menu.md", "rules.pdf", "spa.html"]
    assert report.embedded == report.chunks > 0
    encoder = hashing_ingestor.encoder
    assert isinstance(encoder, HashingEncoder)
    assert encoder.calls == []
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM properties WHERE id = $1", prop) == 0


async def test_documents_keep_their_body_and_every_chunk_fits_the_window(
    hashing_ingestor: Ingestor, pool: asyncpg.Pool, count_tokens: TokenCounter, tmp_path: Path
) -> None:
    prop = new_property()
    long_text = "# Long\n\n## Rules\n\n" + " ".join(
        f"Rule {i}: guests keep the corridor {i} quiet after ten." for i in range(200)
    )
    (tmp_path / "long.md").write_text(long_text)
    await hashing_ingestor.ingest(prop, load_paths([tmp_path])[0])
    async with pool.acquire() as conn:
        body = await conn.fetchval("SELECT body FROM documents WHERE property_id = $1", prop)
        rows = await conn.fetch(
            "SELECT d.title, c.heading, c.text FROM chunks c JOIN documents d "
            "ON d.id = c.document_id WHERE c.property_id = $1",
            prop,
        )
    assert body == long_text
    assert len(rows) > 5
    for r in rows:
        assert count_tokens(f"{r['title']} - {r['heading']}\n{r['text']}") <= 256
