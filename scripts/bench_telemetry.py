"""Per-request cost of the telemetry middleware (metrics + JSON request log), in process.

    .venv/bin/python scripts/bench_telemetry.py [requests]

Calls a minimal ASGI app directly, bare and wrapped in :class:`TelemetryMiddleware` (JSON log
line written to /dev/null), and prints microseconds per request for each. No network, so
the difference is the middleware's own cost.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starlette.types import Message, Receive, Scope, Send

from app.api.telemetry import TelemetryMiddleware, note
from app.config import Settings
from app.observability.logs import configure_logging
from app.observability.metrics import Metrics


class _Route:
    path_format = "/ask"


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    scope["route"] = _Route()
    timings = {"embed": 0.0, "search": 0.0, "answer": 0.0, "total": 0.1}
    note(scope, property="harbour-grand", question="What time is check-out?", cached=True)
    note(scope, escalate=False, timings_ms=timings)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def run(app: object, n: int) -> float:
    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        return None

    call = app  # an ASGI callable
    started = time.perf_counter()
    for _ in range(n):
        scope = {"type": "http", "method": "POST", "path": "/ask", "headers": [], "state": {}}
        await call(scope, receive, send)  # type: ignore[operator]
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    settings = Settings(log_format="json")
    with Path("/dev/null").open("w") as sink:
        configure_logging(settings, sink)
        logging.getLogger("concierge.request").setLevel(logging.INFO)
        wrapped = TelemetryMiddleware(endpoint, Metrics(), settings)
        asyncio.run(run(wrapped, 2000))  # warm-up
        bare = asyncio.run(run(endpoint, n))
        full = asyncio.run(run(wrapped, n))
        quiet = asyncio.run(
            run(TelemetryMiddleware(endpoint, Metrics(), Settings(access_log=False)), n)
        )
    print(f"bare endpoint:            {bare:6.1f} us/request")
    print(f"+ metrics + JSON log:     {full:6.1f} us/request (+{full - bare:.1f})")
    print(f"+ metrics, log off:       {quiet:6.1f} us/request (+{quiet - bare:.1f})")


if __name__ == "__main__":
    main()
