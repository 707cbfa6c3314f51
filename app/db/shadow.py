"""Shadow runs in SQL: a property's candidate index version, stored comparisons, the report.

A candidate is an index version in state ``candidate`` (built by ``scripts/ingest reindex
--candidate``): complete, never served to guests. Each shadow run keeps, for one sampled live
question, the top sources, answers and latencies of the live and the candidate version. Only
the newest ``keep`` runs of a property are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.db.pool import Connection


@dataclass(frozen=True, slots=True)
class Candidate:
    """A property's candidate version: its id, the model that built it, its size."""

    version_id: int
    model: str
    chunk_count: int


@dataclass(frozen=True, slots=True)
class ShadowRun:
    """One question answered by both versions."""

    property_id: str
    live_version: int | None
    candidate_version: int
    question: str
    language: str
    live_sources: list[str]
    candidate_sources: list[str]
    live_answer: str
    candidate_answer: str
    live_escalate: bool
    candidate_escalate: bool
    live_ms: float
    candidate_ms: float


async def candidate(conn: Connection, property_id: str) -> Candidate | None:
    """The property's newest candidate version, if any."""
    row = await conn.fetchrow(
        """
        SELECT v.id, v.model, v.chunk_count AS chunks
        FROM index_versions v
        WHERE v.property_id = $1 AND v.state = 'candidate'
        ORDER BY v.id DESC LIMIT 1
        """,
        property_id,
    )
    return None if row is None else Candidate(row["id"], row["model"], int(row["chunks"]))


async def record(conn: Connection, run: ShadowRun, keep: int) -> None:
    """Store ``run`` and drop the property's runs beyond the newest ``keep``."""
    async with conn.transaction():
        await conn.execute(
            """
            INSERT INTO shadow_runs (property_id, live_version, candidate_version, question,
                language, live_sources, candidate_sources, live_answer, candidate_answer,
                live_escalate, candidate_escalate, live_ms, candidate_ms)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            """,
            run.property_id,
            run.live_version,
            run.candidate_version,
            run.question,
            run.language,
            run.live_sources,
            run.candidate_sources,
            run.live_answer,
            run.candidate_answer,
            run.live_escalate,
            run.candidate_escalate,
            run.live_ms,
            run.candidate_ms,
        )
        await conn.execute(
            """
            DELETE FROM shadow_runs WHERE property_id = $1 AND id <= (
                SELECT id FROM shadow_runs WHERE property_id = $1
                ORDER BY id DESC OFFSET $2 LIMIT 1)
            """,
            run.property_id,
            keep,
        )


async def runs(conn: Connection, property_id: str, limit: int) -> list[dict[str, Any]]:
    """The property's newest ``limit`` shadow runs, newest first."""
    rows = await conn.fetch(
        "SELECT * FROM shadow_runs WHERE property_id = $1 ORDER BY id DESC LIMIT $2",
        property_id,
        limit,
    )
    return [dict(r) for r in rows]
