"""Re-index a property: build a new index version beside the live one, then switch atomically.

Guests keep being answered from the live version while the new one is built. The switch is
one transaction: the new version becomes live, the old one retired, the revision bumped and
the servers notified, so the answer cache (keyed by version and revision) stops serving old
answers. A crash before the switch leaves the live version untouched; the half-built version
stays ``building``/``failed`` and a retry of the job resumes it, skipping documents already
copied. Retired versions are deleted after a grace period that covers in-flight requests.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.db.pool import Connection
from app.errors import Conflict
from app.facts import store as facts_store
from ingestion import jobs, store
from ingestion.documents import Document
from ingestion.pipeline import Ingestor, Pending, Progress, chunking_settings

CATCH_UP_PASSES = 3

# A document's text: its stored body, or (for documents stored before bodies were kept) its
# chunks joined in order under their headings.
_SOURCE_SQL = """
SELECT d.doc_key, d.title, d.source, d.metadata, d.content_hash,
       coalesce(d.body, (
           SELECT string_agg(
                      CASE WHEN c.heading <> '' THEN '## ' || c.heading || E'\n\n' ELSE '' END
                      || c.text, E'\n\n' ORDER BY c.ord)
           FROM chunks c WHERE c.property_id = d.property_id AND c.document_id = d.id)) AS body
FROM documents d WHERE d.version_id = $1 AND d.doc_key = ANY($2::text[])
"""


class ReindexError(Conflict):
    """The re-index cannot run (no live index to rebuild, a concurrent switch, a bad setting)."""

    code = "reindex_failed"


@dataclass(slots=True)
class ReindexResult:
    """What a finished re-index did."""

    property_id: str
    old_version: int
    new_version: int
    documents: int
    embedded: int
    revision: int


async def _target_version(
    conn: Connection, job: jobs.Job, model: str, dim: int, chunking: dict[str, object]
) -> int:
    """The version this job builds: the one it started before (resumed), or a new one."""
    if job.target_version is not None:
        resumed = await conn.fetchval(
            """
            UPDATE index_versions SET state = 'building'
            WHERE id = $1 AND state IN ('building', 'failed') AND model = $2 AND dim = $3
              AND chunking = $4::jsonb
            RETURNING id
            """,
            job.target_version,
            model,
            dim,
            json.dumps(chunking),
        )
        if resumed is not None:
            return int(resumed)
    version = int(
        await conn.fetchval(
            "INSERT INTO index_versions (property_id, state, model, dim, chunking) "
            "VALUES ($1, 'building', $2, $3, $4::jsonb) RETURNING id",
            job.property_id,
            model,
            dim,
            json.dumps(chunking),
        )
    )
    await jobs.set_target_version(conn, job.id, version)
    return version


async def _differences(conn: Connection, source: int, target: int) -> tuple[list[str], list[str]]:
    """Documents to (re)build in ``target`` and documents to drop from it."""
    want = await store.stored_documents(conn, source)
    have = await store.stored_documents(conn, target)
    build = sorted(
        k for k, d in want.items() if (h := have.get(k)) is None or h.content_hash != d.content_hash
    )
    drop = sorted(k for k in have if k not in want)
    return build, drop


async def _load(conn: Connection, version: int, keys: list[str]) -> list[tuple[Document, str]]:
    rows = await conn.fetch(_SOURCE_SQL, version, keys)
    out = []
    for r in rows:
        metadata = r["metadata"]
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        document = Document(r["doc_key"], r["title"], r["body"] or "", r["source"] or "", metadata)
        out.append((document, r["content_hash"]))
    return out


class Reindexer:
    """Builds and switches index versions with one ingestor's model and tokenizer."""

    def __init__(self, ingestor: Ingestor, group_documents: int = 32) -> None:
        self.ingestor = ingestor
        # Documents written per transaction: what a resumed job does not have to redo.
        self.group_documents = group_documents

    async def run(
        self,
        job: jobs.Job,
        progress: Progress,
        on_progress: Callable[[], Awaitable[None]] | None = None,
    ) -> ReindexResult:
        """Build the job's version, switch it live, and return what happened."""
        encoder = self.ingestor.encoder
        params: dict[str, Any] = job.params
        pool = self.ingestor.pool
        embedded_before = self.ingestor.embedder.embedded
        async with pool.acquire() as conn:
            live = await store.live_version(conn, job.property_id)
            if live is None:
                raise ReindexError(f"{job.property_id} has no index yet: ingest documents first")
            # Without a new chunk size, keep the live version's (a repair or a model change).
            max_tokens = int(
                params.get("max_tokens") or live.chunking.get("max_tokens") or encoder.max_tokens
            )
            if not 16 <= max_tokens <= encoder.max_tokens:
                raise ReindexError(f"max_tokens must be between 16 and {encoder.max_tokens}")
            chunking = chunking_settings(max_tokens)
            target = await _target_version(conn, job, encoder.name, encoder.dim, chunking)
        for _ in range(CATCH_UP_PASSES):
            async with pool.acquire() as conn:
                build, drop = await _differences(conn, live.id, target)
                if not build and not drop:
                    break
                total = len(await store.stored_documents(conn, live.id))
                progress.documents_total = total
                progress.documents_done = total - len(build)
                await store.delete_documents(conn, target, drop)
            for start in range(0, len(build), self.group_documents):
                keys = build[start : start + self.group_documents]
                async with pool.acquire() as conn:
                    sources = await _load(conn, live.id, keys)
                pending = await self.ingestor.embedder.call(
                    self.ingestor.chunk, sources, max_tokens
                )
                await self._write(job.property_id, target, pending, progress)
                progress.documents_done += len(keys)
                progress.embedded = self.ingestor.embedder.embedded - embedded_before
                if on_progress is not None:
                    await on_progress()
        if params.get("candidate"):
            revision = await self._keep_as_candidate(job.property_id, target)
        else:
            revision = await self._switch(job.property_id, live.id, target, max_tokens, progress)
        progress.chunks_total = progress.chunks_done
        return ReindexResult(
            job.property_id,
            live.id,
            target,
            progress.documents_total,
            self.ingestor.embedder.embedded - embedded_before,
            revision,
        )

    async def _write(
        self, property_id: str, target: int, pending: list[Pending], progress: Progress
    ) -> None:
        async with self.ingestor.pool.acquire() as conn:
            prepared, _ = await self.ingestor.vectors_for(conn, property_id, pending)
            async with conn.transaction():
                progress.chunks_done += await store.write_documents(
                    conn, property_id, target, prepared
                )

    async def _keep_as_candidate(self, property_id: str, new: int) -> int:
        """Keep ``new`` beside the live version as the property's candidate (for shadow mode);
        an earlier candidate is retired. Guests are not affected: the revision stays."""
        async with self.ingestor.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE index_versions SET state = 'retired', retired_at = now() "
                "WHERE property_id = $1 AND state = 'candidate'",
                property_id,
            )
            await conn.execute("UPDATE index_versions SET state = 'candidate' WHERE id = $1", new)
            revision = await conn.fetchval(
                "SELECT revision FROM properties WHERE id = $1", property_id
            )
        return int(revision)

    async def _switch(
        self, property_id: str, old: int, new: int, max_tokens: int, progress: Progress
    ) -> int:
        """Make ``new`` live in one transaction, after a last catch-up under the property lock."""
        async with self.ingestor.pool.acquire() as conn, conn.transaction():
            current = await store.live_version_id(conn, property_id, lock=True)
            if current != old:
                raise ReindexError(
                    f"{property_id}'s live version changed from {old} to {current} meanwhile"
                )
            build, drop = await _differences(conn, old, new)
            await store.delete_documents(conn, new, drop)
            if build:  # written by an ingestion that committed after the last pass
                sources = await _load(conn, old, build)
                pending = await self.ingestor.embedder.call(
                    self.ingestor.chunk, sources, max_tokens
                )
                prepared, _ = await self.ingestor.vectors_for(conn, property_id, pending)
                progress.chunks_done += await store.write_documents(
                    conn, property_id, new, prepared
                )
            await conn.execute(
                "UPDATE index_versions SET state = 'retired', retired_at = now() WHERE id = $1",
                old,
            )
            await conn.execute(
                "UPDATE index_versions SET state = 'live', activated_at = now() WHERE id = $1",
                new,
            )
            await conn.execute(
                "UPDATE properties SET live_version = $2 WHERE id = $1", property_id, new
            )
            await facts_store.sync_rechunked_facts(conn, property_id, old, new)
            revision = await store.announce_change(conn, property_id)
        return revision


