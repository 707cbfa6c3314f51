"""Loading staff files into plain documents with stable ids.

Markdown and text are read as they are; HTML, PDF, DOCX and FAQ tables (CSV or JSON) go
through :mod:`ingestion.loaders`, which turn them into Markdown-flavoured text first.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.facts.menu import csv_menu_lines
from ingestion.faq import structure_faq
from ingestion.kinds import document_kind
from ingestion.loaders import (
    LoadError,
    csv_faq,
    docx_to_text,
    drop_embedded_files,
    faq_to_markdown,
    html_to_text,
    json_faq,
    pdf_to_text,
)

if TYPE_CHECKING:
    from ingestion.sandbox import LoadLimits

PROPERTY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SUPPORTED_SUFFIXES = (
    ".md", ".markdown", ".txt", ".jsonl", ".html", ".htm", ".pdf", ".docx", ".csv", ".json",
)  # fmt: skip
MAX_FILE_BYTES = 20 * 1024 * 1024
# The database refuses longer document ids (a CHECK on documents.doc_key).
MAX_KEY_CHARS = 512


@dataclass(frozen=True, slots=True)
class Document:
    """One document of a property. ``doc_key`` is its id: the JSONL id or the relative path."""

    doc_key: str
    title: str
    text: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)
    # Set by JSONL lines that name their property; None means "the property being ingested".
    property_id: str | None = None

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
    # The document id the file would have had: a sync keeps what is indexed under it.
    key: str | None = None


def normalise_text(text: str) -> str:
    """NFC, Unix newlines, no trailing spaces, no control characters except newlines and tabs,
    no lone surrogates (from JSON escapes; they are not Unicode text)."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    )
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def storable(value: object) -> bool:
    """False when a string in ``value`` (a JSON value, keys included) holds NUL or a lone
    surrogate, or a number is NaN or infinite: PostgreSQL stores none of them in JSON."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, str):
            if "\x00" in item or not _encodes(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def title_from(text: str, fallback: str) -> str:
    """The first Markdown H1 of ``text``, else a readable form of the file name."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# "):
            return stripped[2:].strip()
        if stripped:
            break
    return fallback.replace("-", " ").replace("_", " ").strip().capitalize() or "Untitled"


# Folders no staff document lives in: dependencies, virtual environments, caches. Hidden
# folders (".git", ".venv") are left out as well; ``include_all`` reads them anyway.
IGNORED_FOLDERS = frozenset({"node_modules", "__pycache__", "venv", "site-packages"})


@dataclass(slots=True)
class FileScan:
    """The files found under some paths: readable candidates, unsupported ones, ignored folders."""

    files: list[tuple[Path, str]] = field(default_factory=list)
    unsupported: list[Skipped] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _ignored(folder: Path) -> bool:
    return (
        folder.name.startswith(".")
        or folder.name in IGNORED_FOLDERS
        or (folder / "pyvenv.cfg").is_file()
    )


def scan(paths: list[Path], include_all: bool = False) -> FileScan:
    """Every file under ``paths`` with its document id (the path relative to the folder given).

    Hidden files and folders, virtual environments and dependency folders are left out (listed
    in ``ignored``) unless ``include_all``; files of an unsupported type are listed with the
    reason, so staff see what was not read.
    """
    found = FileScan()
    for path in paths:
        if not path.is_dir():
            found.files.append((path, path.name))
            continue
        start = len(found.files)
        for top, folders, names in os.walk(path):
            here = Path(top)
            if not include_all:
                for name in sorted(folders):
                    if _ignored(here / name):
                        found.ignored.append(str(here / name))
                folders[:] = [f for f in folders if not _ignored(here / f)]
            folders.sort()
            for name in sorted(names):
                file = here / name
                key = file.relative_to(path).as_posix()
                if name.startswith(".") and not include_all:
                    continue
                if file.suffix.lower() not in SUPPORTED_SUFFIXES:
                    found.unsupported.append(Skipped(str(file), _unsupported(file.name), key))
                elif file.is_file():
                    found.files.append((file, key))
        found.files[start:] = sorted(found.files[start:])
    return found


def _unsupported(name: str) -> str:
    suffix = Path(name).suffix.lower() or "(none)"
    return f"unsupported file type {suffix} (supported: {' '.join(SUPPORTED_SUFFIXES)})"


def load_paths(
    paths: list[Path],
    max_bytes: int = MAX_FILE_BYTES,
    *,
    include_all: bool = False,
    limits: LoadLimits | None = None,
) -> tuple[list[Document], list[Skipped]]:
    """Read every file; unreadable and unsupported ones are reported and skipped."""
    found = scan(paths, include_all)
    documents, skipped = load_files(found.files, max_bytes, limits)
    return documents, found.unsupported + skipped


