"""Loading staff files: ids, titles, normalisation, and skipping what cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingestion.documents import MAX_KEY_CHARS, load_bytes, load_paths, normalise_text, storable
from ingestion.loaders import LoadError


def test_folder_documents_are_keyed_by_relative_path(tmp_path: Path) -> None:
    (tmp_path / "dining").mkdir()
    (tmp_path / "dining" / "breakfast.md").write_text("# Breakfast\n\nFrom 07:00.\n")
    (tmp_path / "wifi.txt").write_text("Network: Guest\nPassword: sea-breeze\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    documents, skipped = load_paths([tmp_path])
    by_key = {d.doc_key: d for d in documents}
    assert set(by_key) == {"dining/breakfast.md", "wifi.txt"}
    assert by_key["dining/breakfast.md"].title == "Breakfast"
    assert by_key["wifi.txt"].title == "Wifi"
    # A file the loaders cannot read is listed with the reason, never silently dropped.
    assert [(Path(s.name).name, s.key) for s in skipped] == [("image.png", "image.png")]
    assert skipped[0].reason.startswith("unsupported file type .png (supported: .md")


def test_jsonl_lines_are_documents(tmp_path: Path) -> None:
    lines = [
        {"id": "faq-1", "title": "Pets", "text": "Dogs welcome.", "metadata": {"lang": "en"}},
        {"id": 7, "text": "# Spa\n\nOpen daily."},
    ]
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    documents, skipped = load_paths([path])
    assert [(d.doc_key, d.title) for d in documents] == [("faq-1", "Pets"), ("7", "Spa")]
    assert documents[0].metadata == {"lang": "en", "kind": "faq"}
    assert skipped == []


def test_unreadable_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("# Good\n\nFine.")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 ouvert".encode("latin-1"))
    (tmp_path / "empty.md").write_text("   \n")
    (tmp_path / "broken.jsonl").write_text('{"id": "a", "text": "ok"}\n{not json\n')
    documents, skipped = load_paths([tmp_path])
    assert [d.doc_key for d in documents] == ["good.md"]
    reasons = {Path(s.name).name: s.reason for s in skipped}
    assert reasons["latin1.txt"] == "not UTF-8 text"
    assert reasons["empty.md"] == "empty file"
    assert reasons["broken.jsonl"].startswith("line 2: invalid JSON")


def test_normalisation_composes_unicode_and_drops_control_characters() -> None:
    assert normalise_text("Cafe\u0301\r\nline\x00 two  \n") == "Café\nline two"


def test_normalisation_drops_lone_surrogates() -> None:
    assert normalise_text("bar\udc00 opens \ud800at 6") == "bar opens at 6"


def test_storable_finds_nul_and_lone_surrogates_anywhere_in_json() -> None:
    assert storable({"a": ["ok", 1, None, {"b": "fine"}]})
    assert not storable("a\x00b")
    assert not storable({"k": [{"deep": "\ud800"}]})
    assert not storable({"\udc00": 1})
    assert not storable({"p": [float("nan")]})
    assert not storable({"p": float("inf")})


@pytest.mark.parametrize(
    ("key", "raw", "reason"),
    [
        ("x" * MAX_KEY_CHARS + ".md", b"# X\n\nok", "longer than 512"),
        ("notes\x00.md", b"# X\n\nok", "NUL character"),
        ("caf\udce9.md", b"# X\n\nok", "invalid Unicode"),
        ("a.jsonl", json.dumps({"id": "x" * 600, "text": "ok"}).encode(), "longer than 512"),
        ("a.jsonl", b'{"id": "a\\u0000", "text": "ok"}', "NUL character"),
        ("a.jsonl", b'{"id": "a", "text": "ok", "metadata": {"k": "\\ud800"}}', "NUL character"),
        ("a.jsonl", b'{"id": "a", "text": "ok", "metadata": {"p": NaN}}', "a number JSON"),
        ("a.jsonl", b'{"id": "a", "text": "ok", "metadata": {"p": 1e400}}', "a number JSON"),
    ],
)
def test_ids_the_database_cannot_store_are_refused(key: str, raw: bytes, reason: str) -> None:
    with pytest.raises(LoadError, match=reason):
        load_bytes(raw, key, "upload")


def test_lone_surrogates_in_jsonl_text_and_title_are_dropped() -> None:
    raw = b'{"id": "bar", "title": "Bar\\ud800", "text": "The bar opens at 6.\\udc00"}'
    (document,) = load_bytes(raw, "a.jsonl", "upload")
    assert (document.title, document.text) == ("Bar", "The bar opens at 6.")
    assert storable([document.doc_key, document.title, document.text, document.metadata])


def test_content_hash_changes_with_content_only(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\nOne.")
    first = load_paths([tmp_path])[0][0].content_hash
    assert load_paths([tmp_path])[0][0].content_hash == first
    (tmp_path / "a.md").write_text("# A\n\nTwo.")
    assert load_paths([tmp_path])[0][0].content_hash != first
