"""Staff command line: ``scripts/ingest ingest|sync|reindex|delete|status|sample``.

``scripts/ingest`` runs ``python -m ingestion -C <the caller's folder>`` from the project's folder,
so relative paths are read from where staff typed the command.

Exit status: 0 done, 1 failed, 2 bad usage, 3 done but some files were skipped (listed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections import defaultdict
from pathlib import Path

import asyncpg

from app.config import Settings
from app.db.migrate import check_schema, embedding_dim
from app.db.pool import create_pool
from app.db.server import database_url
from app.embedding.encoder import default_model_path, load_encoder
from app.errors import ConciergeError, PropertyNotFound
from app.settings_env import SettingsError, load_settings
from ingestion import derive, desk_cli, facts_cli, jobs, shadow_report, store
from ingestion.check import read_questions, run_check
from ingestion.cli_output import (
    PROG,
    ProgressLine,
    describe_progress,
    ignored_lines,
    report_lines,
    skipped_lines,
    status_lines,
)
from ingestion.documents import PROPERTY_ID, Document, load_files, load_paths, scan
from ingestion.embedder import LazyEncoder, model_max_tokens
from ingestion.pipeline import Ingestor, IngestReport
from ingestion.reindex import purge_versions, versions
from ingestion.runner import JobRunner, worker_name
from ingestion.sandbox import LoadLimits
from ingestion.worker import build_ingestor

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SKIPPED = 0, 1, 2, 3
_FORMATS = ".md .markdown .txt .html .htm .pdf .docx .csv .json (FAQ) .jsonl"


def _property_id(value: str) -> str:
    if not PROPERTY_ID.match(value):
        raise argparse.ArgumentTypeError(
            "property ids use lowercase letters, digits, '-' and '_' (at most 64)"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Load hotel knowledge into the concierge's index.",
        epilog="Exit status: 0 done, 1 failed, 2 bad usage, 3 done but some files were skipped.",
    )
    parser.add_argument(
        "-C",
        "--directory",
        type=Path,
        default=Path.cwd(),
        metavar="DIR",
        help="read relative paths from DIR (default: the current folder)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, description=description)

    for name, sync in (("ingest", False), ("sync", True)):
        cmd = add(
            name,
            "add or update files and folders" if not sync else "make a property match a folder",
            f"Read files or folders ({_FORMATS}) into a property. Unchanged documents cost "
            "nothing; a changed one re-embeds only its changed chunks."
            + (" Documents no longer in the folder are removed." if sync else ""),
        )
        cmd.add_argument("--property", required=True, type=_property_id, help="property id")
        cmd.add_argument("--name", help="the property's display name (creates or renames it)")
        if not sync:
            cmd.add_argument(
                "--sync", action="store_true", help="also remove documents no longer present"
            )
        cmd.add_argument(
            "--dry-run",
            action="store_true",
            help="list each document that would be added, updated or removed; write nothing",
        )
        cmd.add_argument(
            "--include-all",
            action="store_true",
            help="also read hidden folders, virtual environments, node_modules and __pycache__",
        )
        cmd.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        if sync:
            cmd.set_defaults(sync=True)

    reindex = add(
        "reindex",
        "rebuild a property's index beside the live one and switch to it",
        "Build a new index version (current model, chunking settings below) while guests are "
        "answered from the live one; switch in one transaction; delete the old version after "
        "a grace period. A failed or killed re-index leaves the live version as it was; "
        "--retry JOB resumes it.",
    )
    reindex.add_argument("--property", required=True, type=_property_id, help="property id")
    reindex.add_argument(
        "--max-tokens", type=int, help="chunk size limit (default: the live version's)"
    )
    reindex.add_argument("--retry", type=int, metavar="JOB", help="resume a failed re-index job")
    reindex.add_argument("--dry-run", action="store_true", help="show the plan, build nothing")
    reindex.add_argument(
        "--candidate",
        action="store_true",
        help="keep the new version beside the live one as a candidate for shadow mode "
        "(RAG_SHADOW_SHARE) instead of switching to it",
    )
    shadow = add(
        "shadow-report",
        "compare a property's candidate version with the live one on sampled live questions",
        "For the questions shadow mode ran against the candidate: how often the top source and "
        "the hand-over decision agree, the questions where they differ, and the latency of both.",
    )
    shadow.add_argument("--property", required=True, type=_property_id, help="property id")
    shadow.add_argument("--limit", type=int, default=200, help="newest runs to compare")
    shadow.add_argument("--json", action="store_true", help="machine-readable output")

    delete = add(
        "delete",
        "delete documents, or a whole property",
        "Delete documents by id from a property's live index, or the property itself.",
    )
    delete.add_argument("--property", required=True, type=_property_id, help="property id")
    delete.add_argument("--everything", action="store_true", help="delete the property itself")
    delete.add_argument("--dry-run", action="store_true", help="show what would be deleted")
    delete.add_argument("doc_ids", nargs="*", metavar="DOC_ID")

    status = add(
        "status", "show properties, index versions and jobs", "Show the index and recent jobs."
    )
    status.add_argument("--property", type=_property_id, help="only this property")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    check = add(
        "check",
        "answer a file of questions as guests would get them, in one table",
        "Answer each question of QUESTIONS (one per line, # for comments) from the property's "
        "live index, as the server would, and print the answer, its source and whether the "
        "guest would be handed over to staff. Creates no staff task.",
    )
    check.add_argument("--property", required=True, type=_property_id, help="property id")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("questions", type=Path, metavar="QUESTIONS")

    derive_chunks = add(
        "derive",
        "write what answers read from each chunk, where it is missing or out of date",
        "Chunks written before the answer writer kept its reading of them (or by another "
        "version of it) are answered from their text, read at each question; this writes "
        "their reading once, as ingestion does for new chunks.",
    )
    derive_chunks.add_argument("--property", type=_property_id, help="only this property")

    desk_cli.add_commands(commands)
    facts_cli.add_commands(add)
    sample = add("sample", "load the sample hotels shipped in data/sample", "Load sample hotels.")
    sample.add_argument(
        "--if-empty", action="store_true", help="do nothing when any property already exists"
    )
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parsed arguments, with paths resolved from ``-C`` (the folder staff typed them in)."""
    args = parser.parse_args(argv)
    if hasattr(args, "paths"):
        args.paths = [resolve(args.directory, p) for p in args.paths]
    if args.command == "check":
        args.questions = resolve(args.directory, args.questions)
    return args


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command in ("ingest", "sync"):
            missing = [str(p) for p in args.paths if not p.exists()]
            if missing:
                print(f"error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
                return EXIT_USAGE
            return asyncio.run(_ingest(settings, args))
        if args.command == "reindex":
            return asyncio.run(_reindex(settings, args))
        if args.command == "derive":
            return asyncio.run(_derive(settings, args.property))
        if args.command == "shadow-report":
            return asyncio.run(_shadow_report(settings, args))
        if args.command == "delete":
            if not args.everything and not args.doc_ids:
                parser.error("delete needs DOC_ID... or --everything")
            return asyncio.run(_delete(settings, args))
        if args.command == "check":
            try:
                questions = read_questions(args.questions, settings.admin_batch_max_questions)
            except (OSError, ValueError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return EXIT_USAGE
            lines = asyncio.run(run_check(settings, args.property, questions, args.json))
            print("\n".join(lines))
            return EXIT_OK
        if args.command in ("gaps", "staff"):
            return asyncio.run(desk_cli.run(settings, args))
        if args.command == "status":
            return asyncio.run(_status(settings, args.property, args.json))
        if args.command in ("hours", "clock"):
            return asyncio.run(_facts(settings, args))
        return asyncio.run(_sample(settings, args.if_empty))
    except ConciergeError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        print(f"error: the database failed: {_database_error(exc)}", file=sys.stderr)
        print("the live index is unchanged by what did not finish", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted: the live index is unchanged by what did not finish", file=sys.stderr)
        return EXIT_FAILED


def _database_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "it did not answer in time (RAG_INGEST_COMMAND_TIMEOUT_S, RAG_DB_ACQUIRE_TIMEOUT_S)"
    return f"{type(exc).__name__}: {exc}".strip()


def resolve(directory: Path, path: Path) -> Path:
    """``path`` as typed by staff in ``directory`` (``-C``)."""
    return path if path.is_absolute() else directory.expanduser() / path


async def _pool(settings: Settings) -> tuple[asyncpg.Pool, str]:
    url = await asyncio.to_thread(database_url, settings)
    # Bulk writes (a large file's chunks in one COPY) take longer than a guest's query.
    return await create_pool(url, settings, settings.ingest_command_timeout_s), url


async def _open(settings: Settings) -> Ingestor:
    """Open the pool and check the schema; the model itself loads only if something changed."""
    pool, url = await _pool(settings)
    model_path = settings.embedding_model_path or default_model_path()
    try:
        async with pool.acquire() as conn:
            dim = await embedding_dim(conn)
            await check_schema(conn, dim, url)
    except BaseException:
        await pool.close()
        raise
    encoder = LazyEncoder(
        settings.embedding_name,
        dim,
        model_max_tokens(model_path),
        lambda: load_encoder(settings),
    )
    return build_ingestor(pool, settings, encoder, for_jobs=False, progress=_PROGRESS.ingest)


_PROGRESS = ProgressLine()


def _by_property(documents: list[Document], default: str) -> dict[str, list[Document]]:
    groups: dict[str, list[Document]] = defaultdict(list)
    groups[default] = []
    for document in documents:
        groups[document.property_id or default].append(document)
    return groups


async def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    found = scan(args.paths, args.include_all)
    documents, unreadable = load_files(
        found.files, settings.ingest_max_file_bytes, LoadLimits.from_settings(settings)
    )
    skipped = found.unsupported + unreadable
    for line in ignored_lines(found.ignored):
        print(line, file=sys.stderr)
    ingestor = await _open(settings)
    status = EXIT_OK
    try:
        for property_id, group in _by_property(documents, args.property).items():
            main_property = property_id == args.property
            report = await ingestor.ingest(
                property_id,
                group,
                name=args.name if main_property else None,
                skipped=skipped if main_property else (),
                # Lines of a JSONL file naming another property add to it, never prune it.
                sync=args.sync and main_property,
                dry_run=args.dry_run,
            )
            _print_report(report)
            status = EXIT_SKIPPED if report.skipped else status
    finally:
        await ingestor.pool.close()
    return status


async def _reindex(settings: Settings, args: argparse.Namespace) -> int:
    ingestor = await _open(settings)
    pool = ingestor.pool
    worker = worker_name("cli")
    try:
        async with pool.acquire() as conn:
            await jobs.reap_stale(conn, settings.job_stale_after_s, settings.job_max_attempts)
            live = await store.live_version(conn, args.property)
            if live is None:
                print(f"error: {args.property} has no index yet: ingest first", file=sys.stderr)
                return EXIT_FAILED
            if args.dry_run:
                docs = len(await store.stored_documents(conn, live.id))
                print(
                    f"{args.property}: would rebuild version {live.id} ({live.model}, "
                    f"{json.dumps(live.chunking)}, {docs} documents) with "
                    f"{ingestor.encoder.name} and max_tokens "
                    f"{args.max_tokens or live.chunking.get('max_tokens') or 'default'}"
                )
                return EXIT_OK
            async with conn.transaction():
                if args.retry is not None:
                    previous = await jobs.get(conn, args.retry)
                    if previous.property_id != args.property or previous.kind != "reindex":
                        print(f"error: job {args.retry} is not a re-index of {args.property}",
                              file=sys.stderr)  # fmt: skip
                        return EXIT_USAGE
                    # A job queued again after its worker died is resumed here as well.
                    if previous.state != "queued":
                        await jobs.retry(conn, args.retry)
                    job_id = previous.id
                else:
                    params: dict[str, object] = (
                        {"max_tokens": args.max_tokens} if args.max_tokens else {}
                    )
                    if args.candidate:
                        params["candidate"] = True
                    job_id = await jobs.enqueue(
                        conn, "reindex", args.property, params, requested_by=worker
                    )
                job = await jobs.claim(conn, worker, job_id)
            if job is None:
                print(f"error: another job is running for {args.property}", file=sys.stderr)
                return EXIT_FAILED
        print(f"job {job.id}: re-indexing {args.property}", file=sys.stderr)
        runner = JobRunner(
            pool,
            lambda: ingestor,
            worker,
            heartbeat_s=settings.job_heartbeat_s,
            retire_grace_s=settings.retire_grace_s,
            group_documents=8,
        )
        watch = asyncio.create_task(_watch(pool, job.id))
        try:
            done = await runner.run(job)
        finally:
            watch.cancel()
        _PROGRESS.end()
        if done.state != "succeeded":
            print(f"job {done.id} failed: {done.error}", file=sys.stderr)
            print(f"  retry with: {PROG} reindex --property {args.property} --retry {done.id}",
                  file=sys.stderr)  # fmt: skip
            return EXIT_FAILED
        state = "kept as the candidate" if args.candidate else "live"
        print(
            f"{args.property}: version {done.target_version} is {state} "
            f"({done.progress.get('documents_total', 0)} documents, "
            f"{done.progress.get('chunks_done', 0)} chunks, {done.progress.get('embedded', 0)} "
            f"embedded) [job {done.id}]",
            flush=True,
        )
        await _retire(pool, args.property, settings.retire_grace_s)
    finally:
        await pool.close()
    return EXIT_OK


async def _watch(pool: asyncpg.Pool, job_id: int, every_s: float = 1.0) -> None:
    """Show a running job's progress, as its heartbeats record it."""
    while True:
        await asyncio.sleep(every_s)
        async with pool.acquire() as conn:
            job = await jobs.get(conn, job_id)
        _PROGRESS.show(describe_progress(job.progress))


async def _derive(settings: Settings, property_id: str | None) -> int:
    pool, _ = await _pool(settings)
    try:
        async with pool.acquire() as conn:
            written = await derive.fill(
                conn,
                property_id,
                progress=lambda n: print(f"  {n} chunks written", file=sys.stderr, flush=True),
            )
            if written:
                await derive.settle(conn, property_id)
    finally:
        await pool.close()
    print(f"{written} chunks written")
    return EXIT_OK


async def _shadow_report(settings: Settings, args: argparse.Namespace) -> int:
    pool, _ = await _pool(settings)
    try:
        print(await shadow_report.report(pool, args.property, args.limit, args.json))
    finally:
        await pool.close()
    return EXIT_OK


async def _retire(pool: asyncpg.Pool, property_id: str, grace_s: float) -> None:
    """Delete the versions a re-index retired, once answers in flight no longer read them."""
    if grace_s > 0:
        print(
            f"  deleting the old version in {grace_s:.0f} s (answers in flight finish first; "
            "RAG_RETIRE_GRACE_S)",
            file=sys.stderr,
            flush=True,
        )
        await asyncio.sleep(grace_s)
    async with pool.acquire() as conn:
        purged = await purge_versions(conn, property_id, grace_s)
    print(f"  deleted {purged} old version(s)", file=sys.stderr)


async def _delete(settings: Settings, args: argparse.Namespace) -> int:
    pool, _ = await _pool(settings)
    try:
        async with pool.acquire() as conn, conn.transaction():
            if args.everything:
                if not await store.delete_property(conn, args.property, dry_run=args.dry_run):
                    print(f"error: no property {args.property}", file=sys.stderr)
                    return EXIT_FAILED
                verb = "would delete" if args.dry_run else "deleted"
                print(f"{verb} property {args.property} and all its versions")
                return EXIT_OK
            try:
                deletion = await store.delete_live_documents(
                    conn, args.property, args.doc_ids, dry_run=args.dry_run
                )
            except PropertyNotFound:
                print(f"error: no property {args.property}", file=sys.stderr)
                return EXIT_FAILED
            for k in deletion.missing:
                print(f"  not found: {k}", file=sys.stderr)
            status = EXIT_FAILED if deletion.missing else EXIT_OK
            if args.dry_run or deletion.version_id is None:
                print(f"{args.property}: would delete {len(deletion.found)} documents")
                return status
            print(f"{args.property}: deleted {deletion.deleted} documents")
            return status
    finally:
        await pool.close()


async def _status(settings: Settings, property_id: str | None, as_json: bool) -> int:
    pool, _ = await _pool(settings)
    try:
        async with pool.acquire() as conn:
            await jobs.reap_stale(conn, settings.job_stale_after_s, settings.job_max_attempts)
            rows = await store.properties(conn, property_id)
            if property_id is not None and not rows:
                print(f"error: no property {property_id}", file=sys.stderr)
                return EXIT_FAILED
            out = []
            for r in rows:
                out.append(
                    {
                        "property_id": r.id,
                        "name": r.name,
                        "live_version": r.live_version,
                        "revision": r.revision,
                        "versions": await versions(conn, r.id),
                        "jobs": [
                            j.public() for j in await jobs.search(conn, property_id=r.id, limit=5)
                        ],
                    }
                )
    finally:
        await pool.close()
    if as_json:
        print(json.dumps(out, indent=2, default=str))
        return EXIT_OK
    if not out:
        print(f"no properties yet: load one with {PROG} ingest --property ID --name NAME FOLDER")
    for line in status_lines(out):
        print(line)
    return EXIT_OK


async def _has_properties(settings: Settings) -> bool:
    url = await asyncio.to_thread(database_url, settings)
    conn = await asyncpg.connect(url)
    try:
        return await store.has_properties(conn)
    finally:
        await conn.close()


async def _facts(settings: Settings, args: argparse.Namespace) -> int:
    pool, _ = await _pool(settings)
    try:
        async with pool.acquire() as conn:
            if args.command == "hours":
                return await facts_cli.run_hours(conn, args, worker_name("cli"))
            if not await facts_cli.set_clock(conn, args.property, args.timezone, args.locale):
                print(f"error: no property {args.property}", file=sys.stderr)
                return EXIT_FAILED
            print(f"{args.property}: time zone {args.timezone}")
            return EXIT_OK
    finally:
        await pool.close()


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
        async with ingestor.pool.acquire() as conn:
            for entry in entries:
                await purge_versions(conn, entry["id"], settings.retire_grace_s)
                if "timezone" in entry:
                    await facts_cli.set_clock(
                        conn, entry["id"], entry["timezone"], entry.get("locale")
                    )
    finally:
        await ingestor.pool.close()
    return status


def _print_report(report: IngestReport) -> None:
    _PROGRESS.end()
    for line in report_lines(report):
        print(line)
    for line in skipped_lines(report):
        print(line, file=sys.stderr)
