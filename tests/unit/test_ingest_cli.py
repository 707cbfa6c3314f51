"""The staff command as a new user meets it: paths from the folder they type in, no dependency
folders read by accident, every skipped file listed, readable status and progress."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT
from ingestion.cli import build_parser, parse_args
from ingestion.cli_output import ProgressLine, describe_progress, report_lines, status_lines
from ingestion.documents import scan
from ingestion.pipeline import IngestReport


def _tree(root: Path) -> None:
    for name in (
        "rooms.md",
        "dining/restaurant.html",
        ".venv/lib/site.md",
        "env/pyvenv.cfg",
        "env/lib/readme.md",
        "node_modules/pkg/README.md",
        "__pycache__/x.txt",
        ".git/notes.txt",
        ".hidden.md",
        "prices.xlsx",
    ):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# Title\n\ntext\n")


def test_hidden_virtualenv_and_dependency_folders_are_not_read(tmp_path: Path) -> None:
    _tree(tmp_path)
    found = scan([tmp_path])
    assert [key for _, key in found.files] == ["dining/restaurant.html", "rooms.md"]
    assert sorted(Path(f).name for f in found.ignored) == [
        ".git", ".venv", "__pycache__", "env", "node_modules",
    ]  # fmt: skip
    assert [(s.key, s.reason.split(" (")[0]) for s in found.unsupported] == [
        ("prices.xlsx", "unsupported file type .xlsx")
    ]


def test_include_all_reads_every_folder(tmp_path: Path) -> None:
    _tree(tmp_path)
    keys = {key for _, key in scan([tmp_path], include_all=True).files}
    assert {".venv/lib/site.md", "node_modules/pkg/README.md", ".hidden.md"} <= keys
    assert "__pycache__/x.txt" in keys


def test_relative_paths_are_read_from_the_callers_folder(tmp_path: Path) -> None:
    argv = ["-C", str(tmp_path), "ingest", "--property", "h", "docs", "/abs/faq.md"]
    args = parse_args(build_parser(), argv)
    assert args.paths == [tmp_path / "docs", Path("/abs/faq.md")]


def test_scripts_ingest_passes_the_callers_folder(tmp_path: Path) -> None:
    """The wrapper changes to the project's folder; the command still sees the caller's."""
    repo, caller = tmp_path / "repo", tmp_path / "elsewhere"
    (repo / "scripts").mkdir(parents=True)
    (repo / ".venv" / "bin").mkdir(parents=True)
    caller.mkdir()
    shutil.copy(PROJECT_ROOT / "scripts" / "ingest", repo / "scripts" / "ingest")
    (repo / "scripts" / "env.sh").write_text("")
    stub = "#!/bin/sh\nexit 0\n"
    (repo / "scripts" / "setup").write_text(stub)
    (repo / ".venv" / "bin" / "python").write_text('#!/bin/sh\necho "$PWD|$*"\n')
    for path in (repo / "scripts" / "setup", repo / ".venv" / "bin" / "python"):
        path.chmod(0o755)
    out = subprocess.run(
        ["bash", str(repo / "scripts" / "ingest"), "ingest", "--dry-run", "./"],
        cwd=caller,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    ).stdout.strip()
    cwd, args = out.split("|")
    assert Path(cwd).resolve() == repo.resolve()
    assert args == f"-m ingestion -C {caller} ingest --dry-run ./"


def test_help_names_the_command_people_type(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: scripts/ingest ")
    assert "python -m ingestion" not in out


def test_dry_run_lists_each_document() -> None:
    report = IngestReport(
        "h", dry_run=True, added_keys=["new.md"], updated_keys=["rooms.md"],
        removed_keys=["old.md"], added=1, updated=1, removed=1,
    )  # fmt: skip
    lines = report_lines(report)
    assert lines[0].startswith("h: 1 would be added, 1 would be updated")
    assert lines[1:] == [
        "  would be added: new.md",
        "  would be updated: rooms.md",
        "  would be removed: old.md",
    ]


def test_status_is_readable_not_a_dict() -> None:
    job = {
        "job_id": 7, "kind": "reindex", "state": "running", "error": None,
        "created_at": "2026-01-02T03:04:05+00:00", "started_at": None, "finished_at": None,
        "progress": {"documents_total": 10, "documents_done": 3, "chunks_total": 40,
                     "chunks_done": 12, "embedded": 12, "chunks_per_s": 4.0},
    }  # fmt: skip
    version = {
        "id": 2, "state": "live", "model": "m", "dim": 384, "chunking": {"max_tokens": 256},
        "documents": 10, "chunks": 40,
    }  # fmt: skip
    prop = {
        "property_id": "h", "name": "Hotel", "live_version": 2, "revision": 5,
        "versions": [version], "jobs": [job],
    }  # fmt: skip
    lines = status_lines([prop])
    assert lines[0] == "h (Hotel): live version 2, revision 5"
    assert lines[2] == (
        "  job    7 reindex running   2026-01-02 03:04:05  "
        "documents 3/10 · chunks 12/40 · 12 embedded · 4 chunks/s"
    )
    assert not any("{" in line for line in lines)


def test_progress_in_a_log_is_a_line_every_few_seconds() -> None:
    now = [0.0]
    stream = io.StringIO()
    line = ProgressLine(stream, every_s=5.0, clock=lambda: now[0])
    for step in range(12):
        now[0] = float(step)
        line.show(describe_progress({"documents_total": 12, "documents_done": step}))
    printed = stream.getvalue().splitlines()
    assert printed == ["  documents 0/12", "  documents 5/12", "  documents 10/12"]
