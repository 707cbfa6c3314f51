"""Time-aware questions at fixed clock times: the hours answer must say what is expected.

The sample hotels' documents are chunked and their opening hours extracted as at ingestion;
each question of ``data/eval/timely.jsonl`` is answered at its ``at`` instant in the hotel's
time zone. A case passes when the answer contains every ``expect`` text (and none of
``reject``); ``expect: null`` means the hours stage must leave the question to the writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from app.config import PROJECT_ROOT
from app.facts.clock import FixedClock, local_now
from app.facts.extract import extract_hours
from app.facts.store import StoredHours
from app.facts.timely import best_rows, compose, wants_hours
from evaluation.samples import SAMPLE, chunked_sample, read_cases, says

DEFAULT_TIMELY_SET = PROJECT_ROOT / "data" / "eval" / "timely.jsonl"


@dataclass(slots=True)
class TimelyReport:
    total: int = 0
    correct: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def sample_hours(sample_dir: Path = SAMPLE) -> dict[str, tuple[str, list[StoredHours]]]:
    """Each sample property's time zone and extracted hours rows."""
    out = {}
    for prop in chunked_sample(sample_dir):
        rows: list[StoredHours] = []
        for document, chunks in prop.documents:
            for row in extract_hours((c.heading, c.text, c.content_hash) for c in chunks):
                rows.append(
                    StoredHours(len(rows) + 1, document.doc_key, row.chunk_hash, row.facility,
                                row.hours, None, None, None, row.source_text)
                )  # fmt: skip
        out[prop.id] = (prop.timezone, rows)
    return out


def answer_at(question: str, zone: str, rows: list[StoredHours], instant: datetime) -> str | None:
    """The hours answer at ``instant`` (None when the writer would answer instead)."""
    if not wants_hours(question):
        return None
    matches = best_rows(question, rows)
    if not matches:
        return None
    now = local_now(FixedClock(instant), zone)
    answer = compose(question, matches, now, list(range(1, len(matches) + 1)))
    return None if answer is None else answer.text


def evaluate_timely(path: Path = DEFAULT_TIMELY_SET) -> TimelyReport:
    hotels = sample_hours()
    report = TimelyReport()
    for case in read_cases(path):
        zone, rows = hotels[case["property"]]
        got = answer_at(case["question"], zone, rows, datetime.fromisoformat(case["at"]))
        expect = case.get("expect")
        ok = got is None if expect is None else says(got, expect, case.get("reject", []))
        report.total += 1
        report.correct += ok
        if not ok:
            report.failures.append((case["question"], case["at"], got or "(no hours answer)"))
    return report


def render_timely(report: TimelyReport) -> str:
    lines = [
        "time-aware questions at fixed clock times:",
        f"{'correct':<10}{report.accuracy:>8.1%}{report.total:>8} questions",
    ]
    lines += [f"  ✗ {q!r} at {at}: {got}" for q, at, got in report.failures]
    return "\n".join(lines)
