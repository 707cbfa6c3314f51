"""Prometheus metrics: request histograms, per-stage latencies, and scrape-time readings.

Most numbers already live in stats objects (answer cache, micro-batcher, connection pool);
:class:`ServiceCollector` reads them when ``/metrics`` is scraped, so the hot path pays
nothing for them. Only what has no other home is recorded as it happens: one histogram
observation per request and one per answer stage, through label children that are created
once and then looked up in a plain dict.

Label values are bounded: routes are route templates (``/ask``, never a raw path), an
unmatched path is the single value ``unmatched``, methods outside a fixed set are ``other``,
and stage names come from :data:`STAGES`.

Other modules add their own figures with :meth:`Metrics.add_source` (a callable returning
metric families, read at scrape time) or by registering a collector on :attr:`Metrics.registry`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

if TYPE_CHECKING:
    from app.services import Services

M = TypeVar("M", CounterMetricFamily, GaugeMetricFamily)

log = logging.getLogger(__name__)

PREFIX = "concierge"
UNMATCHED_ROUTE = "unmatched"
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
STAGES = ("embed", "search", "answer", "ttft")
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Seconds. The hot path is expected in single-digit milliseconds, so the low end is fine-grained.
REQUEST_BUCKETS = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.075,
    0.1, 0.18, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
STAGE_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip

MetricSource = Callable[[], Iterable[Metric]]
_Observe = Callable[[float], None]


class Metrics:
    """Every metric of one app instance, in a registry of its own (so tests never collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "HTTP requests by route template, method and status, with their latency.",
            ["route", "method", "status"],
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self._stages = Histogram(
            f"{PREFIX}_stage_duration_seconds",
            "Latency of each stage of a computed (uncached) answer.",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self._request_children: dict[tuple[str, str, int], _Observe] = {}
        self._stage_children: dict[str, _Observe] = {
            stage: self._stages.labels(stage).observe for stage in STAGES
        }
        self._sources: dict[str, MetricSource] = {}
        self._services: Callable[[], Services | None] = lambda: None
        self.registry.register(_SourcesCollector(self._sources))

    # -- recorded as it happens ----------------------------------------------------------

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """One finished request. ``route`` must be a template or :data:`UNMATCHED_ROUTE`."""
        if method not in METHODS:
            method = "other"  # before the key: clients choose methods, the map stays bounded
        key = (route, method, status)
        observe = self._request_children.get(key)
        if observe is None:
            observe = self._requests.labels(route, method, str(status)).observe
            self._request_children[key] = observe
        observe(seconds)

    def observe_stage(self, stage: str, seconds: float) -> None:
        """One stage of a computed answer; unknown stage names are ignored (bounded labels)."""
        observe = self._stage_children.get(stage)
        if observe is not None:
            observe(seconds)

    # -- read at scrape time -------------------------------------------------------------

    def bind_services(self, services: Callable[[], Services | None]) -> None:
        """Read the cache, batcher and pool of whatever ``services()`` returns at each scrape."""
        self._services = services
        self.add_source("services", lambda: ServiceCollector(self._services).collect())

    def add_source(self, name: str, source: MetricSource) -> None:
        """Add (or replace) a named source of metric families, called at every scrape.

        Families must use the ``concierge_`` prefix and bounded labels. A source that raises
        is logged and skipped, so one broken source never hides the others.
        """
        self._sources[name] = source

    def remove_source(self, name: str) -> None:
        self._sources.pop(name, None)

    def render(self) -> bytes:
        """The Prometheus text exposition of everything registered."""
        return generate_latest(self.registry)


class _SourcesCollector(Collector):
    def __init__(self, sources: dict[str, MetricSource]) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        for name, source in list(self._sources.items()):
            try:
                families = list(source())
            except Exception:
                log.exception("metrics source %r failed", name)
                continue
            yield from families

    def describe(self) -> Iterable[Metric]:
        return ()  # sources come and go; never checked for duplicates at registration


class ServiceCollector:
    """Scrape-time readings of the answer cache, the micro-batcher and the database pool."""

    def __init__(self, services: Callable[[], Services | None]) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        services = self._services()
        if services is None:
            return
        yield from _cache_metrics(services)
        yield from _batcher_metrics(services)
        yield from _pool_metrics(services)


def _cache_metrics(services: Services) -> Iterator[Metric]:
    cache = services.rag.cache
    stats = cache.stats
    yield _by_label(
        CounterMetricFamily(
            f"{PREFIX}_answer_cache_lookups",
            "Answer cache lookups by result: hit, miss, or shared (joined a computation in "
            "flight).",
            labels=["result"],
        ),
        {"hit": stats.hits, "miss": stats.misses, "shared": stats.shared},
    )
    yield CounterMetricFamily(
        f"{PREFIX}_answer_computations", "Answers computed (cache misses that ran).",
        value=stats.computations,
    )  # fmt: skip
    yield GaugeMetricFamily(f"{PREFIX}_answer_cache_entries", "Entries held.", value=len(cache))
    yield GaugeMetricFamily(
        f"{PREFIX}_answer_cache_inflight", "Computations in flight.", value=cache.inflight
    )


def _batcher_metrics(services: Services) -> Iterator[Metric]:
    batcher = services.batcher
    stats = batcher.stats
    sizes = _snapshot(stats.batch_sizes)
    # A summary: total count and sum since start, quantiles over the most recent batches.
    summary = SummaryMetricFamily(
        f"{PREFIX}_embedding_batch_size",
        "Questions encoded per model call (quantiles over the latest batches).",
        labels=[],
    )
    summary.add_metric([], count_value=stats.batches, sum_value=stats.items)
    ordered = sorted(sizes)
    for q in (0.5, 0.9, 0.99, 1.0) if ordered else ():
        value = ordered[min(len(ordered) - 1, int(q * len(ordered)))]
        summary.samples.append(Sample(summary.name, {"quantile": str(q)}, float(value)))
    yield summary
    yield GaugeMetricFamily(
        f"{PREFIX}_embedding_queue_depth",
        "Questions waiting for the embedding model.",
        value=batcher.queue_depth(),
    )
    yield GaugeMetricFamily(
        f"{PREFIX}_embedding_largest_batch", "Largest batch since start.", value=stats.largest_batch
    )
    yield CounterMetricFamily(
        f"{PREFIX}_overload_rejections",
        "Questions refused because the embedding queue was full (answered 503).",
        value=stats.rejected,
    )


def _pool_metrics(services: Services) -> Iterator[Metric]:
    pool = services.pool
    size = pool.get_size()
    idle = pool.get_idle_size()
    yield _by_label(
        GaugeMetricFamily(
            f"{PREFIX}_db_pool_connections",
            "Database pool connections by state (in use = open - idle).",
            labels=["state"],
        ),
        {"open": size, "idle": idle, "in_use": max(0, size - idle)},
    )
    yield GaugeMetricFamily(
        f"{PREFIX}_db_pool_max_connections", "Pool size limit.", value=pool.get_max_size()
    )
    turns = services.rag.retriever.turns
    if turns is not None:
        yield _by_label(
            GaugeMetricFamily(
                f"{PREFIX}_search_turns",
                "Guests' searches holding a turn at the database, waiting for one, and the most "
                "held at once.",
                labels=["state"],
            ),
            {"held": turns.held, "waiting": turns.waiting, "limit": turns.at_once},
        )


def _by_label(family: M, values: dict[str, float]) -> M:
    """``family`` (of one label) with a sample for each of ``values``."""
    for label, value in values.items():
        family.add_metric([label], value)
    return family


def _snapshot(values: Any) -> list[int]:
    """A copy of a deque that another thread appends to (retried if it moved under us)."""
    for _ in range(3):
        try:
            return list(values)
        except RuntimeError:
            continue
    return []
