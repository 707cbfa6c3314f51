"""Evaluation inputs: questions and documents JSONL, read through the ingestion loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.data import DEFAULT_PROPERTY, jsonl_sources, load_questions, sample_sources


def _write(path: Path, records: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_questions_with_and_without_gold(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "q.jsonl",
        [
            {"id": "a", "question": "wifi?", "gold_doc_ids": ["wifi.md"], "property_id": "h1"},
            {"id": "b", "question": "casino?", "gold_doc_ids": [], "kind": "unanswerable"},
        ],
    )
    first, second = load_questions(file)
    assert first.gold == frozenset({"wifi.md"})
    assert first.property_id == "h1"
    assert second.gold == frozenset()
    assert second.property_id is None
    assert second.kind == "unanswerable"


def test_malformed_question_names_its_line(tmp_path: Path) -> None:
    file = tmp_path / "q.jsonl"
    file.write_text('{"id": "a", "question": "ok"}\n{"id": "b"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"q\.jsonl:2"):
        load_questions(file)


def test_documents_are_grouped_by_property(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "docs.jsonl",
        [
            {"id": "pool", "title": "Pool", "text": "Open 7-21.", "property_id": "h1"},
            {"id": "spa", "title": "Spa", "text": "Massages.", "property_id": "h2"},
            {"id": "bar", "title": "Bar", "text": "Cocktails.", "metadata": {"floor": 9}},
        ],
    )
    by_id = {s.id: s for s in jsonl_sources(file)}
    assert set(by_id) == {"h1", "h2", DEFAULT_PROPERTY}
    documents, skipped = by_id["h1"].load()
    assert not skipped
    assert [d.doc_key for d in documents] == ["pool"]
    bar, _ = by_id[DEFAULT_PROPERTY].load()
    assert [d.doc_key for d in bar] == ["bar"]
    assert bar[0].metadata == {"floor": 9, "kind": "other"}


def test_sample_sources_follow_properties_json() -> None:
    from app.config import PROJECT_ROOT

    sources = sample_sources(PROJECT_ROOT / "data" / "sample")
    assert [s.id for s in sources] == ["harbour-grand", "sunset-cove", "alpine-lodge"]
    assert all(p.is_dir() for s in sources for p in s.paths)
