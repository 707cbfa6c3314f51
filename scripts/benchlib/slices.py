"""Two phases run in alternating slices, each merged back into one summary.

The cached and the no-op phases are compared as a ratio; run one after the other, a change in
the machine's speed between them (other programs on the host) moves the ratio by itself.
Alternating short slices of each spreads such a change over both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from benchlib.wrk import generator_cpu

Phase = Callable[[float], Awaitable[dict[str, Any]]]

# Each slice is a run of its own: its connections open and its rate builds up at its start,
# which weighs on a short run's throughput and tail (measured: 2 s slices of the cached phase
# had a P99 up to 2.4 times that of the 10 s runs beside them).
MIN_SLICE_S = 5.0
MAX_SLICES = 4


def slice_count(seconds: float) -> int:
    """How many slices a phase of ``seconds`` is run in (1: not sliced)."""
    return max(1, min(MAX_SLICES, int(seconds // MIN_SLICE_S)))


async def alternated(
    first: Phase, second: Phase, seconds: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each phase run for ``seconds`` in all, in turns of equal slices; the merged summaries."""
    count = slice_count(seconds)
    first_parts: list[dict[str, Any]] = []
    second_parts: list[dict[str, Any]] = []
    for _ in range(count):
        first_parts.append(await first(seconds / count))
        second_parts.append(await second(seconds / count))
    return merge(first_parts), merge(second_parts)


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary of a phase run in ``parts``: counts and seconds summed, rates over the sums,
    the mean weighted by requests, and each percentile the highest of the parts' (no lower than
    the whole phase's: the whole is a mixture of the parts)."""
    if len(parts) == 1:
        return parts[0]
    seconds = sum(p["seconds"] for p in parts)
    ok = sum(p["ok"] for p in parts)
    timed = [p for p in parts if p.get("mean_ms") is not None]
    cpu_s = sum((p.get("generator_cpu") or {}).get("cpu_s", 0.0) for p in parts)
    merged = {
        **parts[0],
        "seconds": round(seconds, 2),
        "requests": sum(p["requests"] for p in parts),
        "ok": ok,
        "errors": sum(p["errors"] for p in parts),
        "error_kinds": _summed(p.get("error_kinds") for p in parts),
        "rps": round(ok / seconds, 1) if seconds else 0.0,
        "mean_ms": (
            round(sum(p["mean_ms"] * p["ok"] for p in timed) / ok, 2) if timed and ok else None
        ),
        "cached_answers": sum(p.get("cached_answers", 0) for p in parts),
        "generator_cpu": generator_cpu(cpu_s, seconds, ok),
        "slices": len(parts),
    }
    if any("statuses" in p for p in parts):
        merged["statuses"] = _summed(p.get("statuses") for p in parts)
    for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
        values = [p[key] for p in parts if p.get(key) is not None]
        merged[key] = max(values) if values else None
    return merged


def _summed(counts: Iterable[dict[str, int] | None]) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in counts:
        for key, count in (part or {}).items():
            out[key] = out.get(key, 0) + count
    return out
