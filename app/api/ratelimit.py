"""Token-bucket rate limits per key (a client address, a property), with bounded memory.

Each key has a bucket of ``burst`` tokens refilled at ``rate`` tokens per second; a request
takes one token or is refused with the time until the next token. Buckets live in a TTL cache
whose TTL is the time a bucket needs to refill completely, so a bucket that expires is
indistinguishable from a fresh one; past ``max_keys`` the least recently used bucket is dropped
(which can only make the limit more lenient, never use more memory).

The limits are per process: with N server processes each one counts on its own, so the
effective limit is N times the configured one. Buckets are touched only on the event loop.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache

from app.config import Settings
from app.errors import RateLimited


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class KeyedLimiter:
    """Token buckets keyed by a string; ``rate`` <= 0 disables the limit."""

    def __init__(
        self,
        rate: float,
        burst: int,
        max_keys: int,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._timer = timer
        refill_s = self.burst / rate if rate > 0 else 1.0
        self._buckets: TTLCache[str, _Bucket] = TTLCache(
            maxsize=max(1, max_keys), ttl=refill_s, timer=timer
        )

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when allowed, else the seconds until one is available."""
        if not self.enabled:
            return 0.0
        now = self._timer()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            wait = 0.0
        else:
            wait = (1.0 - bucket.tokens) / self.rate
        # Re-inserting renews the TTL: a busy bucket must not expire (and refill) early.
        self._buckets[key] = bucket
        return wait


def retry_after_header(wait_s: float) -> int:
    """Whole seconds for ``Retry-After`` (at least 1)."""
    return max(1, math.ceil(wait_s))


class RateLimits:
    """The guest endpoint's two limits: per client address and per property."""

    def __init__(self, per_client: KeyedLimiter, per_property: KeyedLimiter) -> None:
        self.per_client = per_client
        self.per_property = per_property

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(
            KeyedLimiter(
                settings.rate_limit_per_client,
                settings.rate_limit_client_burst,
                settings.rate_limit_max_keys,
            ),
            KeyedLimiter(
                settings.rate_limit_per_property,
                settings.rate_limit_property_burst,
                settings.rate_limit_max_keys,
            ),
        )

    def check_client(self, client: str) -> None:
        """Raise :class:`RateLimited` when ``client`` is over its limit."""
        wait = self.per_client.take(client)
        if wait:
            raise RateLimited(
                "too many questions from this client, please slow down", retry_after_header(wait)
            )

    def check_property(self, property_id: str) -> None:
        """Raise :class:`RateLimited` when the property is over its limit."""
        wait = self.per_property.take(property_id)
        if wait:
            raise RateLimited(
                "too many questions for this property right now, please retry shortly",
                retry_after_header(wait),
            )
