"""The property-scoped top-k query alone, as the service runs it, against exact search.

Latency is measured through the service's own :class:`Retriever` (exact search for small
properties, HNSW with iterative scans for large ones). Recall@k is measured on the HNSW
queries only (exact search is its own ground truth) and counts a returned chunk as correct
when it is no farther than the k-th exact neighbour, so ties between equally close chunks are
not counted as misses.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import defaultdict

import asyncpg
import numpy as np

from app.db.properties import PropertyState
from app.search.retriever import Retriever, nearest_sql
from app.search.warm import warm_partitions

LARGE = 5000  # chunks: the partitions reported on their own as well


async def measure(
    pool: asyncpg.Pool,
    retriever: Retriever,
    states: list[PropertyState],
    vectors: np.ndarray,
    k: int,
    seed: int = 5,
    warm_budget_s: float = 0.0,
) -> dict[str, object]:
    """Run one query per vector on a random property; latency, recall and row counts."""
    rng = random.Random(seed)
    latencies: dict[str, list[float]] = defaultdict(list)
    recalls: list[float] = []
    by_property: dict[str, list[float]] = defaultdict(list)
    short = 0
    # As the service starts: its partitions read into the database's buffers (within the
    # service's budget), then one search of each property, as a running service has each
    # partition's statement prepared; the first search after a start pays for that (a few
    # milliseconds), which would otherwise be 5% of the measured searches.
    warm = await warm_partitions(pool, states, warm_budget_s) if warm_budget_s > 0 else None
    for state, vector in zip(states, itertools.cycle(vectors), strict=False):
        await retriever.search(state, vector, k)
    for vector in vectors:
        prop = rng.choice(states)
        began = time.perf_counter()
        hits = await retriever.search(prop, vector, k)
        elapsed = (time.perf_counter() - began) * 1000
        path = "exact" if retriever.uses_exact(prop) else "hnsw"
        latencies[path].append(elapsed)
        latencies["all"].append(elapsed)
        # The large partitions' share of the searches is small enough to hide in "all".
        if prop.chunk_count >= LARGE:
            latencies[f"hnsw_{LARGE}_up"].append(elapsed)
        expected = min(k, prop.chunk_count)
        if len(hits) < expected:
            short += 1
        if path == "exact":
            continue
        async with pool.acquire() as conn:
            truth = await conn.fetch(
                nearest_sql(True, "chunks", k), prop.version_id, vector, prop.id
            )
        if truth:
            kth = float(truth[-1]["score"])
            good = sum(1 for h in hits if h.score >= kth - 1e-6)
            recalls.append(min(good, len(truth)) / len(truth))
            by_property[prop.id].append(recalls[-1])
    out: dict[str, object] = {
        "warm": None if warm is None else {"status": warm.status, "seconds": warm.seconds},
        "queries": len(vectors),
        "k": k,
        "recall_at_k": round(float(np.mean(recalls)), 4) if recalls else None,
        "recall_queries": len(recalls),
        "min_recall": round(float(np.min(recalls)), 4) if recalls else None,
        "min_property_recall": _lowest_property(by_property, states),
        "short_results": short,
        "always_k": short == 0,
    }
    for path, values in latencies.items():
        arr = np.array(values)
        out[path] = {
            "n": len(values),
            "p50_ms": round(float(np.percentile(arr, 50)), 3),
            "p99_ms": round(float(np.percentile(arr, 99)), 3),
        }
    return out


def _lowest_property(
    by_property: dict[str, list[float]], states: list[PropertyState]
) -> dict[str, object] | None:
    """The property with the lowest mean recall: its recall, size and query count (a mean
    over every question hides a large property's graph, which needs the most candidates)."""
    if not by_property:
        return None
    sizes = {s.id: s.chunk_count for s in states}
    pid = min(by_property, key=lambda p: (float(np.mean(by_property[p])), -sizes[p]))
    values = by_property[pid]
    return {
        "recall": round(float(np.mean(values)), 4),
        "chunks": sizes[pid],
        "queries": len(values),
    }