def load_files(
    files: list[tuple[Path, str]],
    max_bytes: int = MAX_FILE_BYTES,
    limits: LoadLimits | None = None,
) -> tuple[list[Document], list[Skipped]]:
    """Read files (with their document ids); unreadable ones are reported, the rest still load.

    Each file is read in a child process within ``limits`` (CPU time, memory, wall time; see
    :mod:`ingestion.sandbox`), so a hostile file is skipped with a reason like any other.
    """
    from ingestion.sandbox import LoadLimits, load_isolated

    limits = limits or LoadLimits()
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for file, key in files:
        try:
            if file.stat().st_size > max_bytes:
                raise LoadError(f"file larger than {_size(max_bytes)}")
            documents.extend(load_isolated(file.read_bytes(), key, str(file), limits))
        except Exception as exc:  # one unreadable file must not stop the batch
            skipped.append(Skipped(str(file), reason_for(exc), key))
    return documents, skipped


def load_bytes(
    raw: bytes, key: str, source: str, max_chars: int = MAX_FILE_BYTES
) -> list[Document]:
    """Documents in one file's bytes; ``key`` (a relative path) picks the format by suffix.

    A file's text may be as long as a file may be large (``max_chars``): a small PDF or DOCX
    that inflates to more is refused, not indexed. Raises :class:`LoadError` (a
    ``ValueError``) or ``UnicodeDecodeError`` for unusable files.
    """
    suffix = Path(key).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(_unsupported(key))
    if len(key) > MAX_KEY_CHARS:
        raise LoadError(f"the file name is longer than {MAX_KEY_CHARS} characters")
    if not storable(key):
        raise LoadError("the file name holds a NUL character or invalid Unicode")
    if not raw.strip():
        raise LoadError("empty file")
    stem = Path(key).stem
    title: str | None = None
    if suffix == ".jsonl":
        return list(_jsonl_documents(raw.decode("utf-8"), source))
    if suffix in (".html", ".htm"):
        title, text = html_to_text(raw)
    elif suffix == ".pdf":
        title, text = pdf_to_text(raw)
    elif suffix == ".docx":
        title, text = docx_to_text(raw)
    elif suffix == ".csv":
        decoded = _decode(raw)
        menu = csv_menu_lines(decoded)
        text = menu if menu is not None else faq_to_markdown(csv_faq(decoded))
    elif suffix == ".json":
        title, pairs = json_faq(_decode(raw))
        text = faq_to_markdown(pairs)
    else:
        text = drop_embedded_files(_decode(raw))
    if len(text) > max_chars:
        raise LoadError(f"its text is longer than {max_chars} characters")
    if suffix not in (".csv", ".json"):  # FAQ tables are already one section per pair
        text = structure_faq(text)
    text = normalise_text(text)
    if not text:
        raise LoadError("no text in the file")
    title = normalise_text(title or "") or title_from(text, stem)
    return [Document(key, title, text, source, with_kind({}, key, title, text))]


def with_kind(metadata: dict[str, Any], key: str, title: str, text: str) -> dict[str, Any]:
    """``metadata`` with the document's ``kind`` (kept when it already has one)."""
    if "kind" in metadata:
        return metadata
    return {**metadata, "kind": document_kind(key, title, text, metadata)}


def _decode(raw: bytes) -> str:
    # utf-8-sig: spreadsheet exports often start with a byte-order mark.
    return raw.decode("utf-8-sig")


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n} bytes"


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
        if len(str(doc_id)) > MAX_KEY_CHARS:
            raise LoadError(f"line {number}: 'id' is longer than {MAX_KEY_CHARS} characters")
        if not isinstance(text, str) or not normalise_text(text):
            raise ValueError(f"line {number}: missing or empty 'text'")
        metadata = record.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ValueError(f"line {number}: 'metadata' must be an object")
        if not storable(doc_id) or not storable(metadata):
            raise LoadError(
                f"line {number}: a NUL character, invalid Unicode or a number JSON cannot "
                "hold in 'id' or 'metadata'"
            )
        property_id = record.get("property_id")
        if property_id is not None and (
            not isinstance(property_id, str) or not PROPERTY_ID.match(property_id)
        ):
            raise LoadError(f"line {number}: 'property_id' is not a valid property id")
        text = normalise_text(structure_faq(text))
        title = normalise_text(str(record.get("title") or title_from(text, str(doc_id))))
        metadata = with_kind(metadata, str(doc_id), title, text)
        yield Document(str(doc_id), title, text, source, metadata, property_id=property_id)


def reason_for(exc: Exception) -> str:
    """Why a file was skipped, for staff: the loader's reason, or the kind of failure."""
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, ValueError):
        return str(exc)
    return f"could not be read ({type(exc).__name__})"
