"""Every answer writer on the same retrieved chunks, side by side, against the targets.

``extractive`` (the default, composed without a model) always runs; ``local`` loads the
in-process GGUF model (slow on CPUs: opt in with ``--writers extractive,local``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict

from app.answering.meanings import WordVectors
from app.answering.types import AnswerWriter
from app.answering.writers import open_writers
from app.config import Settings
from app.search.types import Hit
from evaluation.answers import ANSWER_METRICS, Case, WriterReport, run_writer
from evaluation.data import Question

WRITERS = ("extractive", "local")

# What the default writer must reach on every public set (rates; counts for defects).
TARGETS: dict[str, tuple[str, float]] = {
    "fact_accuracy": (">=", 0.90),
    "false_handover": ("<=", 0.05),
    "handover_unanswerable": (">=", 0.90),
    "citation_precision": (">=", 0.90),
    "markup": ("<=", 0),
    "duplicates": ("<=", 0),
    "review_voice": ("<=", 0),
    "p99_ms": ("<=", 2.0),
}


def parse_writers(text: str) -> list[str]:
    """Writer names from a comma-separated list; raises ValueError for an unknown one."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in WRITERS]
    if unknown or not names:
        raise ValueError(f"unknown writer(s) {unknown}; choose from {', '.join(WRITERS)}")
    return names


@asynccontextmanager
async def built_writers(
    settings: Settings, names: Sequence[str], meanings: WordVectors | None = None
) -> AsyncIterator[list[AnswerWriter]]:
    """The named writers, built as the service builds them (with the model's word vectors
    ``meanings``), closed at the end."""
    async with AsyncExitStack() as stack:
        out: list[AnswerWriter] = []
        for name in names:
            configured = settings.model_copy(update={"answer_writer": name})
            writers = await stack.enter_async_context(open_writers(configured, meanings))
            out.append(writers.writer)
        yield out


async def evaluate_writers(
    writers: Sequence[AnswerWriter],
    cases: Sequence[tuple[Question, Sequence[Hit]]],
    model_questions: int = 40,
) -> dict[str, dict[str, object]]:
    """Per writer: the figures over all questions, and over the held-out split if any.

    A model writes answers at a few per second on CPUs: it answers an even spread of
    ``model_questions`` questions (the composing writer answers all of them), and the
    composing writer is also reported on that same subset for comparison.
    """
    all_cases = [Case(q, hits) for q, hits in cases]
    step = max(1, -(-len(all_cases) // max(1, model_questions)))
    subset = all_cases[::step]
    held = [c for c in all_cases if c.question.split == "heldout"]
    out: dict[str, dict[str, object]] = {}
    composing_only = all(hasattr(w, "compose") for w in writers)
    for writer in writers:
        model = not hasattr(writer, "compose")
        report = await run_writer(writer, subset if model else all_cases)
        entry: dict[str, object] = asdict(report)
        if model:
            entry["questions"] = len(subset)
        elif held:
            entry["heldout"] = (await run_writer(writer, held)).figures
        if not model and not composing_only:
            entry["subset"] = (await run_writer(writer, subset)).figures
        out[writer.name if writer.name not in out else f"{writer.name}-2"] = entry
    return out


def meets(metric: str, value: float) -> bool:
    op, bound = TARGETS[metric]
    return value >= bound if op == ">=" else value <= bound


def render_answers(answers: dict[str, dict[str, object]], show_failures: bool = False) -> str:
    """Aligned table of the writers' answer metrics, with the targets and held-out rows."""
    heads = {
        "fact_accuracy": "facts",
        "false_handover": "false ho",
        "handover_unanswerable": "ho unans",
        "citation_precision": "cite prec",
        "markup": "markup",
        "duplicates": "dupl",
        "review_voice": "rev voice",
        "mean_chars": "chars",
        "p50_ms": "p50 ms",
        "p99_ms": "p99 ms",
    }
    lines = [f"{'writer':<20}" + "".join(f"{heads[m]:>10}" for m in ANSWER_METRICS)]

    def row(label: str, figures: dict[str, float]) -> str:
        cells = []
        for m in ANSWER_METRICS:
            value = figures.get(m, 0.0)
            mark = "" if m not in TARGETS else (" " if meets(m, value) else "!")
            text = (
                f"{value:.3f}"
                if value < 10 and m not in ("markup", "duplicates", "review_voice")
                else f"{value:.0f}"
            )
            if m.endswith("_ms"):
                text = f"{value:.2f}" if value < 100 else f"{value:.0f}"
            cells.append(f"{text + mark:>10}")
        extra = ""
        if "ttft_p50_ms" in figures:
            extra += f"  ttft p50/p95 {figures['ttft_p50_ms']:.0f}/{figures['ttft_p95_ms']:.0f} ms"
        if "generation_p50_ms" in figures:
            extra += (
                f"  generation p50/p95 {figures['generation_p50_ms']:.0f}/"
                f"{figures['generation_p95_ms']:.0f} ms"
            )
        if "fallbacks" in figures:
            reasons = ", ".join(
                f"{key.removeprefix('fallback_')} {value:.0f}"
                for key, value in sorted(figures.items())
                if key.startswith("fallback_")
            )
            extra += f"  {figures['fallbacks']:.0f} fell back to extractive ({reasons})"
        return f"{label:<20}" + "".join(cells) + extra

    for name, entry in answers.items():
        figures: dict[str, float] = entry["figures"]  # type: ignore[assignment]
        label = name if "questions" not in entry else f"{name} ({entry['questions']} q)"
        lines.append(row(label, figures))
        if "heldout" in entry:
            lines.append(row(f"  {name} held-out", entry["heldout"]))  # type: ignore[arg-type]
        if "subset" in entry:
            lines.append(row(f"  {name} same q", entry["subset"]))  # type: ignore[arg-type]
    target_text = ", ".join(f"{heads[m]} {op} {bound:g}" for m, (op, bound) in TARGETS.items())
    lines.append(f"targets (! = missed): {target_text}")
    if show_failures:
        for name, entry in answers.items():
            failures: list[str] = entry["failures"]  # type: ignore[assignment]
            lines += [f"{name}: {len(failures)} wrong answers"] + [f"  {f}" for f in failures]
    return "\n".join(lines)


__all__ = ["WriterReport", "built_writers", "evaluate_writers", "parse_writers", "render_answers"]
