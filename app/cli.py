"""Operator commands: ``python -m app migrate`` and ``python -m app serve``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.config import get_settings
from app.database import database_url, redact
from app.errors import ConciergeError
from app.logs import configure_logging
from app.schema import ensure_database, upgrade_to_head


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="Hotel concierge service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="create the database if needed and apply migrations")
    serve = commands.add_parser("serve", help="serve the API with uvicorn")
    serve.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    if args.command == "migrate":
        asyncio.run(ensure_database(settings))
        url = database_url(settings)
        upgrade_to_head(url)
        print(f"schema at head on {redact(url)}")
        return 0
    import uvicorn

    try:
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=args.workers,
            loop="uvloop",
            http="httptools",
            log_level=settings.log_level,
            access_log=False,  # the app writes its own request log (app/api/telemetry.py)
            log_config=None,  # uvicorn's records go through the app's formatter
            timeout_graceful_shutdown=int(settings.request_timeout_s) + 5,
        )
    except ConciergeError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0
