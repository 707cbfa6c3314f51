"""What the staff command prints: reports, document lists, status tables and progress lines."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from ingestion.pipeline import IngestReport, Progress

# The command staff type (``python -m ingestion`` works too, from the project's folder).
PROG = "scripts/ingest"


def describe_progress(progress: dict[str, Any]) -> str:
    """A job's progress as staff read it: ``documents 3/10 · chunks 40/120 · 12 embedded``."""
    parts = []
    if progress.get("phase"):
        parts.append(str(progress["phase"]))
    if "documents_total" in progress:
        parts.append(f"documents {progress.get('documents_done', 0)}/{progress['documents_total']}")
    if progress.get("chunks_total") or progress.get("chunks_done"):
        parts.append(f"chunks {progress.get('chunks_done', 0)}/{progress.get('chunks_total', 0)}")
    if progress.get("embedded"):
        parts.append(f"{progress['embedded']} embedded")
    if progress.get("chunks_per_s"):
        parts.append(f"{progress['chunks_per_s']:.0f} chunks/s")
    return " · ".join(parts) or "not started"


def status_lines(properties: list[dict[str, Any]]) -> list[str]:
    """The ``status`` command's output, one property after another."""
    lines: list[str] = []
    for prop in properties:
        lines.append(
            f"{prop['property_id']} ({prop['name']}): live version {prop['live_version'] or '-'}, "
            f"revision {prop['revision']}"
        )
        for v in prop["versions"]:
            lines.append(
                f"  version {v['id']:>4} {v['state']:<8} {v['model']} {v['dim']}-d "
                f"max_tokens={v['chunking'].get('max_tokens')} "
                f"{v['documents']} documents, {v['chunks']} chunks"
            )
        for j in prop["jobs"]:
            when = (j.get("finished_at") or j.get("started_at") or j.get("created_at") or "")[:19]
            line = (
                f"  job {j['job_id']:>4} {j['kind']:<7} {j['state']:<9} "
                f"{when.replace('T', ' ')}  {describe_progress(j['progress'] or {})}"
            )
            lines.append(line + (f"  error: {j['error']}" if j["error"] else ""))
    return lines


def report_lines(report: IngestReport) -> list[str]:
    """The summary of one ingestion; a dry run lists every document it would change."""
    verb = "would be " if report.dry_run else ""
    lines = [
        f"{report.property_id}: {report.added} {verb}added, {report.updated} {verb}updated, "
        f"{report.unchanged} unchanged, {report.removed} {verb}removed, "
        f"{len(report.skipped)} skipped; {report.chunks} chunks, "
        f"{report.embedded} {verb}embedded, {report.reused} reused, in {report.seconds:.1f}s"
    ]
    if report.dry_run or report.removed_keys:
        for sign, keys in (
            ("added", report.added_keys),
            ("updated", report.updated_keys),
            ("removed", report.removed_keys),
        ):
            label = f"{verb}{sign}"
            lines.extend(f"  {label}: {key}" for key in keys)
    return lines


def skipped_lines(report: IngestReport) -> list[str]:
    return [f"  skipped {item.name}: {item.reason}" for item in report.skipped]


def ignored_lines(folders: list[str]) -> list[str]:
    if not folders:
        return []
    return [
        f"  ignored folder {folder} (hidden, a virtual environment or dependencies; "
        "--include-all reads it)"
        for folder in folders
    ]


class ProgressLine:
    """Progress for a terminal (one line redrawn) or a log (a line at most every ``every_s``)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        every_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.clock = clock
        self._last: float | None = None
        self._last_text = ""

    def show(self, text: str) -> None:
        if text == self._last_text:
            return
        if self.stream.isatty():
            print(f"\r  {text}   ", end="", file=self.stream, flush=True)
        else:
            now = self.clock()
            if self._last is not None and now - self._last < self.every_s:
                return
            self._last = now
            print(f"  {text}", file=self.stream, flush=True)
        self._last_text = text

    def ingest(self, state: Progress) -> None:
        self.show(describe_progress(state.as_dict()))

    def end(self) -> None:
        if self._last_text and self.stream.isatty():
            print(file=self.stream)
        self._last_text = ""
