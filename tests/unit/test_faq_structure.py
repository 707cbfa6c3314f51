"""FAQ pairs in every layout become one section per question; documents get a kind."""

from __future__ import annotations

import time

import pytest

from ingestion.chunking import chunk_document
from ingestion.documents import load_bytes
from ingestion.faq import structure_faq
from ingestion.kinds import document_kind


def _words(text: str) -> int:
    return len(text.split())


PROSE = """# Questions

Q: What time can I check in?
A: Check-in is between 14:00 and
19:00.

Q: Can I bring my dog?
A: No, dogs are not allowed. Assistance dogs are the only exception.
"""

BOLD = """# More

**Is there parking?**
There is no parking at the bistro.

**Can I buy cakes?**
Yes, all cakes can be taken away.
"""

NUMBERED = """# Getting here

1. Is there a bus from the airport?
Yes, the X4 runs every hour.

2. Where can I park?
In the courtyard behind the house.
"""

DEFINITIONS = """# Terms

Half board
: Breakfast and dinner.
"""


@pytest.mark.parametrize(
    ("text", "question", "answer"),
    [
        (PROSE, "What time can I check in?", "Check-in is between 14:00 and 19:00."),
        (BOLD, "Is there parking?", "There is no parking at the bistro."),
        (NUMBERED, "Is there a bus from the airport?", "Yes, the X4 runs every hour."),
        (DEFINITIONS, "Half board", "Breakfast and dinner."),
    ],
)
def test_pairs_become_question_sections(text: str, question: str, answer: str) -> None:
    chunks = chunk_document("Doc", structure_faq(text), _words)
    first = chunks[0]
    assert first.heading == question
    assert first.text == answer
    assert "Q:" not in first.text
    assert "**" not in first.text


def test_html_definition_list_and_labelled_paragraphs() -> None:
    html = (
        b"<html><body><h1>Rules</h1><dl><dt>Can I smoke?</dt><dd>Only in the garden.</dd>"
        b"<dt>Quiet hours?</dt><dd>From 22:00.</dd></dl>"
        b"<p><strong>Q: Do you deliver?</strong></p><p>A: No, we do not deliver.</p></body></html>"
    )
    [document] = load_bytes(html, "rules.html", "rules.html")
    chunks = {c.heading: c.text for c in chunk_document(document.title, document.text, _words)}
    assert chunks["Can I smoke?"] == "Only in the garden."
    assert chunks["Do you deliver?"] == "No, we do not deliver."
    assert document.metadata["kind"] == "policy"


def test_text_without_pairs_is_unchanged() -> None:
    text = "# Parking\n\n- Parking costs EUR 28.\n- Valet parking costs EUR 38."
    assert structure_faq(text) == text


@pytest.mark.parametrize(
    ("key", "text", "metadata", "kind"),
    [
        ("reviews/r1.md", "Nice stay.", {}, "review"),
        ("guest-notes.md", "Rating: 4 of 5\n\nWe stayed two nights.", {}, "review"),
        ("restaurant-menu.md", "Soup: EUR 6", {}, "menu"),
        ("house-policies.md", "No smoking.", {}, "policy"),
        ("opening-hours.md", "Open daily.", {}, "hours"),
        ("x.md", "## Is there a pool?\n\nYes.\n\n## Is there a gym?\n\nNo.", {}, "faq"),
        ("x.md", "Anything.", {"type": "Reviews"}, "review"),
        ("rooms.md", "Rooms have a kettle.", {}, "other"),
    ],
)
def test_document_kinds(key: str, text: str, metadata: dict[str, object], kind: str) -> None:
    assert document_kind(key, "Title", text, metadata) == kind


def test_long_runs_of_blanks_are_read_in_linear_time() -> None:
    # Labels once allowed two runs of blanks side by side: a line of blanks took minutes.
    lines = [" " * 30_000, "\t" * 30_000, "**a**" + " " * 30_000 + "x", "Q:" + " " * 30_000]
    text = "# Pool\n\n" + "\n".join(lines)
    started = time.perf_counter()
    assert structure_faq(text) == text
    assert time.perf_counter() - started < 0.5
