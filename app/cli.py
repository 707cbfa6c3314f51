"""Operator commands: ``python -m app migrate`` and ``python -m app serve``."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from app.config import Settings
from app.db.migrate import ensure_database, upgrade_to_head
from app.db.server import database_url, redact
from app.embedding.cpu_features import PRECISIONS, served_precision
from app.errors import ConciergeError
from app.observability.logs import configure_logging
from app.preflight import check_port
from app.settings_env import ENV_EXAMPLE, SettingsError, env_example, load_settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How the API is served: uvloop + httptools with header, send and connection limits
    (:mod:`app.api.connections`), no access log, no ``Server`` header, and a graceful shutdown
    that lets requests in flight (an upload's reading included) finish within their budget."""
    return {
        "host": settings.host,
        "port": settings.port,
        "loop": "uvloop",
        "http": "app.api.connections:GuardedHttpProtocol",
        "timeout_keep_alive": settings.keep_alive_s,
        "log_level": settings.log_level,
        "access_log": False,  # the app writes its own request log (app/api/telemetry.py)
        "log_config": None,  # uvicorn's records go through the app's formatter
        "server_header": False,
        "timeout_graceful_shutdown": int(
            max(settings.request_timeout_s, settings.ingest_load_timeout_s) + 5
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="Hotel concierge service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="create the database if needed and apply migrations")
    serve = commands.add_parser("serve", help="serve the API with uvicorn")
    serve.add_argument("--workers", type=int, help="worker processes (default: RAG_WORKERS, 1)")
    export = commands.add_parser(
        "export-model", help="export the embedding model to ONNX for the CPU backend"
    )
    export.add_argument("--model", type=Path, help="model folder (default: the packaged one)")
    export.add_argument("--out", type=Path, help="ONNX file (default: in RAG_MODEL_CACHE_DIR)")
    export.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="the graph to write (default: the one RAG_EMBEDDING_PRECISION serves on this "
        "CPU); a served-model folder gets all three",
    )
    export.add_argument("--graph", type=Path, help="the fp32 graph to quantise (with --out)")
    export.add_argument(
        "--bundle",
        type=Path,
        metavar="DIR",
        help="write a served-model folder (graph, tokenizer, configuration) for "
        "RAG_EMBEDDING_MODEL_PATH: all the CPU runtime needs, without torch or the model package",
    )
    commands.add_parser(
        "prepare",
        help="compute what the server would otherwise compute at its first messages (the "
        "multilingual classifier's example vectors) into RAG_MODEL_CACHE_DIR",
    )
    dump = commands.add_parser("backup", help="dump the database to FILE (pg_dump, custom format)")
    dump.add_argument("file", type=Path, metavar="FILE")
    load = commands.add_parser(
        "restore", help="restore a backup into the database (stop the servers first)"
    )
    load.add_argument("file", type=Path, metavar="FILE")
    load.add_argument(
        "--clean", action="store_true", help="drop what the database holds before restoring"
    )
    env = commands.add_parser(
        "env-example", help="print .env.example: every setting at its default, documented"
    )
    env.add_argument("--check", action="store_true", help="fail when .env.example differs")
    args = parser.parse_args(argv)
    if args.command == "env-example":
        return _env_example(args.check)
    try:
        settings = load_settings()
        if args.command == "serve":
            check_port(settings.host, settings.port)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    if args.command in ("backup", "restore"):
        return _backup_or_restore(settings, args)
    if args.command == "export-model":
        precision = args.precision or served_precision(settings.embedding_precision)
        return _export_model(settings, args.model, args.out, args.bundle, precision, args.graph)
    if args.command == "prepare":
        return _prepare(settings)
    if args.command == "migrate":
        asyncio.run(ensure_database(settings))
        url = database_url(settings)
        upgrade_to_head(url)
        print(f"schema at head on {redact(url)}")
        return 0
    import uvicorn

    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again with the handler
    # it found: this one makes that a normal exit (status 0, exit handlers run, so the embedded
    # PostgreSQL stops with its last user) instead of a kill by the signal.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    workers = args.workers or settings.workers
    # Each worker reads its settings from the environment: it learns how many share the cores.
    os.environ["RAG_WORKERS"] = str(workers)
    try:
        options = uvicorn_options(settings)
        uvicorn.run("app.serving:create_app", factory=True, workers=workers, **options)
    except ConciergeError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


def _prepare(settings: Settings) -> int:
    from app.prepare import prepare_multilingual, prepare_spelling, prepare_word_vectors

    try:
        prepared = asyncio.run(prepare_multilingual(settings))
        words = prepare_word_vectors(settings)
        spelling = prepare_spelling(settings)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"spelling lists at {spelling.path} ({spelling.reason})")
    if prepared.path is None:
        print(f"multilingual classifier vectors not needed: {prepared.reason}")
    else:
        print(f"multilingual classifier vectors at {prepared.path} ({prepared.reason})")
    if words.path is None:
        print(f"answer word vectors not needed: {words.reason}")
    else:
        print(f"answer word vectors at {words.path} ({words.reason})")
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _backup_or_restore(settings: Settings, args: argparse.Namespace) -> int:
    import subprocess

    from app.db.backup import backup, restore

    try:
        if args.command == "backup":
            backup(settings, args.file)
            print(f"backup written to {args.file} ({args.file.stat().st_size} bytes)")
        else:
            restore(settings, args.file, clean=args.clean)
            print(f"restored {args.file} into {redact(database_url(settings))}")
    except subprocess.CalledProcessError as exc:
        print(f"error: {args.command} failed: {(exc.stderr or '').strip()[-2000:]}",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def _env_example(check: bool) -> int:
    text = env_example()
    if not check:
        print(text, end="")
        return 0
    if ENV_EXAMPLE.exists() and ENV_EXAMPLE.read_text() == text:
        return 0
    print(f"{ENV_EXAMPLE} is out of date: python -m app env-example > .env.example",
          file=sys.stderr)  # fmt: skip
    return 1


def _export_model(
    settings: Settings,
    model: Path | None,
    out: Path | None,
    bundle: Path | None,
    precision: str,
    graph: Path | None,
) -> int:
    from app.embedding.encoder import default_model_path
    from app.embedding.onnx_export import export_bundle, export_onnx, onnx_model_file
    from app.embedding.onnx_quantize import graph_for, quantize_onnx

    model_path = model or settings.embedding_model_path or default_model_path()
    tokenizer = model_path / "tokenizer.json"
    if graph is not None:
        if out is None or precision == "fp32":
            print(
                "error: --graph quantises: give --precision int8 or mixed, and --out",
                file=sys.stderr,
            )
            return 2
        quantize_onnx(graph, out, tokenizer, precision)
        print(f"{precision} graph at {out}")
        return 0
    if bundle is not None:
        fp32 = export_bundle(model_path, bundle, settings.model_cache_dir, settings.embedding_name)
        made = [fp32]
        for quantised in ("int8", "mixed"):
            made.append(quantize_onnx(fp32, graph_for(fp32, quantised), tokenizer, quantised))
            made[-1].with_suffix(".lock").unlink(missing_ok=True)
        print(f"served-model folder at {bundle} (graphs {', '.join(g.name for g in made)})")
        return 0
    fp32 = onnx_model_file(model_path, settings.model_cache_dir, settings.embedding_name)
    target = out or graph_for(fp32, precision)
    existed = target.exists()
    if precision != "fp32":
        quantize_onnx(export_onnx(model_path, fp32), target, tokenizer, precision)
    else:
        export_onnx(model_path, target)
    print(f"ONNX model {'already at' if existed else 'written to'} {target}")
    return 0
