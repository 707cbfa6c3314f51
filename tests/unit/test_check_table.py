"""``scripts/ingest check``: the questions file and the one-table report."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.rag.batch import CheckedAnswer, CheckedSource
from ingestion.check import read_questions, table


def test_questions_file_skips_comments_and_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "q.txt"
    path.write_text("\ufeff# top questions\n\nWhen is breakfast?\n  Is there parking?  \n")
    assert read_questions(path, 5) == ["When is breakfast?", "Is there parking?"]
    with pytest.raises(ValueError, match="at most 1"):
        read_questions(path, 1)
    path.write_text("# only a comment\n")
    with pytest.raises(ValueError, match="no questions"):
        read_questions(path, 5)


def test_table_shows_answer_cited_source_and_handover() -> None:
    source = [CheckedSource("faq.md", "FAQ", 0.8, False), CheckedSource("rooms.md", "R", 0.7, True)]
    lines = table(
        [
            CheckedAnswer("When is check-out?", "Check-out is at 11:00. [2]", source),
            CheckedAnswer(
                "Helipad?", "I can't find that.", escalate=True, handover="no answer found"
            ),
            CheckedAnswer(
                "Towels please", "(front desk)", escalate=True, handover="service_request"
            ),
            CheckedAnswer("Slow?", "", error="no answer within 10 s"),
        ]
    )
    assert lines[0].split() == ["#", "question", "answer", "source", "hand-over"]
    assert lines[2].split()[-2:] == ["rooms.md", "no"]  # the cited source, not the top one
    assert lines[3].endswith("no answer found")
    assert lines[4].endswith("service_request")
    assert "error: no answer within 10 s" in lines[5]
    assert lines[6] == "4 questions: 1 answered, 2 handed over to staff, 1 failed"
