"""Phases run in alternating slices are merged into one honest summary."""

from __future__ import annotations

from typing import Any

from benchlib.slices import alternated, merge, slice_count


def _part(seconds: float, ok: int, p99: float, mean: float, **extra: Any) -> dict[str, Any]:
    return {
        "mode": "closed-loop",
        "clients": 32,
        "seconds": seconds,
        "requests": ok,
        "ok": ok,
        "errors": 0,
        "error_kinds": {},
        "rps": ok / seconds,
        "p50_ms": mean,
        "p95_ms": p99 * 0.8,
        "p99_ms": p99,
        "max_ms": p99 * 2,
        "mean_ms": mean,
        "cached_answers": ok,
        "generator_cpu": {"cpu_s": 0.5, "core_share": 0.25, "ms_per_request": 0.01},
        **extra,
    }


def test_counts_and_rates_are_over_the_whole_and_percentiles_are_the_highest() -> None:
    slow = _part(2.0, 10_000, p99=9.0, mean=4.0, error_kinds={"timeouts": 1}, errors=1)
    fast = _part(2.0, 30_000, p99=5.0, mean=2.0, error_kinds={"timeouts": 2}, errors=2)
    merged = merge([slow, fast])
    assert merged["ok"] == 40_000
    assert merged["rps"] == 10_000.0
    assert merged["p99_ms"] == 9.0
    assert merged["mean_ms"] == 2.5
    assert merged["errors"] == 3
    assert merged["error_kinds"] == {"timeouts": 3}
    assert merged["cached_answers"] == 40_000
    assert merged["generator_cpu"]["cpu_s"] == 1.0
    assert merged["slices"] == 2


def test_a_single_part_is_its_own_summary() -> None:
    part = _part(10.0, 1000, p99=3.0, mean=1.0)
    assert merge([part]) is part


def test_a_part_without_latencies_does_not_break_the_merge() -> None:
    empty = _part(2.0, 0, p99=0.0, mean=0.0) | {"p99_ms": None, "mean_ms": None}
    merged = merge([empty, _part(2.0, 100, p99=7.0, mean=3.0)])
    assert merged["p99_ms"] == 7.0
    assert merged["mean_ms"] == 3.0


def test_short_phases_are_not_sliced_and_long_ones_are_in_a_few_turns() -> None:
    assert slice_count(1.5) == 1
    assert slice_count(5.0) == 1
    assert slice_count(10.0) == 2
    assert slice_count(600.0) == 4


async def test_the_phases_take_turns_and_share_the_time() -> None:
    calls: list[tuple[str, float]] = []

    def phase(name: str) -> Any:
        async def run(seconds: float) -> dict[str, Any]:
            calls.append((name, seconds))
            return _part(seconds, 100, p99=1.0, mean=1.0)

        return run

    first, second = await alternated(phase("a"), phase("b"), 20.0)
    assert [name for name, _ in calls] == ["a", "b"] * 4
    assert {seconds for _, seconds in calls} == {5.0}
    assert first["seconds"] == second["seconds"] == 20.0
