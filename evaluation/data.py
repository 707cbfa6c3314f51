"""Evaluation inputs: questions, and documents grouped by property for the ingestion pipeline.

Documents come either as one JSONL file (``{"id", "title", "text", "metadata"?,
"property_id"?}``; records without ``property_id`` go into one evaluation property) or as
sample folders described by a ``properties.json`` (``[{"id", "name", "folder"}]``).
Either way they are read by the ingestion package's own loader, so the harness measures
exactly what staff ingestion produces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ingestion.documents import Document, Skipped, load_paths

DEFAULT_PROPERTY = "eval"


@dataclass(frozen=True, slots=True)
class Question:
    """One evaluation question; empty ``gold`` means the answer is not in the data."""

    id: str
    text: str
    gold: frozenset[str]
    property_id: str | None
    kind: str = ""
    # What the answer must state: each fact lists its accepted spellings separated by "|".
    facts: tuple[str, ...] = ()
    # "heldout" for questions kept aside from tuning; reported separately.
    split: str = ""
    language: str = "en"
    # The row of the per-language table: the language, or e.g. "de (German KB)".
    group: str = ""


@dataclass(frozen=True, slots=True)
class PropertySource:
    """One property's documents: files or folders for ``load_paths``, or documents already read."""

    id: str
    name: str
    paths: tuple[Path, ...] = ()
    documents: tuple[Document, ...] = ()

    def load(self) -> tuple[list[Document], list[Skipped]]:
        """Every document of the property, and the files that could not be read."""
        read, skipped = load_paths(list(self.paths)) if self.paths else ([], [])
        return [*self.documents, *read], skipped


def load_questions(path: Path) -> list[Question]:
    """Read a questions JSONL file; raises ValueError naming the line of a malformed record."""
    out: list[Question] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            gold = record.get("gold_doc_ids", [])
            facts = record.get("facts", [])
            if not isinstance(record["question"], str) or not isinstance(gold, list):
                raise TypeError
            if not isinstance(facts, list) or not all(isinstance(f, str) for f in facts):
                raise TypeError
            out.append(
                Question(
                    str(record.get("id", f"line{number}")),
                    record["question"],
                    frozenset(str(g) for g in gold),
                    record.get("property_id"),
                    str(record.get("kind", "")),
                    tuple(facts),
                    str(record.get("split", "")),
                    str(record.get("language", "en")),
                    str(record.get("group") or record.get("language", "en")),
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


def jsonl_sources(documents: Path) -> list[PropertySource]:
    """Documents of a JSONL file, read by the ingestion loader, grouped by ``property_id``."""
    loaded, skipped = load_paths([documents])
    if skipped:
        raise ValueError(f"{skipped[0].name}: {skipped[0].reason}")
    groups: dict[str, list[Document]] = {}
    for document in loaded:
        groups.setdefault(document.property_id or DEFAULT_PROPERTY, []).append(document)
    return [PropertySource(pid, pid, documents=tuple(docs)) for pid, docs in groups.items()]
