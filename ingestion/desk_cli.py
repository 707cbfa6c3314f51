"""Staff commands for the front desk: knowledge-gap reports and per-person staff tokens.

``scripts/ingest gaps --property ID [--days 7] [--json]``: the questions guests asked that
were handed over or rated down, grouped by meaning, with counts.
``scripts/ingest staff create NAME --role staff --property ID ...`` prints a new token once
(only its hash is stored); ``staff revoke NAME``; ``staff list``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from app.config import Settings
from app.db.pool import create_pool
from app.db.server import database_url
from app.tasks import gaps, staff


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser(
        "gaps",
        help="what guests asked that the knowledge base could not answer",
        description="Hand-overs and thumbs-down of the period, similar questions grouped.",
    )
    report.add_argument("--property", help="property id (default: every property)")
    report.add_argument("--days", type=float, default=7.0, help="period in days (default 7)")
    report.add_argument("--json", action="store_true", help="print JSON")
    tokens = commands.add_parser(
        "staff",
        help="create, revoke or list staff tokens",
        description="Per-person tokens for the staff console and admin API.",
    )
    actions = tokens.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a token and print it once")
    create.add_argument("name")
    create.add_argument("--role", choices=staff.ROLES, default="staff")
    create.add_argument("--property", action="append", default=[], dest="properties")
    revoke = actions.add_parser("revoke", help="revoke a person's active token")
    revoke.add_argument("name")
    actions.add_parser("list", help="list tokens (never the tokens themselves)")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    pool = await create_pool(await asyncio.to_thread(database_url, settings), settings)
    try:
        async with pool.acquire() as conn:
            if args.command == "gaps":
                scope = [args.property] if args.property else None
                groups = await gaps.report(conn, scope, args.days)
                _print_gaps(groups, args.days, args.json)
                return 0
            if args.action == "create":
                token = await staff.create_token(conn, args.name, args.role, args.properties)
                await staff.audit(conn, "cli", "staff.create", target=args.name, role=args.role,
                                  properties=args.properties)  # fmt: skip
                print(token)
                print(f"token for {args.name} ({args.role}); shown once", file=sys.stderr)
                return 0
            if args.action == "revoke":
                if not await staff.revoke_token(conn, args.name):
                    print(f"error: {args.name} has no active token", file=sys.stderr)
                    return 1
                await staff.audit(conn, "cli", "staff.revoke", target=args.name)
                print(f"revoked the token of {args.name}")
                return 0
            for row in await staff.list_tokens(conn):
                state = "revoked" if row["revoked_at"] else "active"
                props = ",".join(row["properties"]) or "*"
                print(f"{row['name']:<24} {row['role']:<6} {state:<8} {props}")
            return 0
    finally:
        await pool.close()


def _print_gaps(groups: list[dict[str, object]], days: float, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"days": days, "groups": groups}, indent=2, default=str))
        return
    if not groups:
        print(f"no hand-overs or thumbs-down in the last {days:g} days")
        return
    for group in groups:
        print(f"{group['count']:>5}  {group['property_id']:<20} {group['question']}")
