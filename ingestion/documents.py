"""Loading staff files (.md, .txt, .jsonl) into plain documents with stable ids."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".jsonl")
MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Document:
    """One document of a property. ``doc_key`` is its id: the JSONL id or the relative path."""

    doc_key: str
    title: str
    text: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        payload = json.dumps(
            [self.title, self.text, self.metadata], sort_keys=True, ensure_ascii=False
        )
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that could not be read, with the reason shown to staff."""

    name: str
    reason: str


def normalise_text(text: str) -> str:
    """NFC, Unix newlines, no trailing spaces, no control characters except newlines and tabs."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def title_from(text: str, fallback: str) -> str:
    """The first Markdown H1 of ``text``, else a readable form of the file name."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# "):
            return stripped[2:].strip()
        if stripped:
            break
    return fallback.replace("-", " ").replace("_", " ").strip().capitalize() or "Untitled"


def iter_files(paths: list[Path]) -> Iterator[tuple[Path, str]]:
    """Every supported file under ``paths`` with its document id (path relative to the folder)."""
    for path in paths:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                if file.suffix.lower() in SUPPORTED_SUFFIXES and not file.name.startswith("."):
                    yield file, file.relative_to(path).as_posix()
        else:
            yield path, path.name


def load_paths(paths: list[Path]) -> tuple[list[Document], list[Skipped]]:
    """Read every file; unreadable ones are reported and skipped, the rest still load."""
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for file, key in iter_files(paths):
        try:
            documents.extend(load_file(file, key))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            skipped.append(Skipped(str(file), _reason(exc)))
    return documents, skipped


def load_file(file: Path, key: str) -> list[Document]:
    """Documents in one file (a JSONL file holds many)."""
    suffix = file.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ValueError(f"unsupported file type {suffix or '(none)'}")
    if file.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"file larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    raw = file.read_bytes().decode("utf-8")
    if suffix == ".jsonl":
        return list(_jsonl_documents(raw, str(file)))
    text = normalise_text(raw)
    if not text:
        raise ValueError("empty file")
    return [Document(key, title_from(text, file.stem), text, str(file))]


def _jsonl_documents(raw: str, source: str) -> Iterator[Document]:
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number}: invalid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise ValueError(f"line {number}: expected a JSON object")
        doc_id, text = record.get("id"), record.get("text")
        if not isinstance(doc_id, str | int) or not str(doc_id).strip():
            raise ValueError(f"line {number}: missing 'id'")
        if not isinstance(text, str) or not normalise_text(text):
            raise ValueError(f"line {number}: missing or empty 'text'")
        metadata = record.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ValueError(f"line {number}: 'metadata' must be an object")
        text = normalise_text(text)
        title = str(record.get("title") or title_from(text, str(doc_id)))
        yield Document(str(doc_id), normalise_text(title), text, source, metadata)


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)
