"""Counters of what the desk did, read by ``/metrics`` at scrape time (labels are bounded:
kinds and categories come from fixed lists, anything else is counted as ``other``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, Metric

from app.tasks.rules import COMPLAINT, KINDS, SAFETY_CATEGORIES, SERVICE_CATEGORIES

_CATEGORIES = frozenset((*SERVICE_CATEGORIES, *SAFETY_CATEGORIES, COMPLAINT))
# multilingual: judged by the multilingual model; main_loading: by the main model while the
# multilingual one loads; main_unavailable: by the main model, the multilingual one failing.
MULTILINGUAL_SPACES = frozenset({"multilingual", "main_loading", "main_unavailable"})
_HANDOVERS = frozenset({"no_answer", COMPLAINT, *(f"safety_{c}" for c in SAFETY_CATEGORIES)})


@dataclass(slots=True)
class TaskStats:
    """Process-local counters (Prometheus sums them over replicas)."""

    classified: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)
    deduplicated: int = 0
    handovers: Counter[str] = field(default_factory=Counter)
    feedback: Counter[str] = field(default_factory=Counter)
    webhooks: Counter[str] = field(default_factory=Counter)
    signals_dropped: int = 0
    multilingual: Counter[str] = field(default_factory=Counter)
    multilingual_load_failures: int = 0

    def families(self) -> Iterable[Metric]:
        yield _family("messages_classified", "Guest messages by kind.", "kind",
                      self.classified, frozenset(KINDS))  # fmt: skip
        yield _family("tasks_created", "Staff tasks created, by category.", "category",
                      self.tasks, _CATEGORIES)  # fmt: skip
        repeats = CounterMetricFamily(
            "concierge_tasks_deduplicated", "Repeated requests folded into an active task."
        )
        repeats.add_metric([], self.deduplicated)
        yield repeats
        yield _family("handovers", "Hand-overs to staff, by reason.", "reason",
                      self.handovers, _HANDOVERS)  # fmt: skip
        yield _family("feedback", "Guest ratings of answers.", "rating",
                      self.feedback, frozenset({"up", "down"}))  # fmt: skip
        outcomes = frozenset({"sent", "retried", "failed", "dropped"})
        yield _family("task_webhooks", "Outgoing task webhooks, by outcome.", "outcome",
                      self.webhooks, outcomes)  # fmt: skip
        dropped = CounterMetricFamily(
            "concierge_signals_dropped", "Hand-over and feedback records dropped (queue full)."
        )
        dropped.add_metric([], self.signals_dropped)
        yield dropped
        yield _family("multilingual_messages",
                      "Messages not in English that needed a vector, by the space that judged "
                      "them.", "space", self.multilingual, MULTILINGUAL_SPACES)  # fmt: skip
        failures = CounterMetricFamily(
            "concierge_multilingual_load_failures",
            "Loads of the multilingual model or its example vectors that failed.",
        )
        failures.add_metric([], self.multilingual_load_failures)
        yield failures


def _family(
    name: str, doc: str, label: str, counts: Counter[str], known: frozenset[str]
) -> CounterMetricFamily:
    family = CounterMetricFamily(f"concierge_{name}", doc, labels=[label])
    bounded: Counter[str] = Counter()
    for key, value in counts.items():
        bounded[key if key in known else "other"] += value
    for key in sorted(known):
        family.add_metric([key], bounded.get(key, 0))
    if bounded.get("other"):
        family.add_metric(["other"], bounded["other"])
    return family