async def purge_versions(conn: Connection, property_id: str, grace_s: float) -> int:
    """Delete versions retired more than ``grace_s`` ago and failed builds no job will resume."""
    deleted = await conn.fetchval(
        """
        WITH gone AS (
            DELETE FROM index_versions v
            WHERE v.property_id = $1 AND (
                (v.state = 'retired' AND v.retired_at < now() - make_interval(secs => $2))
                OR (v.state = 'failed' AND NOT EXISTS (
                    SELECT 1 FROM ingest_jobs j WHERE j.target_version = v.id
                      AND j.state IN ('queued', 'running', 'failed')))
            )
            RETURNING 1
        )
        SELECT count(*) FROM gone
        """,
        property_id,
        grace_s,
    )
    return int(deleted)


async def fail_target(conn: Connection, job_id: int) -> None:
    """Mark the version a failed job was building as failed (kept so a retry can resume it)."""
    await conn.execute(
        """
        UPDATE index_versions SET state = 'failed'
        WHERE id = (SELECT target_version FROM ingest_jobs WHERE id = $1) AND state = 'building'
        """,
        job_id,
    )


async def versions(conn: Connection, property_id: str) -> list[dict[str, Any]]:
    """Every version of a property with its settings and size, newest first."""
    rows = await conn.fetch(
        """
        SELECT v.id, v.state, v.model, v.dim, v.chunking, v.created_at, v.activated_at,
               v.retired_at,
               (SELECT count(*) FROM documents d WHERE d.version_id = v.id) AS documents,
               (SELECT count(*) FROM chunks c
                WHERE c.property_id = v.property_id AND c.version_id = v.id) AS chunks
        FROM index_versions v WHERE v.property_id = $1 ORDER BY v.id DESC
        """,
        property_id,
    )
    out = []
    for r in rows:
        item = dict(r)
        if isinstance(item["chunking"], str):
            item["chunking"] = json.loads(item["chunking"])
        for key in ("created_at", "activated_at", "retired_at"):
            item[key] = item[key].isoformat() if item[key] is not None else None
        out.append(item)
    return out
