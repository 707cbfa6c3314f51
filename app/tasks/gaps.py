"""Knowledge gaps: hand-overs and thumbs-down, recorded masked, kept for a limited time, and
grouped by meaning so staff see which questions the knowledge base leaves unanswered.

Recording never delays a guest: signals go on a bounded queue and one worker embeds the
masked question and writes it (a full queue drops the signal and counts it). Rows older than
the retention are deleted by the same worker, at most once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np

from app.db.pool import Connection, describe_error, stop_if_cancelled
from app.tasks.mask import mask
from app.tasks.stats import TaskStats

log = logging.getLogger(__name__)

Embed = Callable[[str], Awaitable[np.ndarray]]
GAP_KINDS = ("handover", "thumbs_down")


@dataclass(frozen=True, slots=True)
class Signal:
    """One hand-over or rating; text is masked when it is written."""

    property_id: str
    kind: str  # handover, thumbs_up, thumbs_down
    reason: str
    question: str
    answer: str | None = None
    request_id: str | None = None


class SignalRecorder:
    """Writes signals off the request path, through a bounded queue."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        embed: Embed,
        stats: TaskStats,
        retention_days: float,
        max_queue: int = 1000,
    ) -> None:
        self._pool = pool
        self._embed = embed
        self._stats = stats
        self.retention_days = retention_days
        self.queue: asyncio.Queue[Signal] = asyncio.Queue(max_queue)
        self._worker: asyncio.Task[None] | None = None
        self._last_purge = 0.0
        self.written = 0

    def start(self) -> None:
        self._worker = asyncio.create_task(self._run(), name="signal-recorder")

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    def record(self, signal: Signal) -> None:
        try:
            self.queue.put_nowait(signal)
        except asyncio.QueueFull:
            self._stats.signals_dropped += 1

    async def drain(self) -> None:
        """Wait until everything queued so far is written (for tests and shutdown)."""
        await self.queue.join()

    async def _run(self) -> None:
        while True:
            signal = await self.queue.get()
            try:
                await self._write(signal)
                await self._purge_now_and_then()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stop_if_cancelled(exc)
                log.warning("could not record a %s signal: %s", signal.kind, describe_error(exc))
            finally:
                self.queue.task_done()

    async def _write(self, signal: Signal) -> None:
        question = mask(signal.question)[:1000]
        answer = mask(signal.answer)[:2000] if signal.answer else None
        vector = await self._embed(question) if signal.kind in GAP_KINDS else None
        embedding = None if vector is None else [float(x) for x in vector]
        async with self._pool.acquire() as conn:
            if signal.kind == "handover" or signal.request_id is None:
                await conn.execute(
                    "INSERT INTO guest_signals (property_id, kind, reason, question, answer, "
                    "request_id, embedding) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    signal.property_id, signal.kind, signal.reason, question, answer,
                    signal.request_id, embedding,
                )  # fmt: skip
            else:  # a vote: one per answer, the latest click wins
                await conn.execute(
                    """
                    INSERT INTO guest_signals (property_id, kind, reason, question, answer,
                                               request_id, embedding)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    ON CONFLICT (request_id) WHERE kind IN ('thumbs_up', 'thumbs_down')
                    DO UPDATE SET kind = EXCLUDED.kind, reason = EXCLUDED.reason,
                                  embedding = EXCLUDED.embedding, created_at = now()
                    """,
                    signal.property_id, signal.kind, signal.reason, question, answer,
                    signal.request_id, embedding,
                )  # fmt: skip
        self.written += 1

    async def _purge_now_and_then(self) -> None:
        if time.monotonic() - self._last_purge < 60:
            return
        self._last_purge = time.monotonic()
        async with self._pool.acquire() as conn:
            await purge(conn, self.retention_days)


async def purge(conn: Connection, retention_days: float) -> int:
    """Delete signals older than the retention; returns how many."""
    status = await conn.execute(
        "DELETE FROM guest_signals WHERE created_at < now() - make_interval(secs => $1)",
        retention_days * 86400,
    )
    return int(status.split()[-1])


def cluster(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Greedy grouping: each row joins the first group whose leader is within ``threshold``
    cosine similarity, else starts a group. Rows must be L2-normalised."""
    leaders: list[int] = []
    groups: list[list[int]] = []
    for i in range(len(vectors)):
        if leaders:
            scores = vectors[leaders] @ vectors[i]
            best = int(np.argmax(scores))
            if scores[best] >= threshold:
                groups[best].append(i)
                continue
        leaders.append(i)
        groups.append([i])
    return groups


async def report(
    conn: Connection,
    property_ids: Sequence[str] | None,
    days: float,
    kinds: Sequence[str] = GAP_KINDS,
    threshold: float = 0.65,
    limit_rows: int = 5000,
    top: int = 50,
) -> list[dict[str, Any]]:
    """Similar questions of the period grouped, largest group first, per property."""
    rows = await conn.fetch(
        """
        SELECT property_id, kind, reason, question, embedding, created_at FROM guest_signals
        WHERE ($1::text[] IS NULL OR property_id = ANY($1::text[]))
          AND kind = ANY($2::text[]) AND embedding IS NOT NULL
          AND created_at >= now() - make_interval(secs => $3)
        ORDER BY created_at DESC LIMIT $4
        """,
        None if property_ids is None else list(property_ids),
        list(kinds),
        days * 86400,
        limit_rows,
    )
    by_property: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        by_property.setdefault(row["property_id"], []).append(row)
    groups: list[dict[str, Any]] = []
    for property_id, members in by_property.items():
        matrix = np.asarray([m["embedding"] for m in members], dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix = (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)
        for group in cluster(matrix, threshold):
            chosen = [members[i] for i in group]
            kinds_seen: dict[str, int] = {}
            for m in chosen:
                kinds_seen[m["kind"]] = kinds_seen.get(m["kind"], 0) + 1
            groups.append({
                "property_id": property_id,
                "count": len(chosen),
                "question": chosen[-1]["question"],
                "examples": list(dict.fromkeys(m["question"] for m in chosen))[:3],
                "kinds": kinds_seen,
                "last_seen": max(m["created_at"] for m in chosen).isoformat(),
            })  # fmt: skip
    groups.sort(key=lambda g: (-g["count"], g["property_id"], g["question"]))
    return groups[:top]


async def feedback(
    conn: Connection, property_ids: Sequence[str] | None, days: float, limit: int = 100
) -> list[dict[str, Any]]:
    """The latest ratings of answers (masked), newest first."""
    rows = await conn.fetch(
        """
        SELECT property_id, kind, question, answer, request_id, created_at FROM guest_signals
        WHERE ($1::text[] IS NULL OR property_id = ANY($1::text[]))
          AND kind IN ('thumbs_up', 'thumbs_down')
          AND created_at >= now() - make_interval(secs => $2)
        ORDER BY created_at DESC LIMIT $3
        """,
        None if property_ids is None else list(property_ids),
        days * 86400,
        limit,
    )
    return [{**dict(r), "created_at": r["created_at"].isoformat()} for r in rows]
