"""The sample hotels as the facts evaluations read them: each property's documents chunked as
at ingestion (words counted as tokens), and the cases of a JSONL set."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.config import PROJECT_ROOT
from ingestion.chunking import Chunk, chunk_document
from ingestion.documents import Document, load_paths

SAMPLE = PROJECT_ROOT / "data" / "sample"


@dataclass(frozen=True, slots=True)
class ChunkedProperty:
    """One sample property: its id, time zone and chunked documents."""

    id: str
    timezone: str
    documents: tuple[tuple[Document, tuple[Chunk, ...]], ...]


@lru_cache(maxsize=2)
def chunked_sample(sample_dir: Path = SAMPLE) -> tuple[ChunkedProperty, ...]:
    """Every property of a sample folder (its ``properties.json``), read and chunked once."""
    out = []
    for entry in json.loads((sample_dir / "properties.json").read_text(encoding="utf-8")):
        documents, _ = load_paths([sample_dir / entry["folder"]])
        chunked = tuple(
            (d, tuple(chunk_document(d.title, d.text, lambda t: len(t.split()), 200)))
            for d in documents
        )
        out.append(ChunkedProperty(entry["id"], entry.get("timezone", "UTC"), chunked))
    return tuple(out)


def read_cases(path: Path) -> list[dict[str, Any]]:
    """The cases of a JSONL file, one object a line (blank lines skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def says(text: str | None, expect: list[str], reject: list[str]) -> bool:
    """Whether ``text`` contains every ``expect`` text and none of ``reject``."""
    if text is None:
        return False
    return all(e in text for e in expect) and not any(r in text for r in reject)
