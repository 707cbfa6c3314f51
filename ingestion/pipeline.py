"""Ingest a batch of documents into a property: skip unchanged ones, embed, write atomically."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import asyncpg
import numpy as np

from app.embedding import Encoder
from ingestion import store
from ingestion.chunking import Chunk, TokenCounter, chunk_document
from ingestion.documents import Document, Skipped

EMBED_BATCH = 64


@dataclass(slots=True)
class IngestReport:
    """What one ingestion did, for the command's summary and for tests."""

    property_id: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks: int = 0
    embedded: int = 0
    revision: int | None = None
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(slots=True)
class Ingestor:
    """Ingests documents with one encoder and tokenizer, reused across batches."""

    pool: asyncpg.Pool
    encoder: Encoder
    count_tokens: TokenCounter
    progress: Callable[[str], None] = field(default=lambda message: None)

    @property
    def chunking(self) -> dict[str, object]:
        return {"max_tokens": self.encoder.max_tokens, "strategy": "markdown-sections-v1"}

    async def ingest(
        self,
        property_id: str,
        documents: Sequence[Document],
        name: str | None = None,
        skipped: Sequence[Skipped] = (),
    ) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport(property_id, skipped=list(skipped))
        async with self.pool.acquire() as conn:
            await store.ensure_property(conn, property_id, name)
            existing = await store.document_hashes(conn, property_id)
        unique = {d.doc_key: d for d in documents}  # a later duplicate id wins
        changed = [d for d in unique.values() if existing.get(d.doc_key) != d.content_hash]
        report.unchanged = len(unique) - len(changed)
        prepared: list[tuple[Document, list[Chunk]]] = []
        for document in changed:
            chunks = chunk_document(
                document.title, document.text, self.count_tokens, self.encoder.max_tokens
            )
            if not chunks:
                report.skipped.append(Skipped(document.source, "no text to index"))
                continue
            prepared.append((document, chunks))
        vectors = await asyncio.to_thread(
            self._embed, [c.embed_text for _, chunks in prepared for c in chunks]
        )
        report.embedded = len(vectors)
        if prepared or name is not None:
            async with self.pool.acquire() as conn, conn.transaction():
                version = await store.lock_live_version(
                    conn, property_id, self.encoder.name, self.encoder.dim, self.chunking
                )
                offset = 0
                for document, chunks in prepared:
                    part = vectors[offset : offset + len(chunks)]
                    offset += len(chunks)
                    await store.replace_document(conn, property_id, version, document, chunks, part)
                    report.chunks += len(chunks)
                    if document.doc_key in existing:
                        report.updated += 1
                    else:
                        report.added += 1
                report.revision = await store.announce_change(conn, property_id)
        report.seconds = time.perf_counter() - started
        return report

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        parts = []
        for start in range(0, len(texts), EMBED_BATCH):
            parts.append(self.encoder.encode(texts[start : start + EMBED_BATCH]))
            self.progress(f"embedded {min(start + EMBED_BATCH, len(texts))}/{len(texts)} chunks")
        return np.concatenate(parts)
