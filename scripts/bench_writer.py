"""CPU time of the composed answer per question, over the bench corpus's retrieved chunks.

Two steps. ``capture`` starts the embedded PostgreSQL of a bench data folder, retrieves the
chunks of ``--questions`` distinct bench questions as the service would, and writes each
question with its hits to a file. ``time`` reads that file in a fresh process and times the
extractive writer alone on each question (CPU time of this process), so that the chunks are
read for the first time, as in the bench where nearly every retrieved chunk is new::

    PYTHONPATH=scripts .venv/bin/python scripts/bench_writer.py capture \
        --data-dir .data/bench --out /tmp/asks.pickle
    PYTHONPATH=scripts .venv/bin/python scripts/bench_writer.py time --asks /tmp/asks.pickle

``keep`` adds to each hit the form ingestion keeps with the chunk (its words and sentences),
so that ``time`` measures the writer over chunks stored with it. ``time --answers FILE`` also
writes every answer (text, citations, hand-over), so two versions of the writer can be
compared answer for answer.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import pickle
import statistics
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from benchlib.cli import stop_database
from benchlib.corpus_text import questions

from app.answering.types import number_sources
from app.config import Settings
from app.search.types import Hit

DB_NAME = "concierge_bench"
_HIT_FIELDS = tuple(f.name for f in fields(Hit))


async def capture(args: argparse.Namespace) -> None:
    from app.db.server import embedded_server
    from app.rag.service import clean_question
    from app.services import open_services

    data_dir = args.data_dir.resolve()
    settings = Settings(data_dir=data_dir, database_name=DB_NAME, database_url=None)
    database = [await asyncio.to_thread(embedded_server, data_dir)]
    try:
        sizes = json.loads((data_dir / "corpus.json").read_text())["sizes"]
        asks = list(itertools.islice(questions(list(sizes), seed=args.seed), args.questions))
        out: list[tuple[str, str, list[Any]]] = []
        async with open_services(settings) as services:
            rag = services.rag
            for property_id, question in asks:
                prop = await services.registry.get(property_id)
                cleaned = clean_question(question)
                language, _ = rag.phrasings.language_and_key(cleaned, None)
                retrieval = await rag.retriever.retrieve(
                    prop, cleaned, settings.top_k, language=language
                )
                out.append((cleaned, language, list(retrieval.hits)))
        args.out.write_bytes(pickle.dumps(out))
        print(f"{len(out)} questions written to {args.out}", file=sys.stderr)
    finally:
        stop_database(database)


def keep(args: argparse.Namespace) -> None:
    """Adds to each captured hit the form ingestion keeps with its chunk."""
    from dataclasses import replace

    from app.reading import derived_form

    asks: list[tuple[str, str, list[Any]]] = pickle.loads(args.asks.read_bytes())
    kept = [
        (q, lang, [replace(h, derived=derived_form(h.title, h.heading, h.text)) for h in hits])
        for q, lang, hits in asks
    ]
    args.out.write_bytes(pickle.dumps(kept))


def time_writer(args: argparse.Namespace) -> None:
    from app.answering import meanings
    from app.answering.writers import extractive_writer
    from app.embedding.encoder import load_encoder, vectors_identity
    from app.search import spelling

    settings = Settings()
    asks: list[tuple[str, str, list[Any]]] = pickle.loads(args.asks.read_bytes())
    if not spelling.read(settings.model_cache_dir):
        spelling.load()
    words = None
    if settings.answer_meaning_threshold is not None:
        identity = vectors_identity(load_encoder(settings))
        words = meanings.read(settings.model_cache_dir, identity)
    writer = extractive_writer(settings, words)
    spent: list[float] = []
    answers = []
    for question, language, captured in asks[: args.limit]:
        # Hits captured by other code may lack fields added since.
        hits = [
            Hit(**{f: getattr(h, f, None) for f in _HIT_FIELDS if hasattr(h, f)}) for h in captured
        ]
        sources = number_sources(hits)
        began = time.process_time()
        answer = writer.compose(question, sources, language)
        spent.append(time.process_time() - began)
        answers.append((answer.text, answer.citations, answer.escalate))
    if args.answers is not None:
        args.answers.write_text(json.dumps(answers, indent=0))
    ms = sorted(s * 1000 for s in spent)
    print(
        json.dumps(
            {
                "questions": len(ms),
                "cpu_ms_mean": round(statistics.fmean(ms), 3),
                "cpu_ms_p50": round(ms[len(ms) // 2], 3),
                "cpu_ms_p90": round(ms[int(len(ms) * 0.9)], 3),
                "handed_over": sum(1 for a in answers if a[2]),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    steps = parser.add_subparsers(dest="step", required=True)
    cap = steps.add_parser("capture", help="retrieve and write the questions' hits")
    cap.add_argument("--data-dir", type=Path, required=True)
    cap.add_argument("--out", type=Path, required=True)
    cap.add_argument("--questions", type=int, default=2000)
    cap.add_argument("--seed", type=int, default=11)
    kept = steps.add_parser("keep", help="add the kept form of each chunk to captured hits")
    kept.add_argument("--asks", type=Path, required=True)
    kept.add_argument("--out", type=Path, required=True)
    tim = steps.add_parser("time", help="time the extractive writer on captured questions")
    tim.add_argument("--asks", type=Path, required=True)
    tim.add_argument("--limit", type=int, default=None)
    tim.add_argument("--answers", type=Path, default=None, help="write every answer here")
    args = parser.parse_args()
    if args.step == "capture":
        asyncio.run(capture(args))
    elif args.step == "keep":
        keep(args)
    else:
        time_writer(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
