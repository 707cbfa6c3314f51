"""Operator commands: ``python -m app migrate`` and ``python -m app serve``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from app.config import Settings, get_settings
from app.database import database_url, redact
from app.errors import ConciergeError
from app.schema import ensure_database, upgrade_to_head


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How the API is served: uvloop + httptools, no access log, no ``Server`` header, and a
    graceful shutdown that lets requests in flight finish within their time budget."""
    return {
        "host": settings.host,
        "port": settings.port,
        "loop": "uvloop",
        "http": "httptools",
        "log_level": settings.log_level,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": int(settings.request_timeout_s) + 5,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="Hotel concierge service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="create the database if needed and apply migrations")
    serve = commands.add_parser("serve", help="serve the API with uvicorn")
    serve.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "migrate":
        asyncio.run(ensure_database(settings))
        url = database_url(settings)
        upgrade_to_head(url)
        print(f"schema at head on {redact(url)}")
        return 0
    import uvicorn

    try:
        options = uvicorn_options(settings)
        uvicorn.run("app.main:create_app", factory=True, workers=args.workers, **options)
    except ConciergeError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0
