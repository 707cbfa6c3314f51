"""``scripts/eval``: ingest evaluation sets into a scratch database, compare retrieval modes
and judge every answer writer's answers.

With no arguments it evaluates the two public sets: the sample hotels (``data/sample`` with
``data/eval/questions.jsonl``) and a guest house and a restaurant written in another style
(``data/eval/second``, with a held-out split reported separately), on a fresh database of the
embedded server, dropped at the end. ``--database-url`` uses a given (empty or disposable)
database instead; ``--documents``/``--sample-dir`` with ``--questions`` evaluate one set of
your own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import asyncpg
from pydantic import SecretStr

from app import languages
from app.answering import meanings
from app.answering.types import AnswerWriter
from app.config import PROJECT_ROOT, Settings, classifier_floors, get_settings
from app.db.migrate import drop_database, ensure_database, upgrade_to_head
from app.db.pool import create_pool
from app.db.properties import PropertyRegistry
from app.db.server import database_url
from app.embedding.encoder import Encoder, default_model_path, load_encoder, vectors_identity
from app.search.rerank import build_reranker
from app.search.retriever import embedding_text, search_options
from app.search.types import SearchOptions
from evaluation import classification
from evaluation.by_language import render_languages
from evaluation.data import (
    DEFAULT_PROPERTY,
    PropertySource,
    Question,
    jsonl_sources,
    load_questions,
    sample_sources,
)
from evaluation.facts_eval import render_facts
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
from evaluation.writers_eval import (
    built_writers,
    evaluate_writers,
    parse_writers,
    render_answers,
)
from ingestion.chunking import tokenizer_counter
from ingestion.pipeline import Ingestor

DEFAULT_SAMPLE = PROJECT_ROOT / "data" / "sample"
DEFAULT_QUESTIONS = PROJECT_ROOT / "data" / "eval" / "questions.jsonl"
SECOND_SET = PROJECT_ROOT / "data" / "eval" / "second"
MULTILINGUAL = PROJECT_ROOT / "data" / "eval" / "multilingual"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scripts/eval", description=__doc__)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--documents", type=Path, help="documents JSONL file")
    source.add_argument(
        "--sample-dir",
        type=Path,
        help="folder with properties.json and one folder per property (default: the public sets)",
    )
    parser.add_argument("--questions", type=Path, help="questions JSONL of that set")
    parser.add_argument(
        "--sets", default="hotels,second", help="public sets to run: hotels, second (default both)"
    )
    parser.add_argument(
        "--writers",
        default="extractive",
        help="answer writers to judge: extractive, local (the in-process model; slow)",
    )
    parser.add_argument(
        "--model-questions",
        type=int,
        default=40,
        help="questions per set a model writer answers (an even spread; default 40)",
    )
    parser.add_argument("--failures", action="store_true", help="list the wrong answers")
    parser.add_argument("--database-url", help="use this database instead of a scratch one")
    parser.add_argument("--modes", help="comma-separated variants to run (default: all)")
    parser.add_argument("--depth", type=int, default=10, help="chunks retrieved per question")
    parser.add_argument("--by-kind", action="store_true", help="also print hit@5 per kind")
    parser.add_argument(
        "--languages",
        action="store_true",
        help="run the multilingual set (the hotels' questions translated, and a German "
        "knowledge base) and print a table per language; models default to minilm,e5",
    )
    parser.add_argument(
        "--models", help="embedding models to compare, each in its own scratch database: minilm,e5"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--classification",
        choices=("also", "only", "no"),
        default="also",
        help="message classification table (data/eval/messages.jsonl): also, only, or no",
    )
    parser.add_argument(
        "--facts-only",
        action="store_true",
        help="only the facts tables (opening-hours parser, time-aware and menu questions)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    report: dict[str, object] = {}
    if args.facts_only:
        print(render_facts())
        return 0
    models = (args.models or ("minilm,e5" if args.languages else settings.embedding_model)).split(
        ","
    )
    if any(m not in ("minilm", "e5") for m in models):
        print("error: --models takes minilm and/or e5", file=sys.stderr)
        return 2
    try:
        reports: list[dict[str, object]] = []
        if args.classification != "only":
            writers = parse_writers(args.writers)
            sets = _sets(args)
            for model in models:
                scoped = replace_settings(settings, embedding_model=model)
                for one in asyncio.run(_evaluate(scoped, args, sets, writers)):
                    one["model"] = model
                    reports.append(one)
                if len(models) > 1:
                    reports[-1]["speed"] = measure_in_child(model)
        if args.classification != "no":
            encoder = load_encoder(settings)
            model = settings.classifier_second_model
            second = None
            if model is not None:  # messages not in English are judged by this model
                multilingual = replace_settings(settings, embedding_model=model)
                second = (load_encoder(multilingual), classifier_floors(model))
            report["classification"] = classification.evaluate(
                encoder,
                classification.load_messages(),
                *settings.classifier_similarities,
                task_similarity=settings.classifier_task_similarity,
                second=second,
            )
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"retrieval": reports, **report} if report else reports, indent=2))
        return 0
    if reports:
        rendered = [render(r, by_kind=args.by_kind, failures=args.failures) for r in reports]
        if len(models) > 1:
            rendered = [
                f"== model {r['model']} {text[3:]}"
                for r, text in zip(reports, rendered, strict=True)
            ]
        print("\n\n".join(rendered))
        if args.languages or len(models) > 1:
            print("\n" + render_languages(reports))
        print("\n" + render_facts())
    if "classification" in report:
        classified = report["classification"]
        assert isinstance(classified, dict)
        print(classification.render(classified))
    return 0


@dataclass(frozen=True, slots=True)
class EvalSet:
    """A named question set and the properties it asks about."""

    name: str
    sources: Callable[[], list[PropertySource]]
    questions: Path
    # Translations of some of ``questions`` (and questions on other properties), reported
    # per language.
    translated: Path | None = None


PUBLIC_SETS = {
    "hotels": EvalSet("hotels", lambda: sample_sources(DEFAULT_SAMPLE), DEFAULT_QUESTIONS),
    "second": EvalSet("second", lambda: sample_sources(SECOND_SET), SECOND_SET / "questions.jsonl"),
    "languages": EvalSet(
        "languages",
        lambda: sample_sources(DEFAULT_SAMPLE) + sample_sources(MULTILINGUAL),
        DEFAULT_QUESTIONS,
        MULTILINGUAL / "questions.jsonl",
    ),
}


def _sets(args: argparse.Namespace) -> list[EvalSet]:
    if args.documents is not None or args.sample_dir is not None:
        if args.questions is None:
            raise ValueError("--documents or --sample-dir needs --questions")
        documents, sample_dir = args.documents, args.sample_dir
        return [
            EvalSet(
                "custom",
                (lambda: jsonl_sources(documents))
                if documents is not None
                else (lambda: sample_sources(sample_dir)),
                args.questions,
            )
        ]
    if args.questions is not None:
        return [EvalSet("custom", lambda: sample_sources(DEFAULT_SAMPLE), args.questions)]
    if args.languages:
        return [PUBLIC_SETS["languages"]]
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    # The multilingual set is run by --languages, which also compares the models.
    choices = [n for n in PUBLIC_SETS if n != "languages"]
    unknown = [n for n in names if n not in choices]
    if unknown or not names:
        raise ValueError(f"unknown set(s) {unknown}; choose from {', '.join(choices)}")
    return [PUBLIC_SETS[n] for n in names]


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
    settings: Settings, args: argparse.Namespace, sets: list[EvalSet], writer_names: list[str]
) -> list[dict[str, object]]:
    scratch, url = await _scratch_database(settings, args.database_url)
    try:
        encoder = await asyncio.to_thread(load_encoder, settings)
        words = None
        if settings.answer_meaning_threshold is not None:  # as python -m app prepare does
            identity = vectors_identity(encoder)
            words = await asyncio.to_thread(
                meanings.compute, encoder.encode, settings.model_cache_dir, identity
            )
        pool = await create_pool(url, settings)
        try:
            async with built_writers(settings, writer_names, words) as writers:
                return [
                    await _evaluate_in(scratch, url, pool, encoder, args, s, writers, words)
                    for s in sets
                ]
        finally:
            await pool.close()
    finally:
        if args.database_url is None:
            await drop_database(scratch)


async def _evaluate_in(
    settings: Settings,
    url: str,
    pool: asyncpg.Pool,
    encoder: Encoder,
    args: argparse.Namespace,
    evalset: EvalSet,
    writers: list[AnswerWriter],
    words: meanings.WordVectors | None = None,
) -> dict[str, object]:
    questions = load_questions(evalset.questions)
    sources = evalset.sources()
    ingestor = Ingestor(pool, encoder, tokenizer_counter(default_model_path()))
    chunks = 0
    for source in sources:
        documents, skipped = source.load()
        for item in skipped:
            print(f"skipped {item.name}: {item.reason}", file=sys.stderr)
        ingested = await ingestor.ingest(source.id, documents, name=source.name)
        chunks += ingested.chunks
    property_ids = [s.id for s in sources]
    asked = [(q, _property_of(q, property_ids)) for q in questions]
    translated = load_questions(evalset.translated) if evalset.translated else []
    multilingual = [(q, _property_of(q, property_ids)) for q in translated]
    # English on the same questions as the translations, so the rows compare like for like.
    originals = {q.id.rsplit("-", 1)[0] for q in translated}
    multilingual += [(replace(q, group="en"), p) for q, p in asked if q.id in originals]
    registry = PropertyRegistry(pool, url)
    await registry.reload()

    base = search_options(settings)
    variants = standard_variants(base)
    default = Variant("default", base, build_reranker(settings.reranker))
    variants.append(default)
    if args.modes:
        wanted = set(args.modes.split(","))
        variants = [v for v in variants if v.name in wanted]
    texts = [q.text for q, _ in asked + multilingual]
    prepared = [t for v in variants for t in _embedded_texts(v, texts)]
    vectors = await asyncio.to_thread(embed_all, encoder, prepared)
    thresholds = sorted({*THRESHOLDS, settings.answer_confident_threshold})
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
            min_score=settings.answer_threshold,
            meanings=words,
            meaning_similarity=settings.answer_meaning_threshold or 1.0,
        )
        results.append(await run(asked, thresholds=thresholds))
        if multilingual:
            by_language[variant.name] = (
                await run(
                    multilingual,
                    thresholds=(),
                    handover_at=settings.answer_confident_threshold,
                    other_language_min_score=settings.answer_other_language_threshold,
                )
            ).by_group
    chosen = next((r for r in results if r.name == "default"), results[0])
    report = _report(settings, base, results, questions, chunks)
    report["set"] = evalset.name
    report["by_language"] = by_language
    report["answers_mode"] = chosen.name
    report["answers"] = await evaluate_writers(writers, chosen.cases, args.model_questions)
    return report


def _embedded_texts(variant: Variant, texts: Sequence[str]) -> list[str]:
    return [embedding_text(variant.options, t, languages.detect(t)) for t in texts]


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
    configured = settings.answer_confident_threshold
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


def render(report: dict[str, object], by_kind: bool = False, failures: bool = False) -> str:
    """The report as aligned text tables."""
    modes: list[dict[str, object]] = report["modes"]  # type: ignore[assignment]
    lines = [
        f"== set {report.get('set', 'custom')}: "
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
    lines += ["", "hand-over (extractive writer on the top chunks; threshold = confident score):"]
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
    if "answers" in report:
        lines += ["", f"answers (writers on the {report['answers_mode']} mode's top chunks):"]
        lines.append(render_answers(report["answers"], failures))  # type: ignore[arg-type]
    if by_kind:
        lines += ["", "hit@1 / hit@5 by kind:"]
        kinds = sorted({k for m in modes for k in m["by_kind"]})  # type: ignore[attr-defined]
        lines.append(f"{'mode':<15}" + "".join(f"{k[:12]:>14}" for k in kinds))
        for m in modes:
            table: dict[str, dict[str, float]] = m["by_kind"]  # type: ignore[assignment]
            cells = [table.get(k, {}) for k in kinds]
            lines.append(
                f"{m['mode']!s:<15}"
                + "".join(
                    f"{c.get('hit@1', 0.0):>8.3f}/{c.get('hit@5', 0.0):.3f}"[-14:].rjust(14)
                    for c in cells
                )
            )
    return "\n".join(lines)
