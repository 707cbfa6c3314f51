"""The statements the admin API and the staff command share: live version, listing and
deleting documents (one use case, one lock), deleting a property."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from app.errors import PropertyNotFound
from app.rag.session_store import PostgresSessionStore
from app.rag.sessions import Turn
from ingestion import jobs, store
from ingestion.chunking import TokenCounter
from ingestion.documents import Document
from ingestion.pipeline import Ingestor
from tests.fakes import HashingEncoder

pytestmark = pytest.mark.integration


def doc(key: str, text: str) -> Document:
    return Document(doc_key=key, title=key.removesuffix(".md").title(), text=text, source=key)


async def loaded(pool: asyncpg.Pool, count_tokens: TokenCounter) -> str:
    property_id = f"test-{uuid.uuid4().hex[:10]}"
    documents = [doc("spa.md", "The spa opens at 09:00."), doc("bar.md", "The bar opens at 17:00.")]
    await Ingestor(pool, HashingEncoder(), count_tokens).ingest(property_id, documents, name="S")
    return property_id


async def test_documents_are_listed_and_deleted_from_the_live_version(
    pool: asyncpg.Pool, count_tokens: TokenCounter
) -> None:
    property_id = await loaded(pool, count_tokens)
    async with pool.acquire() as conn:
        listed = await store.live_documents(conn, property_id)
        assert [(d.doc_key, d.chunks > 0) for d in listed] == [("bar.md", True), ("spa.md", True)]
        revision = (await store.properties(conn, property_id))[0].revision
        async with conn.transaction():
            dry = await store.delete_live_documents(
                conn, property_id, ["spa.md", "gone.md"], dry_run=True
            )
        assert (dry.found, dry.missing, dry.deleted) == (["spa.md"], ["gone.md"], 0)
        assert len(await store.live_documents(conn, property_id)) == 2
        async with conn.transaction():
            done = await store.delete_live_documents(conn, property_id, ["spa.md", "gone.md"])
        assert (done.deleted, done.revision) == (1, revision + 1)
        assert [d.doc_key for d in await store.live_documents(conn, property_id)] == ["bar.md"]


async def test_a_delete_waits_for_the_property_lock_of_another_writer(
    pool: asyncpg.Pool, count_tokens: TokenCounter
) -> None:
    property_id = await loaded(pool, count_tokens)
    async with pool.acquire() as writer, writer.transaction():
        await store.live_version_id(writer, property_id, lock=True)

        async def delete() -> store.Deletion:
            async with pool.acquire() as conn, conn.transaction():
                return await store.delete_live_documents(conn, property_id, ["spa.md"])

        deleting = asyncio.ensure_future(delete())
        # The delete's backend waits on the row lock the writer holds.
        for _ in range(1000):
            if await writer.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                writer.get_server_pid(),
            ):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the delete never waited for the lock")
        assert not deleting.done()
    assert (await deleting).deleted == 1


async def test_guests_and_queued_jobs_do_not_wait_for_an_ingestion_s_property_lock(
    pool: asyncpg.Pool, count_tokens: TokenCounter
) -> None:
    property_id = await loaded(pool, count_tokens)
    encoder = HashingEncoder()
    sessions = PostgresSessionStore(pool, max_sessions=100, max_turns=4, ttl_s=600)
    async with pool.acquire() as writer, writer.transaction():
        # What an ingestion's write transaction holds until it commits.
        await store.lock_live_version(writer, property_id, encoder.name, encoder.dim, {})
        # Rows referencing the property are written meanwhile (each check of the foreign key
        # takes the property's row in KEY SHARE mode). Had they waited, each would have hit
        # the pool's 3 s statement timeout: the turn silently unrecorded, the job an error.
        await sessions.record(property_id, "guest-1", Turn("Is the pool heated?"))
        assert await sessions.history(property_id, "guest-1") == [Turn("Is the pool heated?")]
        async with pool.acquire() as conn:
            job_id = await jobs.enqueue(conn, "ingest", property_id, {"documents": []})
            assert (await jobs.get(conn, job_id)).state == "queued"
            # Another writer of the property still waits for this one.
            with pytest.raises(asyncpg.LockNotAvailableError):
                await _write_lock_within(conn, property_id, "100ms")
            await conn.execute("DELETE FROM ingest_jobs WHERE id = $1", job_id)


async def _write_lock_within(conn: asyncpg.Connection, property_id: str, wait: str) -> None:
    """Take the property's write lock in a transaction, failing after ``wait`` of waiting."""
    async with conn.transaction():
        await conn.execute(f"SET LOCAL lock_timeout = '{wait}'")
        await store.live_version_id(conn, property_id, lock=True)


async def test_unknown_properties_and_deleting_a_property(
    pool: asyncpg.Pool, count_tokens: TokenCounter
) -> None:
    property_id = await loaded(pool, count_tokens)
    async with pool.acquire() as conn:
        with pytest.raises(PropertyNotFound):
            await store.live_version_id(conn, "no-such-property")
        assert await store.properties(conn, "no-such-property") == []
        assert await store.live_version_id(conn, property_id) is not None
        async with conn.transaction():
            assert await store.delete_property(conn, property_id, dry_run=True)
        assert await store.properties(conn, property_id) != []
        async with conn.transaction():
            assert await store.delete_property(conn, property_id)
            assert not await store.delete_property(conn, property_id)
        assert await store.properties(conn, property_id) == []
        assert await store.has_properties(conn)
