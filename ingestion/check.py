"""``scripts/ingest check``: after loading a knowledge base, staff run the questions guests ask
most and read every answer, its source and any hand-over in one table.

This command bridges to the serving side on purpose (like the job worker): it opens the same
services as a server (model, retrieval, answer writer) and answers through
:func:`app.rag.batch.answer_all`, so what it prints is what guests would get.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from app.config import Settings
from app.rag.batch import CheckedAnswer

COLUMNS = (("#", 3), ("question", 34), ("answer", 48), ("source", 26), ("hand-over", 16))


def read_questions(path: Path, limit: int) -> list[str]:
    """One question per line; blank lines and lines starting with ``#`` are skipped."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()]
    questions = [line for line in lines if line and not line.startswith("#")]
    if not questions:
        raise ValueError(f"{path}: no questions (one per line)")
    if len(questions) > limit:
        raise ValueError(
            f"{path}: {len(questions)} questions, at most {limit} (RAG_ADMIN_BATCH_MAX_QUESTIONS)"
        )
    return questions


def _cell(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return textwrap.shorten(flat, width, placeholder="…") if flat else "-"


def table(results: list[CheckedAnswer]) -> list[str]:
    """The results as a fixed-width table, one row per question, and a summary line."""
    header = "  ".join(name.ljust(width) for name, width in COLUMNS).rstrip()
    lines = [header, "  ".join("-" * width for _, width in COLUMNS)]
    for number, result in enumerate(results, start=1):
        cited = [s for s in result.sources if s.cited] or result.sources[:1]
        source = cited[0].document_id if cited else "-"
        handover = "no" if not result.escalate else (result.handover or "yes")
        answer = f"error: {result.error}" if result.error else result.answer
        cells = (str(number), result.question, answer, source, handover)
        lines.append(
            "  ".join(
                _cell(text, width).ljust(width)
                for text, (_, width) in zip(cells, COLUMNS, strict=True)
            ).rstrip()
        )
    answered = sum(1 for r in results if not r.escalate and not r.error)
    handed = sum(1 for r in results if r.escalate)
    failed = sum(1 for r in results if r.error)
    lines.append(
        f"{len(results)} questions: {answered} answered, {handed} handed over to staff, "
        f"{failed} failed"
    )
    return lines


async def run_check(
    settings: Settings, property_id: str, questions: list[str], as_json: bool
) -> list[str]:
    """Answer ``questions`` as the server would and return the lines to print."""
    from app.rag.batch import answer_all
    from app.services import open_services

    async with open_services(settings) as services:
        results = await answer_all(
            services.rag,
            property_id,
            questions,
            settings.top_k,
            settings.request_timeout_s,
            settings.admin_batch_timeout_s,
        )
    if as_json:
        return [json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False)]
    return table(results)
