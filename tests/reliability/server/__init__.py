"""The API served by uvicorn exactly as ``python -m app serve`` does, with a fake encoder.

``python -m tests.reliability.server --encode-ms 20`` makes every encoded text cost 20 ms (the
model's cost without its CPU use; ``--job-encode-ms`` does the same for the job worker), adds
``/_debug/stats`` (process internals for the soak checks, not in the schema) and, with
``--accepted-log``, writes at exit the request ids of every ``/ask`` the application received.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.responses import JSONBytes
from app.cli import uvicorn_options
from app.config import get_settings
from app.main import create_app
from app.observability.logs import configure_logging
from tests.fakes import HashingEncoder


class SlowHashingEncoder(HashingEncoder):
    """The hashing encoder plus a fixed cost per batch and per text (sleeps, no CPU)."""

    def __init__(self, ms_per_text: float, ms_per_batch: float) -> None:
        super().__init__()
        self.ms_per_text = ms_per_text
        self.ms_per_batch = ms_per_batch

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        cost = self.ms_per_batch + self.ms_per_text * len(texts)
        if cost > 0:
            time.sleep(cost / 1000)
        return super().encode(texts)


class AcceptedRecorder:
    """Outermost ASGI wrapper: appends the ``X-Request-ID`` of each ``/ask`` the application
    receives to a file, one per line, at once (uvicorn re-raises SIGTERM when it is done, so
    nothing may wait for the end of the process)."""

    def __init__(self, app: ASGIApp, log: TextIO | None) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.log is not None and scope["type"] == "http" and scope["path"] == "/ask":
            for key, value in scope["headers"]:
                if key == b"x-request-id":
                    self.log.write(value.decode() + "\n")
                    self.log.flush()
        await self.app(scope, receive, send)


def process_stats() -> dict[str, int]:
    """RSS, open file descriptors and threads of this process (Linux /proc)."""
    rss_kb = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    return {
        "rss_kb": rss_kb,
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": threading.active_count(),
    }


def add_debug_route(app: FastAPI) -> None:
    async def stats(request: Request) -> JSONBytes:
        services = request.app.state.services
        cache = services.rag.cache
        return JSONBytes(
            {
                **process_stats(),
                "tasks": len(asyncio.all_tasks()),
                "pool_size": services.pool.get_size(),
                "pool_max": services.pool.get_max_size(),
                "queue_depth": services.batcher.queue_depth(),
                "cache_entries": len(cache),
                "cache_inflight": cache.inflight,
                "computations": cache.stats.computations,
                "rate_limit_keys": len(services.rate_limits.per_client),
            }
        )

    app.add_api_route("/_debug/stats", stats, methods=["GET"], include_in_schema=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encode-ms", type=float, default=0.0, help="cost per text")
    parser.add_argument("--batch-ms", type=float, default=0.0, help="cost per batch")
    parser.add_argument("--job-encode-ms", type=float, default=0.0, help="cost per text in jobs")
    parser.add_argument("--accepted-log", type=Path)
    args = parser.parse_args()
    settings = get_settings()
    configure_logging(settings)  # as ``python -m app serve``: one handler, the app's format
    app = create_app(
        settings,
        encoder=SlowHashingEncoder(args.encode_ms, args.batch_ms),
        # The job worker embeds with the same fake model, so jobs can write to its index.
        job_encoder=lambda: SlowHashingEncoder(args.job_encode_ms, 0.0),
    )
    add_debug_route(app)
    log = args.accepted_log.open("a", encoding="utf-8") if args.accepted_log else None
    uvicorn.run(AcceptedRecorder(app, log), **uvicorn_options(settings))
