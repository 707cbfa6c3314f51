"""Outgoing webhooks for new tasks: signed, retried with backoff, bounded, off the guest's path.

Each new task is put on a bounded queue (a full queue drops the delivery and counts it: the
task itself is already in PostgreSQL); one worker posts it as JSON with
``X-Concierge-Timestamp`` and ``X-Concierge-Signature: sha256=<hex>``, the HMAC-SHA256 of
``"<timestamp>.<body>"`` under the shared secret. A failed post is retried after 0.5 s, 1 s,
2 s … up to the attempt limit, then given up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from typing import TYPE_CHECKING, Any

import orjson

from app.db.pool import stop_if_cancelled
from app.tasks.stats import TaskStats

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def slack_text(task: dict[str, Any]) -> str:
    room = f" (room {task['room']})" if task.get("room") else ""
    return (
        f"[{task['priority']}] {task['category']} at {task['property_id']}{room}: "
        f"{task['guest_text'][:300]} (ref {task['ref']})"
    )


class WebhookSender:
    """Posts each task to ``url``; never blocks or fails the caller."""

    def __init__(
        self,
        url: str,
        secret: bytes,
        stats: TaskStats,
        max_queue: int = 1000,
        max_attempts: int = 5,
        timeout_s: float = 5.0,
        backoff_s: float = 0.5,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self.secret = secret
        self.stats = stats
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(max_queue)
        if client is None:
            import httpx  # only where a webhook is configured: a few MB the server need not hold

            client = httpx.AsyncClient(timeout=timeout_s)
        self._client = client
        self._worker: asyncio.Task[None] | None = None
        self.attempts = 0

    def start(self) -> None:
        self._worker = asyncio.create_task(self._run(), name="task-webhooks")

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        await self._client.aclose()

    def submit(self, task: dict[str, Any]) -> None:
        """Queue a delivery (a listener of the front desk)."""
        try:
            self.queue.put_nowait(task)
        except asyncio.QueueFull:
            self.stats.webhooks["dropped"] += 1

    async def _run(self) -> None:
        while True:
            task = await self.queue.get()
            try:
                await self._deliver(task)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stop_if_cancelled(exc)
                log.exception("webhook delivery crashed")
            finally:
                self.queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued delivery has been sent or given up."""
        await self.queue.join()

    async def _deliver(self, task: dict[str, Any]) -> None:
        import httpx

        body = orjson.dumps({"type": "task.created", "text": slack_text(task), "task": task})
        for attempt in range(1, self.max_attempts + 1):
            timestamp = str(int(time.time()))
            headers = {
                "content-type": "application/json",
                "x-concierge-timestamp": timestamp,
                "x-concierge-signature": sign(self.secret, timestamp, body),
            }
            self.attempts += 1
            try:
                # Only the status matters: the target's body is never read.
                async with self._client.stream(
                    "POST", self.url, content=body, headers=headers
                ) as response:
                    status = response.status_code
                if status < 300:
                    self.stats.webhooks["sent"] += 1
                    return
                reason = f"status {status}"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            if attempt == self.max_attempts:
                break
            self.stats.webhooks["retried"] += 1
            await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
        self.stats.webhooks["failed"] += 1
        log.warning("webhook for task %s given up after %s tries: %s", task["ref"],
                    self.max_attempts, reason)  # fmt: skip
