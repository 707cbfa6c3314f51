"""Ingestion jobs stored in PostgreSQL: enqueue, claim, heartbeat, finish, detect the dead.

A job is claimed with ``FOR UPDATE SKIP LOCKED``, so with several server processes (or a
staff command beside them) exactly one worker runs it; a partial unique index allows one
running job per property. A running job's worker refreshes ``heartbeat_at``; a job whose
heartbeat is older than the stale limit was left by a dead process and is marked failed, and
a failed job can be retried (a re-index then resumes the version it was building).

Kept in PostgreSQL rather than a task queue (Celery, arq, RQ): the jobs write to this database
in its transactions, and a broker would be one more service to run for a handful of jobs a day.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from app.db.pool import Connection
from app.errors import Conflict, NotFound

log = logging.getLogger(__name__)

JOB_KINDS = ("reindex", "ingest")


class JobConflict(Conflict):
    """The job cannot be created or retried in its current state."""


class JobNotFound(NotFound):
    """No job with this id."""


@dataclass(frozen=True, slots=True)
class Job:
    """A job row."""

    id: int
    kind: str
    property_id: str
    state: str
    params: dict[str, Any]
    progress: dict[str, Any]
    target_version: int | None
    error: str | None
    attempts: int
    worker: str | None
    requested_by: str | None
    created_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None

    def public(self) -> dict[str, Any]:
        """The job as shown to operators (parameters left out: they may hold whole documents)."""
        return {
            "job_id": self.id,
            "kind": self.kind,
            "property_id": self.property_id,
            "state": self.state,
            "progress": self.progress,
            "target_version": self.target_version,
            "error": self.error,
            "attempts": self.attempts,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "heartbeat_at": _iso(self.heartbeat_at),
            "finished_at": _iso(self.finished_at),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _job(row: asyncpg.Record) -> Job:
    values = dict(row)
    for key in ("params", "progress"):
        if isinstance(values[key], str):
            values[key] = json.loads(values[key])
    return Job(**values)


_COLUMNS = (
    "id, kind, property_id, state, params, progress, target_version, error, attempts, worker, "
    "requested_by, created_at, started_at, heartbeat_at, finished_at"
)


async def enqueue(
    conn: Connection,
    kind: str,
    property_id: str,
    params: dict[str, Any],
    requested_by: str | None = None,
) -> int:
    """Queue a job; returns its id."""
    if kind not in JOB_KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    return int(
        await conn.fetchval(
            "INSERT INTO ingest_jobs (kind, property_id, params, requested_by) "
            "VALUES ($1, $2, $3::jsonb, $4) RETURNING id",
            kind,
            property_id,
            json.dumps(params),
            requested_by,
        )
    )


async def claim(conn: Connection, worker: str, job_id: int | None = None) -> Job | None:
    """Take the oldest queued job (or job ``job_id``) whose property has none running.

    Two workers never get the same job: the row is locked with SKIP LOCKED, and the unique
    index on running jobs per property turns a lost race into "nothing to claim".
    """
    try:
        row = await conn.fetchrow(
            f"""
            UPDATE ingest_jobs SET state = 'running', worker = $1, attempts = attempts + 1,
                   started_at = now(), heartbeat_at = now(), finished_at = NULL, error = NULL
            WHERE id = (
                SELECT j.id FROM ingest_jobs j
                WHERE j.state = 'queued' AND ($2::bigint IS NULL OR j.id = $2)
                  AND NOT EXISTS (SELECT 1 FROM ingest_jobs r
                                  WHERE r.property_id = j.property_id AND r.state = 'running')
                ORDER BY j.id
                FOR UPDATE SKIP LOCKED
                LIMIT 1
            )
            RETURNING {_COLUMNS}
            """,
            worker,
            job_id,
        )
    except asyncpg.UniqueViolationError:
        return None
    return _job(row) if row is not None else None


async def heartbeat(conn: Connection, job_id: int, worker: str, progress: dict[str, Any]) -> bool:
    """Record that the worker is alive and how far it got; False if the job is no longer its."""
    updated = await conn.fetchval(
        "UPDATE ingest_jobs SET heartbeat_at = now(), progress = $3::jsonb "
        "WHERE id = $1 AND worker = $2 AND state = 'running' RETURNING id",
        job_id,
        worker,
        json.dumps(progress),
    )
    return updated is not None


async def set_target_version(conn: Connection, job_id: int, version_id: int) -> None:
    await conn.execute(
        "UPDATE ingest_jobs SET target_version = $2 WHERE id = $1", job_id, version_id
    )


async def finish(
    conn: Connection,
    job_id: int,
    worker: str,
    error: str | None = None,
    progress: dict[str, Any] | None = None,
) -> bool:
    """Mark the worker's job succeeded (or failed with ``error``); False if it is no longer
    this worker's. A succeeded upload drops the documents it carried (a failed one keeps them
    for its retry)."""
    finished = await conn.fetchval(
        """
        UPDATE ingest_jobs
           SET state = CASE WHEN $3::text IS NULL THEN 'succeeded' ELSE 'failed' END,
               error = $3, finished_at = now(), progress = coalesce($4::jsonb, progress),
               params = CASE WHEN $3::text IS NULL AND kind = 'ingest' THEN '{}'::jsonb
                             ELSE params END
        WHERE id = $1 AND worker = $2 AND state = 'running'
        RETURNING id
        """,
        job_id,
        worker,
        error,
        json.dumps(progress) if progress is not None else None,
    )
    return finished is not None


async def reap_stale(conn: Connection, stale_after_s: float, max_attempts: int = 1) -> list[int]:
    """Take back every running job whose worker stopped sending heartbeats; returns their ids.

    A job that has had fewer than ``max_attempts`` attempts is queued again (a re-index then
    resumes the version it was building); the others are marked failed, for an operator to
    retry.
    """
    rows = await conn.fetch(
        """
        WITH stale AS (
            SELECT id, target_version, attempts < $2 AS again,
                   'the worker stopped (no heartbeat since '
                   || to_char(heartbeat_at, 'YYYY-MM-DD HH24:MI:SS TZ') || ')' AS why
            FROM ingest_jobs
            WHERE state = 'running' AND heartbeat_at < now() - make_interval(secs => $1)
            FOR UPDATE SKIP LOCKED
        ), taken AS (
            UPDATE ingest_jobs j
               SET state = CASE WHEN s.again THEN 'queued' ELSE 'failed' END,
                   worker = CASE WHEN s.again THEN NULL ELSE j.worker END,
                   finished_at = CASE WHEN s.again THEN NULL ELSE now() END,
                   error = s.why || CASE WHEN s.again THEN '; queued again'
                                         ELSE '; retry the job' END
            FROM stale s WHERE j.id = s.id
            RETURNING j.id, s.target_version, s.again, s.why
        ), versions AS (
            UPDATE index_versions SET state = 'failed'
            WHERE id IN (SELECT target_version FROM taken WHERE NOT again) AND state = 'building'
        )
        SELECT id, again, why FROM taken
        """,
        stale_after_s,
        max_attempts,
    )
    for row in rows:
        log.warning(
            "job %s: %s; %s", row["id"], row["why"], "queued again" if row["again"] else "failed"
        )
    return [int(r["id"]) for r in rows]


async def release(conn: Connection, job_id: int, worker: str) -> bool:
    """Put a job this worker is running back in the queue (its process is stopping).

    The interrupted attempt is not counted; a re-index resumes the version it was building.
    """
    released = await conn.fetchval(
        """
        UPDATE ingest_jobs SET state = 'queued', worker = NULL, attempts = attempts - 1,
               error = 'released by a stopping worker; queued again'
        WHERE id = $1 AND worker = $2 AND state = 'running' RETURNING id
        """,
        job_id,
        worker,
    )
    return released is not None


async def retry(conn: Connection, job_id: int) -> Job:
    """Queue a failed job again; a re-index resumes the version it was building."""
    row = await conn.fetchrow(
        f"UPDATE ingest_jobs SET state = 'queued', error = NULL, finished_at = NULL "
        f"WHERE id = $1 AND state = 'failed' RETURNING {_COLUMNS}",
        job_id,
    )
    if row is None:
        job = await get(conn, job_id)
        raise JobConflict(f"job {job_id} is {job.state}; only a failed job can be retried")
    return _job(row)


async def get(conn: Connection, job_id: int) -> Job:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM ingest_jobs WHERE id = $1", job_id)
    if row is None:
        raise JobNotFound(f"no job {job_id}")
    return _job(row)


async def search(
    conn: Connection,
    *,
    property_id: str | None = None,
    state: str | None = None,
    kind: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[Job]:
    """Jobs matching every filter given, newest first; ``before`` pages on by job id."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM ingest_jobs "
        "WHERE ($1::text IS NULL OR property_id = $1) AND ($2::text IS NULL OR state = $2) "
        "AND ($3::text IS NULL OR kind = $3) AND ($4::bigint IS NULL OR id < $4) "
        "ORDER BY id DESC LIMIT $5",
        property_id,
        state,
        kind,
        before,
        limit,
    )
    return [_job(r) for r in rows]
