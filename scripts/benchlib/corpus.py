"""Builds the synthetic corpus straight into PostgreSQL with COPY, or reuses a matching one.

Chunk vectors are the normalised mean of the real model vectors of the chunk's sentences:
embedding 100k whole chunks would take many minutes on two cores, while this keeps the
clustering of real text (chunks on one topic are near each other, properties overlap) at a
fraction of the cost. Indexes are dropped for the load and rebuilt after it, then ANALYZE.

A chunk holds two to four sentences of its document's topic and one to three from other
topics, as a paragraph of a real page often mentions something else. Chunks made of four to
nine sentences of one topic alone (the first version of this corpus) were the mean of many
independent draws from the same ~200 sentences, so every topic's chunks sat in a tight ball
around the topic's centre: at 110 chunks per property the median distance from a chunk to its
nearest other chunk was 0.037, against 0.34 for the sample hotels' real chunks embedded by
the model, and ANN graphs built on such balls missed neighbours that real text does not hide.
This version's distance is 0.14 (still closer than real text).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
from pgvector.asyncpg import register_vector

from app import reading
from app.reading import derived_form
from benchlib.corpus_text import TOPICS, sentence_pool
from ingestion import derive
from ingestion.store import CHUNK_COLUMNS

EncodeFn = Callable[[Sequence[str]], np.ndarray]
Log = Callable[[str], None]


@dataclass(frozen=True)
class CorpusSpec:
    """What to build: property count, total chunks, sentences per topic, random seed."""

    properties: int
    chunks: int
    sentences_per_topic: int = 200
    seed: int = 11
    # The embedding model the vectors come from (RAG_EMBEDDING_MODEL); another one rebuilds.
    model: str = "minilm"

    def fingerprint(self) -> str:
        fields = asdict(self)
        if fields["model"] == "minilm":  # corpora built before the field existed stay valid
            del fields["model"]
        text = json.dumps(fields, sort_keys=True) + "|corpus-v2"
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def property_sizes(count: int, total: int, skew: float = 0.9) -> list[int]:
    """Chunks per property, Zipf-like: a few large properties, a long tail of small ones."""
    weights = np.array([1.0 / (rank**skew) for rank in range(1, count + 1)])
    sizes = np.maximum(20, np.floor(weights / weights.sum() * total)).astype(int)
    sizes[0] += total - int(sizes.sum())
    return [int(s) for s in sizes]


def property_ids(count: int) -> list[str]:
    return [f"bench-{i:03d}" for i in range(count)]


async def ensure_corpus(
    conn: asyncpg.Connection,
    spec: CorpusSpec,
    encoder: Callable[[], Any],
    marker: Path,
    log: Log,
) -> dict[str, int]:
    """Chunks per property of a corpus matching ``spec``, building it when needed."""
    saved = _read_marker(marker)
    if saved is not None and saved.get("fingerprint") == spec.fingerprint():
        count = await conn.fetchval("SELECT count(*) FROM chunks")
        if count == spec.chunks:
            log(f"reusing corpus {spec.fingerprint()} ({count} chunks)")
            await _keep_readings(conn, log)
            return {k: int(v) for k, v in saved["sizes"].items()}
    _write_marker(marker, None)
    loaded = encoder()
    sizes = await _build(conn, spec, loaded.encode, getattr(loaded, "name", spec.model), log)
    _write_marker(marker, {"fingerprint": spec.fingerprint(), "sizes": sizes})
    return sizes


def _read_marker(marker: Path) -> dict[str, Any] | None:
    if not marker.exists():
        return None
    data: dict[str, Any] = json.loads(marker.read_text())
    return data


def _write_marker(marker: Path, data: dict[str, Any] | None) -> None:
    if data is None:
        marker.unlink(missing_ok=True)
    else:
        marker.write_text(json.dumps(data))


async def _keep_readings(conn: asyncpg.Connection, log: Log) -> None:
    """Writes what the answer writer reads from each chunk where it is missing or written by
    other code (a corpus built before, or by another version of the writer), as ingestion
    writes it for new chunks, so that the bench measures what a deployment kept up to date
    does. The indexes other than the keys are dropped and built again around the update (an
    updated row is a new row version for each), and the table is compacted."""
    stale = await conn.fetchval(
        f"SELECT count(*) FROM chunks WHERE {reading.unread_sql('derived', '$1')}",
        reading.KEY,
    )
    if not stale:
        return
    started = time.perf_counter()
    log(f"writing the kept reading of {stale} chunks")
    indexes = await _drop_indexes(conn)
    await derive.fill(conn, batch=2000)
    await conn.execute("VACUUM FULL chunks")
    await _build_indexes(conn, indexes, log)
    log(f"kept readings written in {time.perf_counter() - started:.1f}s")


async def _drop_indexes(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Drops the indexes of ``chunks`` other than its keys; returns their definitions."""
    indexes = await conn.fetch(
        """
        SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = 'chunks'::regclass AND NOT x.indisprimary AND NOT x.indisunique
        """
    )
    for index in indexes:
        await conn.execute(f'DROP INDEX "{index["name"]}"')
    return list(indexes)


