"""Evaluation inputs: questions, and documents grouped by property for the ingestion pipeline.

Documents come either as one JSONL file (``{"id", "title", "text", "metadata"?,
"property_id"?}``; records without ``property_id`` go into one evaluation property) or as
sample folders described by a ``properties.json`` (``[{"id", "name", "folder"}]``).
Either way they are read by the ingestion package's own loader, so the harness measures
exactly what staff ingestion produces.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PROPERTY = "eval"


@dataclass(frozen=True, slots=True)
class Question:
    """One evaluation question; empty ``gold`` means the answer is not in the data."""

    id: str
    text: str
    gold: frozenset[str]
    property_id: str | None
    kind: str = ""


@dataclass(frozen=True, slots=True)
class PropertySource:
    """Where one property's documents are read from (files or folders for ``load_paths``)."""

    id: str
    name: str
    paths: tuple[Path, ...]


def load_questions(path: Path) -> list[Question]:
    """Read a questions JSONL file; raises ValueError naming the line of a malformed record."""
    out: list[Question] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            gold = record.get("gold_doc_ids", [])
            if not isinstance(record["question"], str) or not isinstance(gold, list):
                raise TypeError
            out.append(
                Question(
                    str(record.get("id", f"line{number}")),
                    record["question"],
                    frozenset(str(g) for g in gold),
                    record.get("property_id"),
                    str(record.get("kind", "")),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise ValueError(
                f"{path}:{number}: expected {{'id', 'question', 'gold_doc_ids': [...]}}"
            ) from None
    return out


def sample_sources(sample_dir: Path) -> list[PropertySource]:
    """Properties of a sample folder described by its ``properties.json``."""
    entries = json.loads((sample_dir / "properties.json").read_text(encoding="utf-8"))
    return [PropertySource(e["id"], e["name"], (sample_dir / e["folder"],)) for e in entries]


@contextmanager
def jsonl_sources(documents: Path) -> Iterator[list[PropertySource]]:
    """Split a documents JSONL file by ``property_id`` into temporary per-property files."""
    groups: dict[str, list[str]] = {}
    for number, line in enumerate(documents.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{documents}:{number}: invalid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{documents}:{number}: expected a JSON object")
        property_id = str(record.pop("property_id", None) or DEFAULT_PROPERTY)
        groups.setdefault(property_id, []).append(json.dumps(record, ensure_ascii=False))
    with tempfile.TemporaryDirectory(prefix="concierge-eval-") as tmp:
        sources = []
        for property_id, lines in groups.items():
            file = Path(tmp) / f"{property_id}.jsonl"
            file.write_text("\n".join(lines) + "\n", encoding="utf-8")
            sources.append(PropertySource(property_id, property_id, (file,)))
        yield sources
