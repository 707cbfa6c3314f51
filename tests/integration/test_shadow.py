"""Shadow mode: a candidate version built beside the live one (never served) answers sampled
live questions in the background; the report compares both."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import numpy as np

from app.answering.extractive import ExtractiveWriter
from app.db import shadow as shadow_store
from app.db.properties import PropertyRegistry
from app.embedding.batcher import MicroBatcher
from app.rag.cache import AnswerCache
from app.rag.service import RagService
from app.rag.shadow import Shadow
from app.rag.types import AskResult, CacheKey, is_storable
from app.search.retriever import Retriever
from ingestion import shadow_report, store
from ingestion.chunking import TokenCounter
from ingestion.reindex import versions
from tests.fakes import HashingEncoder
from tests.integration.test_reindex import runner_for, seeded, start_job


async def test_a_candidate_answers_sampled_questions_beside_the_live_version(
    pool: asyncpg.Pool, db_url: str, count_tokens: TokenCounter, tmp_path: Path
) -> None:
    prop = await seeded(pool, count_tokens, tmp_path, 4)
    encoder = HashingEncoder()
    runner = runner_for(pool, encoder, count_tokens)
    done = await runner.run(await start_job(pool, runner, prop, max_tokens=24, candidate=True))
    assert done.state == "succeeded", done.error
    async with pool.acquire() as conn:
        live = await store.live_version(conn, prop)
        states = {v["id"]: v["state"] for v in await versions(conn, prop)}
        candidate = await shadow_store.candidate(conn, prop)
    # Built, kept beside the live version, not served.
    assert live is not None
    assert candidate is not None
    assert states == {live.id: "live", done.target_version: "candidate"}
    assert candidate.version_id == done.target_version
    assert candidate.chunk_count > 0

    batcher = MicroBatcher(encoder.encode, max_batch=4, max_queue=16)
    batcher.start()
    writer = ExtractiveWriter(-1.0, confident_score=-1.0)
    retriever = Retriever(pool, 20_000, embedder=batcher)
    draws = iter([0.0, 0.9, 0.0])  # shadow the first and third questions only
    shadow = Shadow(
        pool,
        retriever,
        writer,
        {encoder.name: batcher.embed},
        share=0.5,
        max_queue=4,
        keep=10,
        rng=lambda: next(draws),
    )
    registry = PropertyRegistry(pool, db_url)
    await registry.reload()
    cache: AnswerCache[CacheKey, AskResult] = AnswerCache(100, 60, should_store=is_storable)
    rag = RagService(registry, retriever, writer, cache, shadow=shadow)
    shadow.start()
    try:
        questions = [
            "When are towels changed?",
            "Room 2 detail",
            "Wann werden Handtücher gewechselt?",
        ]
        for question in questions:
            result, _ = await rag.ask(prop, question, 3)
            assert result.version_id == live.id  # guests are answered from the live version
        await shadow.drain()
    finally:
        await shadow.close()
        batcher.close()
    assert (shadow.stats.offered, shadow.stats.recorded, shadow.stats.failed) == (2, 2, 0)

    async with pool.acquire() as conn:
        runs = await shadow_store.runs(conn, prop, 10)
    assert [r["question"] for r in runs] == [questions[2], questions[0]]
    assert {r["candidate_version"] for r in runs} == {candidate.version_id}
    assert {r["live_version"] for r in runs} == {live.id}
    assert runs[0]["language"] == "de"
    assert all(r["candidate_sources"] and r["candidate_ms"] > 0 for r in runs)

    summary = shadow_report.summarise(runs)
    assert summary["runs"] == 2
    assert 0.0 <= summary["top_source_agreement"] <= 1.0
    text = await shadow_report.report(pool, prop, 10, as_json=False)
    assert f"{prop}: 2 questions" in text
    assert "same top source" in text


async def test_runs_beyond_the_bound_are_dropped_and_the_oldest_pruned(
    pool: asyncpg.Pool, count_tokens: TokenCounter, tmp_path: Path
) -> None:
    prop = await seeded(pool, count_tokens, tmp_path, 1)
    run = shadow_store.ShadowRun(
        prop, None, 1, "q", "en", ["a.md"], ["b.md"], "x", "y", False, True, 1.0, 2.0
    )
    async with pool.acquire() as conn:
        for _ in range(5):
            await shadow_store.record(conn, run, keep=3)
        kept = await shadow_store.runs(conn, prop, 10)
    assert len(kept) == 3
    summary = shadow_report.summarise(kept)
    assert summary["top_source_agreement"] == 0.0
    assert summary["handover_agreement"] == 0.0
    assert len(summary["differences"]) == 3

    # A full queue drops the question instead of waiting: the guest never waits for a shadow.
    shadow = Shadow(pool, None, None, {}, share=1.0, max_queue=1)  # type: ignore[arg-type]
    shadow._task = object()  # type: ignore[assignment]  # accepting, but nothing drains
    for _ in range(3):
        shadow.offer(None, "q", "en", 3, None)  # type: ignore[arg-type]
    assert (shadow.stats.offered, shadow.stats.dropped) == (3, 2)
    assert np.isfinite(summary["live_ms_p50"])
