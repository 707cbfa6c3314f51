"""``scripts/eval``: ingest an evaluation set into a scratch database and compare retrieval modes.

With no arguments it evaluates the sample hotels (``data/sample``) with the public question
set (``data/eval/questions.jsonl``) on a fresh database of the embedded server, dropped at
the end. ``--database-url`` uses a given (empty or disposable) database instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import uuid
from collections.abc import Sequence
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

from pydantic import SecretStr

from app.config import PROJECT_ROOT, Settings, get_settings
from app.db.migrate import drop_database, ensure_database, upgrade_to_head
from app.db.pool import create_pool
from app.db.properties import PropertyRegistry
from app.db.server import database_url
from app.embedding.encoder import default_model_path, load_encoder
from app.search.rerank import build_reranker
from app.search.retriever import SearchOptions, embedding_text, search_options
from evaluation.by_language import render_languages
from evaluation.data import (
    DEFAULT_PROPERTY,
    PropertySource,
    Question,
    jsonl_sources,
    load_questions,
    sample_sources,
)
from evaluation.harness import (
    THRESHOLDS,
    Variant,
    VariantResult,
    embed_all,
    run_variant,
    standard_variants,
)
from evaluation.metrics import METRIC_NAMES, recommend_threshold
from evaluation.speed import measure_in_child
from ingestion.chunking import tokenizer_counter
from ingestion.pipeline import Ingestor

DEFAULT_SAMPLE = PROJECT_ROOT / "data" / "sample"
DEFAULT_QUESTIONS = PROJECT_ROOT / "data" / "eval" / "questions.jsonl"
MULTILINGUAL = PROJECT_ROOT / "data" / "eval" / "multilingual"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scripts/eval", description=__doc__)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--documents", type=Path, help="documents JSONL file")
    source.add_argument(
        "--sample-dir",
        type=Path,
        default=DEFAULT_SAMPLE,
        help="folder with properties.json and one folder per property (default data/sample)",
    )
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--database-url", help="use this database instead of a scratch one")
    parser.add_argument("--modes", help="comma-separated variants to run (default: all)")
    parser.add_argument("--depth", type=int, default=10, help="chunks retrieved per question")
    parser.add_argument("--rrf-k", type=int, help="override RAG_RRF_K")
    parser.add_argument("--hybrid-depth", type=int, help="override RAG_HYBRID_DEPTH")
    parser.add_argument("--text-weight", type=float, help="override RAG_HYBRID_TEXT_WEIGHT")
    parser.add_argument("--by-kind", action="store_true", help="also print hit@5 per kind")
    parser.add_argument(
        "--languages",
        action="store_true",
        help="also ask the translated questions (data/eval/multilingual) and print a table per "
        "language; models default to minilm,e5",
    )
    parser.add_argument(
        "--models", help="comma-separated embedding models, each in its own scratch database"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    models = (args.models or ("minilm,e5" if args.languages else settings.embedding_model)).split(
        ","
    )
    if any(m not in ("minilm", "e5") for m in models):
        print("error: --models takes minilm and/or e5", file=sys.stderr)
        return 2
    reports: list[dict[str, object]] = []
    try:
        questions = load_questions(args.questions)
        translated = load_questions(MULTILINGUAL / "questions.jsonl") if args.languages else []
        for model in models:
            scoped = replace_settings(settings, embedding_model=model)
            report = asyncio.run(_evaluate(scoped, args, questions, translated))
            report["model"] = model
            if len(models) > 1 or args.languages:
                report["speed"] = measure_in_child(model)
            reports.append(report)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2))
        return 0
    for report in reports:
        if len(reports) > 1:
            print(f"== model {report['model']} ==")
        print(render(report, by_kind=args.by_kind))
        print()
    if args.languages or len(reports) > 1:
        print(render_languages(reports))
    return 0


def _sources(args: argparse.Namespace) -> list[PropertySource]:
    if args.documents is not None:
        sources = jsonl_sources(args.documents)
    else:
        sources = sample_sources(args.sample_dir)
    if args.languages:
        sources += sample_sources(MULTILINGUAL)
    return sources


async def _scratch_database(settings: Settings, given: str | None) -> tuple[Settings, str]:
    if given is not None:
        scratch = replace_settings(settings, database_url=SecretStr(given))
    else:
        name = f"concierge_eval_{uuid.uuid4().hex[:8]}"
        scratch = replace_settings(settings, database_url=None, database_name=name)
        await ensure_database(scratch)
    url = database_url(scratch)
    await asyncio.to_thread(upgrade_to_head, url)
    return scratch, url


def replace_settings(settings: Settings, **changes: object) -> Settings:
    """A copy of frozen settings with some fields changed."""
    return settings.model_copy(update=changes)


async def _evaluate(
    settings: Settings,
    args: argparse.Namespace,
    questions: list[Question],
    translated: list[Question],
) -> dict[str, object]:
    scratch, url = await _scratch_database(settings, args.database_url)
    try:
        return await _evaluate_in(scratch, url, args, questions, translated)
    finally:
        if args.database_url is None:
            await drop_database(scratch)


async def _evaluate_in(
    settings: Settings,
    url: str,
    args: argparse.Namespace,
    questions: list[Question],
    translated: list[Question],
) -> dict[str, object]:
    encoder = await asyncio.to_thread(load_encoder, settings)
    pool = await create_pool(url, settings)
    try:
        sources = _sources(args)
        ingestor = Ingestor(pool, encoder, tokenizer_counter(default_model_path()))
        chunks = 0
        for source in sources:
            documents, skipped = source.load()
            for item in skipped:
                print(f"skipped {item.name}: {item.reason}", file=sys.stderr)
            report = await ingestor.ingest(source.id, documents, name=source.name)
            chunks += report.chunks
        property_ids = [s.id for s in sources]
        asked = [(q, _property_of(q, property_ids)) for q in questions]
        multilingual = [(q, _property_of(q, property_ids)) for q in translated]
        # English on the same questions as the translations, so the rows compare like for like.
        originals = {q.id.rsplit("-", 1)[0] for q in translated}
        multilingual += [(replace(q, group="en"), p) for q, p in asked if q.id in originals]
        registry = PropertyRegistry(pool, url)
        await registry.reload()

        base = search_options(settings)
        overrides = {
            "rrf_k": args.rrf_k,
            "depth": args.hybrid_depth,
            "text_weight": args.text_weight,
        }
        base = replace(base, **{k: v for k, v in overrides.items() if v is not None})
        variants = standard_variants(base)
        default = Variant("default", base, build_reranker(settings.reranker))
        variants.append(default)
        if args.modes:
            wanted = set(args.modes.split(","))
            variants = [v for v in variants if v.name in wanted]
        texts = [q.text for q, _ in asked + multilingual]
        prepared = [t for v in variants for t in _embedded_texts(v, texts)]
        vectors = await asyncio.to_thread(embed_all, encoder, prepared)
        thresholds = sorted({*THRESHOLDS, settings.answer_threshold})
        results: list[VariantResult] = []
        by_language: dict[str, dict[str, dict[str, float]]] = {}
        for variant in variants:
            run = partial(
                run_variant,
                variant,
                pool,
                settings.exact_search_max_chunks,
                registry,
                vectors=vectors,
                depth=args.depth,
                top_k=settings.top_k,
            )
            results.append(await run(asked, thresholds=thresholds))
            if multilingual:
                by_language[variant.name] = (await run(multilingual, thresholds=())).by_group
    finally:
        await pool.close()
    summary = _report(settings, base, results, questions, chunks)
    summary["by_language"] = by_language
    return summary


def _embedded_texts(variant: Variant, texts: Sequence[str]) -> list[str]:
    return [embedding_text(variant.options, t) for t in texts]


def _property_of(question: Question, property_ids: Sequence[str]) -> str:
    if question.property_id is not None:
        if question.property_id not in property_ids:
            raise ValueError(f"question {question.id}: unknown property {question.property_id!r}")
        return question.property_id
    if len(property_ids) == 1:
        return property_ids[0]
    if DEFAULT_PROPERTY in property_ids:
        return DEFAULT_PROPERTY
    raise ValueError(f"question {question.id} has no property_id and there are several")


def _report(
    settings: Settings,
    base: SearchOptions,
    results: list[VariantResult],
    questions: list[Question],
    chunks: int,
) -> dict[str, object]:
    configured = settings.answer_threshold
    modes = []
    for r in results:
        at_configured = next(p for p in r.thresholds if p.threshold == configured)
        best = recommend_threshold(r.thresholds)
        modes.append(
            {
                "mode": r.name,
                "metrics": r.metrics,
                "latency_ms": {"p50": r.latency_p50_ms, "p99": r.latency_p99_ms},
                "answerable": r.answerable,
                "by_kind": r.by_kind,
                "misses_at_5": r.misses,
                "answer_step": {
                    "configured_threshold": configured,
                    "unanswerable_escalated": at_configured.unanswerable_escalated,
                    "answerable_escalated": at_configured.answerable_escalated,
                    "recommended_threshold": best.threshold,
                    "recommended": asdict(best),
                    "sweep": [asdict(p) for p in r.thresholds],
                },
            }
        )
    return {
        "questions": len(questions),
        "answerable": sum(1 for q in questions if q.gold),
        "unanswerable": sum(1 for q in questions if not q.gold),
        "chunks": chunks,
        "default_options": asdict(base),
        "reranker": settings.reranker,
        "modes": modes,
    }


def render(report: dict[str, object], by_kind: bool = False) -> str:
    """The report as aligned text tables."""
    modes: list[dict[str, object]] = report["modes"]  # type: ignore[assignment]
    lines = [
        f"{report['questions']} questions ({report['answerable']} answerable, "
        f"{report['unanswerable']} unanswerable) over {report['chunks']} chunks",
        "",
        f"{'mode':<15}" + "".join(f"{m:>10}" for m in METRIC_NAMES) + f"{'p50 ms':>9}{'p99 ms':>9}",
    ]
    for m in modes:
        metrics: dict[str, float] = m["metrics"]  # type: ignore[assignment]
        latency: dict[str, float] = m["latency_ms"]  # type: ignore[assignment]
        lines.append(
            f"{m['mode']!s:<15}"
            + "".join(f"{metrics[name]:>10.3f}" for name in METRIC_NAMES)
            + f"{latency['p50']:>9.2f}{latency['p99']:>9.2f}"
        )
    lines += ["", "answer step (extractive writer on the top chunks):"]
    lines.append(
        f"{'mode':<15}{'threshold':>10}{'unans. esc.':>13}{'false esc.':>12}"
        f"{'recommended':>13}{'unans. esc.':>13}{'false esc.':>12}"
    )
    for m in modes:
        step: dict[str, object] = m["answer_step"]  # type: ignore[assignment]
        rec: dict[str, float] = step["recommended"]  # type: ignore[assignment]
        lines.append(
            f"{m['mode']!s:<15}{step['configured_threshold']:>10.2f}"
            f"{step['unanswerable_escalated']:>13.1%}{step['answerable_escalated']:>12.1%}"
            f"{rec['threshold']:>13.2f}{rec['unanswerable_escalated']:>13.1%}"
            f"{rec['answerable_escalated']:>12.1%}"
        )
    if by_kind:
        lines += ["", "hit@5 by kind:"]
        kinds = sorted({k for m in modes for k in m["by_kind"]})  # type: ignore[attr-defined]
        lines.append(f"{'mode':<15}" + "".join(f"{k[:11]:>12}" for k in kinds))
        for m in modes:
            table: dict[str, dict[str, float]] = m["by_kind"]  # type: ignore[assignment]
            lines.append(
                f"{m['mode']!s:<15}"
                + "".join(f"{table.get(k, {}).get('hit@5', 0.0):>12.3f}" for k in kinds)
            )
    return "\n".join(lines)