async def _build_indexes(conn: asyncpg.Connection, indexes: list[asyncpg.Record], log: Log) -> None:
    await conn.execute("SET maintenance_work_mem = '1GB'")
    for index in indexes:
        began = time.perf_counter()
        # A partitioned table's index reads "ON ONLY chunks", which would build no partition's.
        await conn.execute(index["definition"].replace(" ON ONLY ", " ON ", 1))
        log(f"  {index['name']}: {time.perf_counter() - began:.1f}s")
    await conn.execute("ANALYZE")


async def _build(
    conn: asyncpg.Connection, spec: CorpusSpec, encode: EncodeFn, model: str, log: Log
) -> dict[str, int]:
    await register_vector(conn)
    started = time.perf_counter()
    pool = sentence_pool(spec.sentences_per_topic, seed=spec.seed)
    flat = [s for sentences in pool.values() for s in sentences]
    vectors = np.concatenate([encode(flat[i : i + 64]) for i in range(0, len(flat), 64)])
    by_text = dict(zip(flat, vectors, strict=True))
    log(f"embedded {len(flat)} distinct sentences in {time.perf_counter() - started:.1f}s")

    await conn.execute("TRUNCATE properties, index_versions, documents, chunks CASCADE")
    indexes = await _drop_indexes(conn)

    rng = random.Random(spec.seed)
    ids = property_ids(spec.properties)
    sizes = dict(zip(ids, property_sizes(spec.properties, spec.chunks), strict=True))
    topics = list(TOPICS.items())
    names = list(pool)
    loaded = 0
    for prop_id, size in sizes.items():
        await conn.execute(
            "INSERT INTO properties (id, name) VALUES ($1, $2)", prop_id, f"Hotel {prop_id}"
        )
        version = await conn.fetchval(
            """INSERT INTO index_versions (property_id, state, model, dim, chunking, activated_at)
               VALUES ($1, 'live', $2, 384, '{}'::jsonb, now()) RETURNING id""",
            prop_id,
            model,
        )
        await conn.execute(
            "UPDATE properties SET live_version = $2 WHERE id = $1", prop_id, version
        )
        records = []
        per_topic = [
            size // len(topics) + (1 if t < size % len(topics) else 0) for t in range(len(topics))
        ]
        for (topic, (headings, _, _)), count in zip(topics, per_topic, strict=True):
            if count == 0:
                continue
            doc_key = topic.lower().replace(" ", "-") + ".md"
            document_id = await conn.fetchval(
                """INSERT INTO documents (property_id, version_id, doc_key, title, content_hash)
                   VALUES ($1, $2, $3, $4, $5) RETURNING id""",
                prop_id,
                version,
                doc_key,
                topic,
                f"{prop_id}/{doc_key}",
            )
            sentences = pool[topic]
            for ord_ in range(count):
                picked = rng.sample(sentences, min(len(sentences), rng.randint(2, 4)))
                picked += [rng.choice(pool[rng.choice(names)]) for _ in range(rng.randint(1, 3))]
                vector = np.mean([by_text[s] for s in picked], axis=0)
                vector /= np.linalg.norm(vector)
                heading = f"{topic} > {rng.choice(headings)}"
                text = " ".join(picked)
                digest = hashlib.sha1(f"{document_id}:{ord_}:{text}".encode()).hexdigest()
                derived = derived_form(topic, heading, text)
                records.append(
                    (document_id, prop_id, version, ord_, heading, text, digest, vector, derived)
                )
        await conn.copy_records_to_table(
            "chunks",
            records=records,
            columns=CHUNK_COLUMNS,
        )
        loaded += len(records)
    log(f"loaded {loaded} chunks in {time.perf_counter() - started:.1f}s; building indexes")
    await _build_indexes(conn, indexes, log)
    log(f"corpus ready in {time.perf_counter() - started:.1f}s")
    return sizes
