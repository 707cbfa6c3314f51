"""The staff command run as a process, from a folder other than the project's: it reads the
caller's folder, lists what it would add and what it skipped, and never reads a venv."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT, Settings
from tests.integration.test_reindex_kill import command_env

pytestmark = pytest.mark.integration


def test_dry_run_from_another_folder_lists_that_folders_documents(
    settings: Settings, db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "dining").mkdir()
    (tmp_path / "dining" / "restaurant.md").write_text("# Restaurant\n\nOpen 19:00-22:00.\n")
    (tmp_path / "rooms.md").write_text("# Rooms\n\nTwelve rooms.\n")
    (tmp_path / "prices.xlsx").write_bytes(b"PK\x03\x04")
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "README.md").write_text("# A package\n\nNot hotel text.\n")
    done = subprocess.run(
        [sys.executable, "-m", "ingestion", "-C", str(tmp_path), "ingest", "--dry-run",
         "--property", "cli-dry-run", "./"],
        cwd=PROJECT_ROOT, env=command_env(settings), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr  # done, but a file was skipped
    assert [line for line in done.stdout.splitlines() if line.startswith("  ")] == [
        "  would be added: dining/restaurant.md",
        "  would be added: rooms.md",
    ]
    assert "prices.xlsx: unsupported file type .xlsx" in done.stderr
    assert f"ignored folder {tmp_path / '.venv'}" in done.stderr
