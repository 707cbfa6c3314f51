"""Every loader on small real files written by the test: HTML, PDF, DOCX, FAQ tables, JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingestion.chunking import chunk_document
from ingestion.documents import load_paths
from ingestion.loaders import join_hyphenated
from tests.fakes import word_count
from tests.files import HTML_PAGE, write_docx, write_pdf


def load_one(path: Path):  # type: ignore[no-untyped-def]
    documents, skipped = load_paths([path])
    assert skipped == []
    assert len(documents) == 1
    return documents[0]


def test_html_keeps_content_and_drops_scripts_navigation_and_cookie_banners(
    tmp_path: Path,
) -> None:
    (tmp_path / "spa.html").write_text(HTML_PAGE)
    doc = load_one(tmp_path / "spa.html")
    assert doc.title == "Spa & Pool"
    assert "open daily from 07:00 to 21:00" in doc.text
    assert "## Treatments" in doc.text
    assert "- Massage, 50 minutes\n- Facial, 30 minutes" in doc.text
    assert "Sunday | 09:00-18:00" in doc.text
    for boilerplate in ("tracking code", "cookies", "Rooms", "navigation bar", "Imprint", "color"):
        assert boilerplate not in doc.text, boilerplate
    chunks = chunk_document(doc.title, doc.text, word_count)
    assert [c.heading for c in chunks] == ["", "Treatments"]


def test_pdf_text_layer_is_read_with_hyphenation_undone(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "house-rules.pdf",
        [
            ["House rules", "Quiet hours start at 22:00 and the recep-", "tion never closes."],
            ["Wi-Fi is free in all rooms."],
        ],
        title="House Rules",
    )
    doc = load_one(path)
    assert doc.title == "House Rules"
    assert "the reception never closes." in doc.text
    assert "Wi-Fi is free in all rooms." in doc.text  # a real hyphen stays
    assert doc.doc_key == "house-rules.pdf"


def test_join_hyphenated_only_touches_line_end_hyphens() -> None:
    assert join_hyphenated("check-\nout at ele-\nven") == "checkout at eleven"
    assert join_hyphenated("Wi-Fi\n- item\nA-\nB") == "Wi-Fi\n- item\nA-\nB"


def test_docx_headings_lists_and_tables(tmp_path: Path) -> None:
    doc = load_one(write_docx(tmp_path / "parking.docx"))
    assert doc.title == "Parking"
    assert "## Prices" in doc.text
    assert "- EUR 32 per night" in doc.text
    assert "Height limit | 2.10 m" in doc.text


def test_csv_faq_pairs_become_one_chunk_each(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(
        "\ufeffQuestion;Answer\nIs there parking?;Yes, EUR 32 a night.\n\n"
        'Are pets allowed?;"Dogs are welcome; cats too."\nWhen is check-out?;By 11:00.\n'
    )
    doc = load_one(path)
    chunks = chunk_document(doc.title, doc.text, word_count)
    assert [c.heading for c in chunks] == [
        "Is there parking?",
        "Are pets allowed?",
        "When is check-out?",
    ]
    assert chunks[1].text == "Dogs are welcome; cats too."


def test_json_faq_list_or_object(tmp_path: Path) -> None:
    (tmp_path / "kids.json").write_text(
        json.dumps({"title": "Kids", "faqs": [{"Question": "Kids club?", "Answer": "Ages 4-12."}]})
    )
    (tmp_path / "spa.json").write_text(json.dumps([{"q": "Sauna?", "a": "Until 21:00."}]))
    documents, skipped = load_paths([tmp_path])
    assert skipped == []
    by_key = {d.doc_key: d for d in documents}
    assert by_key["kids.json"].title == "Kids"
    assert by_key["kids.json"].text == "## Kids club?\n\nAges 4-12."
    assert by_key["spa.json"].text == "## Sauna?\n\nUntil 21:00."


def test_jsonl_property_id_is_kept_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text(
        json.dumps({"id": "a", "text": "Alpha.", "property_id": "alpine-lodge"})
        + "\n"
        + json.dumps({"id": "b", "text": "Beta."})
        + "\n"
    )
    documents, skipped = load_paths([path])
    assert [(d.doc_key, d.property_id) for d in documents] == [("a", "alpine-lodge"), ("b", None)]
    path.write_text(json.dumps({"id": "a", "text": "x", "property_id": "Bad Id"}) + "\n")
    documents, skipped = load_paths([path])
    assert documents == []
    assert "property_id" in skipped[0].reason


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("corrupt.pdf", b"%PDF-1.4\nthis is not really a pdf", "not a readable PDF"),
        ("scan.pdf", None, "no text layer"),
        ("broken.docx", b"PK\x03\x04 not a zip", "not a readable DOCX"),
        ("empty.html", b"  \n", "empty file"),
        ("blank.html", b"<html><body><script>x()</script></body></html>", "no text"),
        ("faq.csv", b"Name,Email\nA,b\n", "'question' and 'answer'"),
        ("faq.json", b"{not json", "invalid JSON"),
        ("latin1.csv", "Frage,Antwort\nCaf\xe9?,Oui\n".encode("latin-1"), "not UTF-8"),
    ],
)
def test_bad_files_are_skipped_by_name_with_a_reason(
    tmp_path: Path, name: str, content: bytes | None, reason: str
) -> None:
    path = tmp_path / name
    if content is None:
        write_pdf(path, [[]])
    else:
        path.write_bytes(content)
    (tmp_path / "good.md").write_text("# Good\n\nStill loaded.")
    documents, skipped = load_paths([tmp_path])
    assert [d.doc_key for d in documents] == ["good.md"]
    assert len(skipped) == 1
    assert skipped[0].name == str(path)
    assert skipped[0].key == name
    assert reason in skipped[0].reason


def test_too_large_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "big.md").write_text("# Big\n\n" + "word " * 500)
    documents, skipped = load_paths([tmp_path], max_bytes=1024)
    assert documents == []
    assert skipped[0].reason == "file larger than 1024 bytes"
