"""Token buckets: burst, refill, Retry-After, bounded keys, disabled limits."""

from __future__ import annotations

import pytest

from app.api.ratelimit import KeyedLimiter, RateLimits, retry_after_header
from app.config import Settings
from app.errors import RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_at_the_rate() -> None:
    clock = Clock()
    limiter = KeyedLimiter(rate=2.0, burst=3, max_keys=10, timer=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a")
    assert wait == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0  # keys are independent


def test_a_hammered_bucket_does_not_expire_and_refill_early() -> None:
    clock = Clock()
    limiter = KeyedLimiter(rate=1.0, burst=2, max_keys=10, timer=clock)
    allowed = 0
    for _ in range(100):  # 10 s of requests every 0.1 s: at most burst + 10 s x 1/s
        allowed += limiter.take("a") == 0.0
        clock.now += 0.1
    assert 2 + 9 <= allowed <= 2 + 10


def test_memory_is_bounded_by_max_keys() -> None:
    limiter = KeyedLimiter(rate=1.0, burst=1, max_keys=50, timer=Clock())
    for i in range(10_000):
        limiter.take(f"client-{i}")
    assert len(limiter) == 50


def test_zero_rate_disables_the_limit() -> None:
    limiter = KeyedLimiter(rate=0, burst=1, max_keys=10)
    assert all(limiter.take("a") == 0.0 for _ in range(1000))
    assert len(limiter) == 0


def test_rate_limits_raise_with_retry_after() -> None:
    limits = RateLimits.from_settings(
        Settings(rate_limit_per_property=0.5, rate_limit_property_burst=1, database_url=None)
    )
    limits.check_property("p")
    with pytest.raises(RateLimited) as info:
        limits.check_property("p")
    assert info.value.retry_after_s == 2
    assert retry_after_header(0.01) == 1
