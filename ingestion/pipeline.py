"""Ingest documents into a property: skip unchanged ones, re-embed only changed chunks.

Documents are compared by content hash with the live version; a changed document is chunked
again and only chunks whose text is new to the property (for this model) are embedded, the
others reuse their stored vectors. Writes go in groups of documents, one transaction each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field

import asyncpg
import numpy as np

from app.db.pool import Connection
from app.embedding.encoder import Encoder
from app.facts import store as facts_store
from ingestion import store
from ingestion.chunking import Chunk, TokenCounter, chunk_document
from ingestion.documents import Document, Skipped
from ingestion.embedder import BatchEmbedder

CHUNKING_STRATEGY = "markdown-sections-v1"
WRITE_GROUP_CHUNKS = 512


@dataclass(slots=True)
class Progress:
    """Running totals of one ingestion or re-index, for progress bars and job rows."""

    documents_total: int = 0
    documents_done: int = 0
    chunks_total: int = 0
    chunks_done: int = 0
    embedded: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def chunks_per_s(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.chunks_done / elapsed if elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "documents_total": self.documents_total,
            "documents_done": self.documents_done,
            "chunks_total": self.chunks_total,
            "chunks_done": self.chunks_done,
            "embedded": self.embedded,
            "chunks_per_s": round(self.chunks_per_s, 1),
        }


@dataclass(slots=True)
class IngestReport:
    """What one ingestion did (or, with ``dry_run``, would do), for the summary and tests."""

    property_id: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    revision: int | None = None
    dry_run: bool = False
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    # Which documents: staff check these before a sync deletes anything.
    added_keys: list[str] = field(default_factory=list)
    updated_keys: list[str] = field(default_factory=list)
    removed_keys: list[str] = field(default_factory=list)

    def count(self, pending: Sequence[Pending], existing: Container[str]) -> None:
        """Count ``pending`` documents as added or updated."""
        for p in pending:
            key = p.document.doc_key
            (self.updated_keys if key in existing else self.added_keys).append(key)
        self.added, self.updated = len(self.added_keys), len(self.updated_keys)


@dataclass(frozen=True, slots=True)
class Pending:
    """A document to write, with the hash it is stored under and its chunks."""

    document: Document
    content_hash: str
    chunks: list[Chunk]


def chunking_settings(max_tokens: int) -> dict[str, object]:
    """The chunking settings recorded with an index version."""
    return {"max_tokens": max_tokens, "strategy": CHUNKING_STRATEGY}


class Ingestor:
    """Ingests documents with one encoder and tokenizer, reused across batches."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        encoder: Encoder | None = None,
        count_tokens: TokenCounter | None = None,
        progress: Callable[[Progress], None] | None = None,
        *,
        embedder: BatchEmbedder | None = None,
    ) -> None:
        if embedder is None:
            assert encoder is not None
            embedder = BatchEmbedder(encoder)
        assert count_tokens is not None
        self.pool = pool
        self.embedder = embedder
        self.encoder = embedder.encoder
        self.count_tokens = count_tokens
        self.progress = progress or (lambda state: None)

    def chunk(self, documents: Sequence[tuple[Document, str]], max_tokens: int) -> list[Pending]:
        """Chunk documents (paired with their content hash); empty ones are left out."""
        out = []
        for document, content_hash in documents:
            chunks = chunk_document(document.title, document.text, self.count_tokens, max_tokens)
            if chunks:
                out.append(Pending(document, content_hash, chunks))
        return out

    async def vectors_for(
        self, conn: Connection, property_id: str, pending: Sequence[Pending]
    ) -> tuple[list[store.PreparedDocument], int]:
        """Vectors for every chunk: stored ones where the text is known, else embedded.

        Returns the prepared documents and how many chunk vectors were reused.
        """
        hashes = {c.content_hash: c.embed_text for p in pending for c in p.chunks}
        known = await store.reusable_embeddings(
            conn, property_id, self.encoder.name, self.encoder.dim, hashes
        )
        # Longest first: batches of similar length waste little work on padding.
        missing = sorted((h for h in hashes if h not in known), key=lambda h: -len(hashes[h]))
        if missing:
            vectors = await self.embedder.embed([hashes[h] for h in missing])
            known.update(zip(missing, vectors, strict=True))
        prepared = [
            store.PreparedDocument(
                p.document,
                p.content_hash,
                p.chunks,
                np.stack([known[c.content_hash] for c in p.chunks]),
            )
            for p in pending
        ]
        return prepared, len(hashes) - len(missing)

    async def ingest(
        self,
        property_id: str,
        documents: Sequence[Document],
        name: str | None = None,
        skipped: Sequence[Skipped] = (),
        *,
        sync: bool = False,
        dry_run: bool = False,
    ) -> IngestReport:
        """Add and update ``documents``; with ``sync`` also remove those no longer present.

        A document that could not be read (in ``skipped``) is never removed by a sync.
        """
        started = time.perf_counter()
        report = IngestReport(property_id, skipped=list(skipped), dry_run=dry_run)
        embedded_before = self.embedder.embedded
        async with self.pool.acquire() as conn:
            if not dry_run:
                await store.ensure_property(conn, property_id, name)
            live = await store.live_version(conn, property_id)
            existing = await store.stored_documents(conn, live.id) if live is not None else {}
        max_tokens = int(live.chunking.get("max_tokens", 0)) if live else 0
        max_tokens = max_tokens or self.encoder.max_tokens

        unique = {d.doc_key: d for d in documents}  # a later duplicate id wins
        changed = [
            (d, d.content_hash)
            for d in unique.values()
            if (old := existing.get(d.doc_key)) is None or old.content_hash != d.content_hash
        ]
        report.unchanged = len(unique) - len(changed)
        removed: list[str] = []
        if sync:
            kept_keys = {s.key for s in skipped if s.key}
            kept_sources = {s.name for s in skipped}
            removed = sorted(
                key
                for key, old in existing.items()
                if key not in unique and key not in kept_keys and old.source not in kept_sources
            )
        pending = await self.embedder.call(self.chunk, changed, max_tokens)
        chunked = {p.document.doc_key for p in pending}
        for document, _ in changed:
            if document.doc_key not in chunked:
                report.skipped.append(
                    Skipped(document.source, "no text to index", document.doc_key)
                )
        state = Progress(
            documents_total=len(pending), chunks_total=sum(len(p.chunks) for p in pending)
        )
        self.progress(state)

        if dry_run:
            async with self.pool.acquire() as conn:
                known = await store.reusable_embeddings(
                    conn,
                    property_id,
                    self.encoder.name,
                    self.encoder.dim,
                    {c.content_hash for p in pending for c in p.chunks},
                )
            hashes = {c.content_hash for p in pending for c in p.chunks}
            report.embedded = len(hashes - set(known))
            report.reused = len(hashes) - report.embedded
            report.chunks = state.chunks_total
            report.count(pending, existing)
            report.removed_keys = removed
            report.removed = len(removed)
            report.seconds = time.perf_counter() - started
            return report

        chunking = chunking_settings(max_tokens)
        for group in _groups(pending, WRITE_GROUP_CHUNKS):
            async with self.pool.acquire() as conn:
                prepared, reused = await self.vectors_for(conn, property_id, group)
                async with conn.transaction():
                    version = await store.lock_live_version(
                        conn, property_id, self.encoder.name, self.encoder.dim, chunking
                    )
                    report.chunks += await store.write_documents(
                        conn, property_id, version, prepared
                    )
                    for p in prepared:
                        parts = [(c.heading, c.text, c.content_hash) for c in p.chunks]
                        await facts_store.sync_facts(conn, property_id, p.document.doc_key, parts)
                    report.revision = await store.announce_change(conn, property_id)
            report.reused += reused
            report.count(group, existing)
            state.documents_done += len(group)
            state.chunks_done += sum(len(p.chunks) for p in group)
            state.embedded = self.embedder.embedded - embedded_before
            self.progress(state)
        if removed:
            async with self.pool.acquire() as conn, conn.transaction():
                version = await store.lock_live_version(
                    conn, property_id, self.encoder.name, self.encoder.dim, chunking
                )
                report.removed = await store.delete_documents(conn, version, removed)
                await facts_store.delete_documents(conn, property_id, removed)
                report.removed_keys = removed
                report.revision = await store.announce_change(conn, property_id)
        if name is not None and report.revision is None:
            async with self.pool.acquire() as conn:
                report.revision = await store.announce_change(conn, property_id)
        report.embedded = self.embedder.embedded - embedded_before
        report.seconds = time.perf_counter() - started
        return report


def _groups(pending: Sequence[Pending], max_chunks: int) -> list[list[Pending]]:
    """Consecutive groups of documents holding at most ``max_chunks`` chunks (or one document)."""
    groups: list[list[Pending]] = []
    current: list[Pending] = []
    size = 0
    for p in pending:
        if current and size + len(p.chunks) > max_chunks:
            groups.append(current)
            current, size = [], 0
        current.append(p)
        size += len(p.chunks)
    if current:
        groups.append(current)
    return groups
