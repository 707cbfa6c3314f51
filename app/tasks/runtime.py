"""Starts and stops what the desk needs: classifier examples, live feed, webhooks, recorder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from app.config import Settings, classifier_floors
from app.tasks.classify import Embed, MessageClassifier, load_examples
from app.tasks.desk import DeskOptions, FrontDesk
from app.tasks.feed import TaskFeed
from app.tasks.gaps import SignalRecorder
from app.tasks.multilingual import Floors, MultilingualSpace
from app.tasks.rules import KINDS, Label
from app.tasks.seed_cache import SeedCache
from app.tasks.stats import TaskStats
from app.tasks.webhooks import WebhookSender


@dataclass(frozen=True, slots=True)
class SecondModel:
    """The classifier's model for messages not in English: its name in the settings
    (``e5``), its ``embed``, and where its example vectors are kept."""

    model: str
    embed: Embed
    seed_cache: SeedCache | None = None


@dataclass(slots=True)
class TaskServices:
    """The desk and its helpers, one set per process."""

    desk: FrontDesk
    classifier: MessageClassifier
    stats: TaskStats
    feed: TaskFeed
    recorder: SignalRecorder
    webhooks: WebhookSender | None


async def load_property_examples(
    pool: asyncpg.Pool, classifier: MessageClassifier, property_id: str | None = None
) -> None:
    """Give the classifier each property's own examples (one property, or all)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT property_id, text, kind, category FROM classifier_examples "
            "WHERE $1::text IS NULL OR property_id = $1 ORDER BY property_id, id",
            property_id,
        )
    examples: dict[str, list[tuple[str, Label]]] = {}
    if property_id is not None:
        examples[property_id] = []
    for row in rows:
        if row["kind"] in KINDS:
            label = Label(row["kind"], row["category"])
            examples.setdefault(row["property_id"], []).append((row["text"], label))
    for pid, pairs in examples.items():
        await classifier.load_property(pid, pairs)


@asynccontextmanager
async def open_task_services(
    settings: Settings,
    pool: asyncpg.Pool,
    listen_url: str,
    embed: Embed,
    seed_cache: SeedCache | None = None,
    second: SecondModel | None = None,
) -> AsyncIterator[TaskServices]:
    """The desk's services; ``seed_cache`` keeps the shared examples' vectors between starts;
    ``second`` is the multilingual model for messages not in English (loaded at the first)."""
    stats = TaskStats()
    min_similarity, safety_similarity = settings.classifier_similarities
    seeds = load_examples()
    multilingual = None
    if second is not None:
        multilingual = MultilingualSpace(
            second.embed,
            seeds,
            Floors(*classifier_floors(second.model)),
            second.seed_cache,
            stats=stats,
        )
    classifier = MessageClassifier(
        embed,
        min_similarity=min_similarity,
        max_cached=settings.classifier_cache_entries,
        safety_similarity=safety_similarity,
        task_similarity=settings.classifier_task_similarity,
        multilingual=multilingual,
    )
    texts = [text for text, _ in seeds]
    kept = await seed_cache.read(texts, embed) if seed_cache is not None else None
    vectors = await classifier.load_seeds(seeds, kept)
    if seed_cache is not None and kept is None:
        seed_cache.write(texts, vectors)
    await load_property_examples(pool, classifier)
    recorder = SignalRecorder(
        pool, embed, stats, settings.signals_retention_days, settings.signals_queue
    )
    desk = FrontDesk(
        pool, classifier, stats, DeskOptions(emergency_number=settings.emergency_number)
    )
    desk.recorder = recorder
    feed = TaskFeed(pool, listen_url, settings.task_stream_max)
    webhooks = None
    if settings.task_webhook_url:
        secret = settings.task_webhook_secret
        webhooks = WebhookSender(
            settings.task_webhook_url,
            secret.get_secret_value().encode() if secret else b"",
            stats,
            max_queue=settings.task_webhook_queue,
            max_attempts=settings.task_webhook_max_attempts,
            timeout_s=settings.task_webhook_timeout_s,
            backoff_s=settings.task_webhook_backoff_s,
        )
        desk.on_task(webhooks.submit)
        webhooks.start()
    recorder.start()
    await feed.start()
    try:
        yield TaskServices(desk, classifier, stats, feed, recorder, webhooks)
    finally:
        if multilingual is not None:
            await multilingual.close()
        await feed.close()
        await recorder.close()
        if webhooks is not None:
            await webhooks.close()
