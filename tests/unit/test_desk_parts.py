"""The desk's parts that need no database: masking, webhooks, the live feed, metrics."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import numpy as np

from app.answering.types import Source
from app.errors import DependencyUnavailable
from app.search.types import Hit
from app.tasks.classify import Classification
from app.tasks.desk import FrontDesk
from app.tasks.feed import Subscription
from app.tasks.gaps import cluster
from app.tasks.mask import mask
from app.tasks.stats import TaskStats
from app.tasks.webhooks import WebhookSender, sign

TASK = {
    "id": 7, "ref": "R-ABCDEF", "property_id": "p", "priority": "normal",
    "category": "housekeeping", "room": "412", "guest_text": "extra towels please",
}  # fmt: skip


def test_personal_data_is_masked_and_times_and_prices_are_kept() -> None:
    text = (
        "Mail anna.b@example.co.uk or call +44 20 7946 0000, card 4111-1111-1111-1111, "
        "room 412; breakfast 06:30 to 10:30 costs EUR 35"
    )
    assert mask(text) == (
        "Mail [email] or call [phone], card [card], room [room]; breakfast 06:30 to 10:30 "
        "costs EUR 35"
    )
    assert mask("Zimmer Nr. 12 und habitación 305") == "Zimmer Nr. [room] und habitación [room]"


def test_similar_rows_are_grouped_under_their_first_member() -> None:
    a, b = [1.0, 0.0], [0.0, 1.0]
    near_a = [0.8, 0.6]
    groups = cluster(np.array([a, b, near_a, a], dtype=np.float32), 0.75)
    assert groups == [[0, 2, 3], [1]]


def test_grouping_by_blocks_matches_one_row_at_a_time() -> None:
    def one_by_one(vectors: np.ndarray, threshold: float) -> list[list[int]]:
        leaders: list[int] = []
        groups: list[list[int]] = []
        for i, row in enumerate(vectors):
            scores = vectors[leaders] @ row
            if leaders and scores.max() >= threshold:
                groups[int(np.argmax(scores))].append(i)
            else:
                leaders.append(i)
                groups.append([i])
        return groups

    rng = np.random.default_rng(7)
    centres = rng.standard_normal((30, 64)).astype(np.float32)
    rows = centres[rng.integers(0, 30, 600)] + 0.5 * rng.standard_normal((600, 64))
    rows = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    for threshold in (0.3, 0.6, 0.9):
        expected = one_by_one(rows, threshold)
        assert 30 <= len(expected) < 600
        assert cluster(rows, threshold, block=7) == expected
        assert cluster(rows, threshold) == expected


def test_a_webhook_is_signed_and_a_failing_target_is_tried_a_bounded_number_of_times() -> None:
    seen: list[httpx.Request] = []
    answers = iter([500, 503, 200])

    def target(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(answers))

    async def scenario() -> TaskStats:
        stats = TaskStats()
        client = httpx.AsyncClient(transport=httpx.MockTransport(target))
        sender = WebhookSender("http://hook/x", b"k", stats, max_attempts=3, backoff_s=0.001,
                               client=client)  # fmt: skip
        sender.start()
        sender.submit(TASK)
        await asyncio.wait_for(sender.drain(), 5)
        await sender.close()
        return stats

    stats = asyncio.run(scenario())
    assert len(seen) == 3
    assert (stats.webhooks["retried"], stats.webhooks["sent"], stats.webhooks["failed"]) == (
        2,
        1,
        0,
    )
    last = seen[-1]
    stamp = last.headers["x-concierge-timestamp"]
    expected = hmac.new(b"k", stamp.encode() + b"." + last.content, hashlib.sha256).hexdigest()
    assert last.headers["x-concierge-signature"] == f"sha256={expected}"
    assert last.headers["x-concierge-signature"] == sign(b"k", stamp, last.content)
    body = json.loads(last.content)
    assert body["task"]["ref"] == "R-ABCDEF"
    assert "room 412" in body["text"]


def test_a_target_that_never_answers_is_given_up_and_a_full_queue_drops() -> None:
    calls = 0

    def down(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    async def scenario() -> TaskStats:
        stats = TaskStats()
        client = httpx.AsyncClient(transport=httpx.MockTransport(down))
        sender = WebhookSender("http://hook/x", b"", stats, max_queue=2, max_attempts=2,
                               backoff_s=0.001, client=client)  # fmt: skip
        for _ in range(5):  # the worker is not started yet: two fit, three are dropped
            sender.submit(TASK)
        sender.start()
        await asyncio.wait_for(sender.drain(), 5)
        await sender.close()
        return stats

    stats = asyncio.run(scenario())
    assert (stats.webhooks["dropped"], stats.webhooks["failed"]) == (3, 2)
    assert calls == 4


def test_a_webhook_targets_reply_body_is_not_read() -> None:
    served = 0

    async def large() -> AsyncIterator[bytes]:
        nonlocal served
        for _ in range(256):  # 16 MiB, if anyone read it
            served += 1
            yield b"x" * 65536

    async def scenario() -> TaskStats:
        stats = TaskStats()
        client = httpx.AsyncClient(transport=httpx.MockTransport(
            lambda request: httpx.Response(200, content=large())
        ))  # fmt: skip
        sender = WebhookSender("http://hook/x", b"k", stats, client=client)
        sender.start()
        sender.submit(TASK)
        await asyncio.wait_for(sender.drain(), 5)
        await sender.close()
        return stats

    assert asyncio.run(scenario()).webhooks["sent"] == 1
    assert served <= 1


def test_a_subscriber_that_falls_behind_is_closed_and_filters_by_property() -> None:
    async def scenario() -> None:
        sub = Subscription(frozenset({"a"}), size=2)
        sub.offer({"event": "created", "task": {"property_id": "b"}})
        assert sub.queue.empty()
        for i in range(3):
            sub.offer({"event": "created", "task": {"property_id": "a", "id": i}})
        assert sub.closed
        got = [event async for event in sub.events(1.0)]
        assert [e["task"]["id"] for e in got if e] == [1]  # then the end of the stream

    asyncio.run(scenario())


def test_events_outlast_heartbeats_shorter_than_the_wait_for_them() -> None:
    async def scenario() -> list[int]:
        sub = Subscription(None, size=8)
        got: list[int] = []
        heartbeats = 0

        async def read() -> None:
            nonlocal heartbeats
            async for event in sub.events(0.0):
                if event is None:
                    heartbeats += 1
                    if heartbeats == 3:  # quiet so far: the events come now
                        for i in range(3):
                            sub.offer({"event": "created", "task": {"property_id": "a", "id": i}})
                    elif heartbeats > 1000:
                        return
                    continue
                got.append(event["task"]["id"])
                if len(got) == 3:
                    return

        await read()
        return got

    assert asyncio.run(scenario()) == [0, 1, 2]


def test_metrics_have_bounded_labels() -> None:
    stats = TaskStats()
    stats.tasks["housekeeping"] += 2
    stats.tasks["made-up"] += 1
    families = {f.name: f for f in stats.families()}
    samples = {
        s.labels.get("category"): s.value for s in families["concierge_tasks_created"].samples
    }
    assert samples["housekeeping"] == 2
    assert samples["other"] == 1
    assert samples["transport"] == 0


def test_safety_quotes_are_the_chunks_sentences_and_list_lines_without_headings() -> None:
    text = (
        "## Allergies\nPlease tell your server about any allergy. The kitchen cannot rule out "
        "traces of nuts.\n- Gluten-free bread on request\n- Oat milk at the buffet"
    )
    desk = FrontDesk(cast(Any, None), cast(Any, None), TaskStats())
    quoted = desk._quote("allergy", [Source(1, Hit(1, "food.md", "Food", "", text, 0.9))])
    assert quoted == [
        (1, "Please tell your server about any allergy. [1]"),
        (1, "The kitchen cannot rule out traces of nuts. [1]"),
        (1, "Gluten-free bread on request [1]"),
    ]


async def test_an_emergency_during_a_database_outage_still_gets_the_number() -> None:
    class DownPool:
        def acquire(self) -> Any:
            raise OSError("connection refused")

    class Medical:
        async def classify(self, property_id: str, text: str) -> Classification:
            return Classification("safety", "medical", 1.0, "rule")

    async def retrieve(question: str) -> list[Source]:
        raise DependencyUnavailable("the database is unavailable right now")

    desk = FrontDesk(cast(Any, DownPool()), cast(Any, Medical()), TaskStats())
    handled = await desk.handle("p", "my husband collapsed", None, None, retrieve)
    assert handled is not None
    assert handled.kind == "safety"
    assert "call 112 now" in handled.answer
    assert "Please call reception now" in handled.answer
    assert handled.task is None
