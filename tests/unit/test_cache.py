"""Answer cache: TTL, size bound, single-flight, errors, keys that include the index version."""

from __future__ import annotations

import asyncio

import pytest

from app.rag.cache import AnswerCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def counting(value: str, counter: list[int], gate: asyncio.Event | None = None):  # type: ignore[no-untyped-def]
    async def compute() -> str:
        counter.append(1)
        if gate is not None:
            await gate.wait()
        return value

    return compute


async def test_entries_expire_after_ttl() -> None:
    clock = Clock()
    cache: AnswerCache[str, str] = AnswerCache(maxsize=10, ttl=60, timer=clock)
    calls: list[int] = []
    assert await cache.get_or_compute("k", counting("v", calls)) == ("v", False)
    clock.now = 59
    assert await cache.get_or_compute("k", counting("v2", calls)) == ("v", True)
    clock.now = 61
    assert await cache.get_or_compute("k", counting("v2", calls)) == ("v2", False)
    assert len(calls) == 2


async def test_size_is_bounded() -> None:
    cache: AnswerCache[int, int] = AnswerCache(maxsize=5, ttl=60)
    for i in range(50):

        async def compute(i: int = i) -> int:
            return i

        await cache.get_or_compute(i, compute)
    assert len(cache) == 5


async def test_concurrent_identical_questions_share_one_computation() -> None:
    cache: AnswerCache[str, str] = AnswerCache(maxsize=10, ttl=60)
    calls: list[int] = []
    gate = asyncio.Event()
    callers = [
        asyncio.ensure_future(cache.get_or_compute("same", counting("v", calls, gate)))
        for _ in range(200)
    ]
    await asyncio.sleep(0)  # let every caller reach the cache before the computation ends
    assert cache.inflight == 1
    gate.set()
    results = await asyncio.gather(*callers)
    assert len(calls) == 1
    assert {value for value, _ in results} == {"v"}
    assert sum(1 for _, cached in results if not cached) == 1
    assert cache.stats.computations == 1
    assert cache.inflight == 0


async def test_a_follower_giving_up_does_not_cancel_the_computation() -> None:
    cache: AnswerCache[str, str] = AnswerCache(maxsize=10, ttl=60)
    calls: list[int] = []
    gate = asyncio.Event()
    leader = asyncio.ensure_future(cache.get_or_compute("k", counting("v", calls, gate)))
    follower = asyncio.ensure_future(cache.get_or_compute("k", counting("v", calls, gate)))
    await asyncio.sleep(0)
    follower.cancel()
    gate.set()
    assert await leader == ("v", False)
    assert follower.cancelled()
    assert await cache.get_or_compute("k", counting("other", calls)) == ("v", True)


async def test_failures_reach_every_waiter_and_are_not_cached() -> None:
    cache: AnswerCache[str, str] = AnswerCache(maxsize=10, ttl=60)
    gate = asyncio.Event()

    failures: list[int] = []
    computing = asyncio.Event()

    async def failing() -> str:
        failures.append(1)
        computing.set()
        await gate.wait()
        raise RuntimeError("database down")

    waiters = [asyncio.ensure_future(cache.get_or_compute("k", failing)) for _ in range(5)]
    # The waiters started after the leader run before this test resumes (FIFO ready queue).
    await computing.wait()
    assert cache.inflight == 1
    gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert len(failures) == 1  # one computation, its failure shared by every waiter
    calls: list[int] = []
    assert await cache.get_or_compute("k", counting("recovered", calls)) == ("recovered", False)


async def test_a_new_index_version_is_a_different_key() -> None:
    cache: AnswerCache[tuple[str, int, str], str] = AnswerCache(maxsize=10, ttl=60)
    calls: list[int] = []
    assert await cache.get_or_compute(("hotel", 1, "q"), counting("old", calls)) == ("old", False)
    assert await cache.get_or_compute(("hotel", 2, "q"), counting("new", calls)) == ("new", False)
    assert await cache.get_or_compute(("hotel", 2, "q"), counting("x", calls)) == ("new", True)


async def test_disabled_cache_still_single_flights() -> None:
    cache: AnswerCache[str, str] = AnswerCache(maxsize=0, ttl=60)
    calls: list[int] = []
    await cache.get_or_compute("k", counting("v", calls))
    await cache.get_or_compute("k", counting("v", calls))
    assert len(calls) == 2
    assert len(cache) == 0


def test_use_from_another_thread_is_refused() -> None:
    cache: AnswerCache[str, str] = AnswerCache(maxsize=10, ttl=60)
    calls: list[int] = []
    asyncio.run(cache.get_or_compute("k", counting("v", calls)))
    import threading

    errors: list[BaseException] = []

    def other() -> None:
        try:
            asyncio.run(cache.get_or_compute("k", counting("v", calls)))
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert errors
    assert "two threads" in str(errors[0])


@pytest.mark.parametrize("maxsize", [1, 3])
async def test_least_recent_entries_are_evicted_first(maxsize: int) -> None:
    cache: AnswerCache[int, int] = AnswerCache(maxsize=maxsize, ttl=60)
    calls: list[int] = []
    for i in range(maxsize + 1):

        async def compute(i: int = i) -> int:
            calls.append(i)
            return i

        await cache.get_or_compute(i, compute)

    async def again() -> int:
        calls.append(-1)
        return -1

    assert (await cache.get_or_compute(0, again))[1] is False


async def test_the_cache_is_bounded_in_bytes_as_well_as_in_entries() -> None:
    cache: AnswerCache[str, str] = AnswerCache(maxsize=100, ttl=60, max_bytes=1_000_000, sizeof=len)
    for n in range(50):  # 50 answers of 100 kB: only 10 fit in 1 MB
        cache.put(f"big{n}", "x" * 100_000)
    assert len(cache) == 10
    assert cache.size <= 1_000_000
    for n in range(500):  # small ones: the entry bound still holds
        cache.put(f"small{n}", "y")
    assert len(cache) == 100
    cache.put("huge", "z" * 2_000_000)  # larger than the whole cache: not kept, no error
    assert cache.get("huge") is None
    value, cached = await cache.get_or_compute("huge", counting("z" * 2_000_000, []))
    assert len(value) == 2_000_000
    assert not cached


def test_a_cached_result_weighs_its_texts() -> None:
    from app.answering.types import Source
    from app.rag.types import AskResult, result_bytes
    from app.search.retriever import Hit

    def result(text: str) -> AskResult:
        hit = Hit(1, "doc.md", "Doc", "", text, 0.9)
        return AskResult(text[:100], (Source(1, hit),), (1,), False, "extractive", "p", 1, 1,
                         0.0, 0.0, 0.0)  # fmt: skip

    assert result_bytes(result("a" * 1_000_000)) > 1_000_000 > 100 * result_bytes(result("a"))
