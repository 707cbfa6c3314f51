"""Staff command line: ``python -m ingestion ingest --property ID [--name NAME] PATH...``.

Exit status: 0 all files ingested, 3 some files were skipped (listed), 1 failure, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
from pathlib import Path

import asyncpg

from app.config import Settings, get_settings
from app.database import database_url
from app.db import create_pool
from app.embedding import default_model_path, load_encoder
from app.errors import ConciergeError
from app.schema import check_schema
from ingestion.chunking import tokenizer_counter
from ingestion.documents import load_paths
from ingestion.pipeline import Ingestor, IngestReport

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SKIPPED = 0, 1, 2, 3
_PROPERTY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _property_id(value: str) -> str:
    if not _PROPERTY_ID.match(value):
        raise argparse.ArgumentTypeError(
            "property ids use lowercase letters, digits, '-' and '_' (at most 64)"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion", description="Load hotel knowledge into the concierge's index."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    ingest = commands.add_parser(
        "ingest",
        help="ingest files or folders (.md, .txt, .jsonl) into one property",
        description="Ingest files or folders into a property. A document whose id already "
        "exists is replaced; unchanged documents are skipped without re-embedding.",
    )
    ingest.add_argument("--property", required=True, type=_property_id, help="property id")
    ingest.add_argument("--name", help="the property's display name (creates or renames it)")
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    sample = commands.add_parser("sample", help="load the sample hotels shipped in data/sample")
    sample.add_argument(
        "--if-empty", action="store_true", help="do nothing when any property already exists"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    try:
        if args.command == "ingest":
            missing = [str(p) for p in args.paths if not p.exists()]
            if missing:
                print(f"error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
                return EXIT_USAGE
            return asyncio.run(_ingest(settings, args.property, args.name, args.paths))
        return asyncio.run(_sample(settings, args.if_empty))
    except ConciergeError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_FAILED


async def _open(settings: Settings) -> Ingestor:
    url = await asyncio.to_thread(database_url, settings)
    pool = await create_pool(url, settings)
    try:
        encoder = await asyncio.to_thread(load_encoder, settings)
        async with pool.acquire() as conn:
            await check_schema(conn, encoder.dim, url)
    except BaseException:
        await pool.close()
        raise
    counter = tokenizer_counter(settings.embedding_model_path or default_model_path())
    return Ingestor(pool, encoder, counter, progress=_progress)


def _progress(message: str) -> None:
    if sys.stderr.isatty():
        print(f"\r  {message}", end="", file=sys.stderr, flush=True)


async def _ingest(settings: Settings, property_id: str, name: str | None, paths: list[Path]) -> int:
    documents, skipped = load_paths(paths)
    ingestor = await _open(settings)
    try:
        report = await ingestor.ingest(property_id, documents, name=name, skipped=skipped)
    finally:
        await ingestor.pool.close()
    _print_report(report)
    return EXIT_SKIPPED if report.skipped else EXIT_OK


async def _has_properties(settings: Settings) -> bool:
    url = await asyncio.to_thread(database_url, settings)
    conn = await asyncpg.connect(url)
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM properties"))
    finally:
        await conn.close()


async def _sample(settings: Settings, if_empty: bool) -> int:
    if if_empty and await _has_properties(settings):
        print("sample data: the database already has properties; nothing to load")
        return EXIT_OK
    entries = json.loads((settings.sample_data_dir / "properties.json").read_text())
    ingestor = await _open(settings)
    status = EXIT_OK
    try:
        for entry in entries:
            documents, skipped = load_paths([settings.sample_data_dir / entry["folder"]])
            report = await ingestor.ingest(
                entry["id"], documents, name=entry["name"], skipped=skipped
            )
            _print_report(report)
            status = EXIT_SKIPPED if report.skipped else status
    finally:
        await ingestor.pool.close()
    return status


def _print_report(report: IngestReport) -> None:
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(
        f"{report.property_id}: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.skipped)} skipped; "
        f"{report.chunks} chunks written, {report.embedded} embedded in {report.seconds:.1f}s"
    )
    for item in report.skipped:
        print(f"  skipped {item.name}: {item.reason}", file=sys.stderr)
