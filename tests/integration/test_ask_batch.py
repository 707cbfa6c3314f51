"""Staff check a knowledge base with a batch of questions: over the admin API and with
``scripts/ingest check``; answers, sources and hand-overs, and no staff task created."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT, Settings
from tests.integration.test_reindex_kill import command_env

pytestmark = pytest.mark.integration

QUESTIONS = [
    "What time is check-out?",
    "Is there a helipad on the roof?",
    "Please bring two extra towels to room 412",
]


def test_check_command_prints_one_table(
    settings: Settings, db_url: str, sample_loaded: list[str], tmp_path: Path
) -> None:
    (tmp_path / "questions.txt").write_text("# most asked\n" + "\n".join(QUESTIONS) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "ingestion", "-C", str(tmp_path), "check",
         "--property", "harbour-grand", "questions.txt"],
        cwd=PROJECT_ROOT, env=command_env(settings), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["#", "question", "answer", "source", "hand-over"]
    rows = lines[2:5]
    assert rows[0].startswith("1  ")
    assert "check-out" in rows[0].lower()
    assert rows[0].endswith("no")
    assert rows[1].endswith("no answer found")
    assert rows[2].rstrip().endswith("service_request")
    assert lines[5] == "3 questions: 1 answered, 2 handed over to staff, 0 failed"
