"""Readers for the formats staff have besides Markdown: HTML, PDF, DOCX and FAQ tables.

Each reader turns raw bytes into Markdown-flavoured text (headings as ``#`` lines, list items
as ``- `` lines), so the structure-aware chunker treats every format the same way. A reader
raises :class:`LoadError` with a reason staff can act on when a file cannot be used.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

_HYPHENATED = re.compile(r"(\w)-\n(?=[a-zà-ÿ])")
_BLANKS = re.compile(r"\n{3,}")
_INLINE_SPACE = re.compile(r"[ \t\u00a0]+")


class LoadError(ValueError):
    """A file that cannot be read; the message is the reason shown to staff."""


def join_hyphenated(text: str) -> str:
    """Undo end-of-line hyphenation from PDFs: ``recep-\\ntion`` becomes ``reception``.

    Only a hyphen at the very end of a line followed by a lowercase letter is removed, so
    hyphenated compounds at a line start (``Wi-Fi``) and list dashes are left alone.
    """
    return _HYPHENATED.sub(r"\1", text)


# --- Embedded files -------------------------------------------------------------------------

# An image (or any file) inlined as a base64 ``data:`` URL: bytes, not text for guests.
_DATA_URL = r"data:[\w.+/-]*(?:;[\w.+-]+=[^;,\s]*)*;base64,[A-Za-z0-9+/=\s]*"
_MARKDOWN_DATA_IMAGE = re.compile(r"!\[([^\]\n]{0,500})\]\(\s*" + _DATA_URL + r"[^)\n]{0,500}\)")
_ANY_DATA_URL = re.compile(_DATA_URL)


def drop_embedded_files(text: str) -> str:
    """Markdown without inlined ``data:`` files: an image keeps only its alt text."""
    if "base64," not in text:
        return text
    return _ANY_DATA_URL.sub("", _MARKDOWN_DATA_IMAGE.sub(r"\1", text))


# --- HTML -----------------------------------------------------------------------------------

_DROP_TAGS = "script, style, noscript, template, svg, iframe, nav, header, footer, aside, form"
_BOILERPLATE = re.compile(r"cookie|consent|gdpr|banner|newsletter|popup|modal|breadcrumb", re.I)
_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "table", "ul", "ol", "dl", "dt", "dd",
    "blockquote", "pre", "br", "hr", "body", "figure", "figcaption", "address",
}  # fmt: skip
_HEADINGS = {f"h{n}": n for n in range(1, 7)}


def html_to_text(raw: bytes) -> tuple[str | None, str]:
    """Title (from ``<title>`` or the first ``<h1>``) and the readable text of an HTML page."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(raw.decode("utf-8", errors="replace"))
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node is not None else None
    for node in tree.css(_DROP_TAGS):
        node.decompose()
    for node in tree.css("[id], [class], [role]"):
        marker = " ".join(
            str(node.attributes.get(name) or "") for name in ("id", "class", "role", "aria-label")
        )
        if _BOILERPLATE.search(marker) or node.attributes.get("role") == "navigation":
            node.decompose()
    root = tree.body or tree.root
    if root is None:
        return title, ""
    out: list[str] = []
    _walk_html(root, out)
    text = "".join(out)
    lines = [_INLINE_SPACE.sub(" ", line).strip().removesuffix(" |") for line in text.split("\n")]
    body = _BLANKS.sub("\n\n", "\n".join(lines)).strip()
    if not title:
        first_h1 = next((ln[2:] for ln in body.splitlines() if ln.startswith("# ")), None)
        title = first_h1
    return (title or None), body


def _walk_html(node: Any, out: list[str]) -> None:
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            out.append(_INLINE_SPACE.sub(" ", child.text_content or ""))
        elif tag in _HEADINGS:
            heading = _INLINE_SPACE.sub(" ", child.text(separator=" ")).strip()
            if heading:
                out.append(f"\n\n{'#' * _HEADINGS[tag]} {heading}\n\n")
        elif tag == "li":
            out.append("\n- ")
            _walk_html(child, out)
        elif tag in ("td", "th"):
            _walk_html(child, out)
            out.append(" | ")
        elif tag == "tr":
            out.append("\n")
            _walk_html(child, out)
        elif tag in _BLOCK_TAGS:
            out.append("\n\n")
            _walk_html(child, out)
            out.append("\n\n")
        else:
            _walk_html(child, out)


# --- PDF ------------------------------------------------------------------------------------


def pdf_to_text(raw: bytes) -> tuple[str | None, str]:
    """Title (from the document info) and the text layer of every page."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise LoadError("the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = str(info.title) if info is not None and info.title else None
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise LoadError(f"not a readable PDF ({type(exc).__name__})") from None
    text = join_hyphenated("\n\n".join(p.strip() for p in pages if p.strip()))
    if not text.strip():
        raise LoadError("the PDF has no text layer (a scan needs OCR first)")
    return title, text


# --- DOCX -----------------------------------------------------------------------------------


def docx_to_text(raw: bytes) -> tuple[str | None, str]:
    """Title (core properties) and the paragraphs and tables of a Word document."""
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(raw))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(f"not a readable DOCX file ({type(exc).__name__})") from None
    lines: list[str] = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        level = _docx_heading_level(style)
        if level:
            lines.extend(["", f"{'#' * level} {text}", ""])
        elif "List" in style:
            lines.append(f"- {text}")
        else:
            lines.extend([text, ""])
    for table in document.tables:
        lines.append("")
        for row in table.rows:
            lines.append(" | ".join(cell.text.strip() for cell in row.cells))
    title = document.core_properties.title or None
    return title, "\n".join(lines)


def _docx_heading_level(style: str) -> int:
    if style == "Title":
        return 1
    match = re.fullmatch(r"Heading (\d)", style)
    return min(int(match.group(1)), 6) if match else 0


# --- FAQ tables -------------------------------------------------------------------------------

_QUESTION_KEYS = ("question", "q", "frage")
_ANSWER_KEYS = ("answer", "a", "antwort")


def faq_to_markdown(pairs: list[tuple[str, str]]) -> str:
    """One ``##`` section per question, so each pair becomes its own chunk."""
    parts = []
    for question, answer in pairs:
        parts.append(f"## {' '.join(question.split())}\n\n{answer.strip()}")
    return "\n\n".join(parts)


def csv_faq(text: str) -> list[tuple[str, str]]:
    """Question/answer pairs from a CSV file with a header naming both columns."""
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    rows = list(csv.reader(io.StringIO(text), dialect))
    if not rows:
        raise LoadError("empty file")
    header = [h.strip().lower() for h in rows[0]]
    q_col = next((header.index(k) for k in _QUESTION_KEYS if k in header), None)
    a_col = next((header.index(k) for k in _ANSWER_KEYS if k in header), None)
    if q_col is None or a_col is None:
        raise LoadError("a FAQ CSV needs a header with 'question' and 'answer' columns")
    pairs = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(q_col, a_col) or not row[q_col].strip() or not row[a_col].strip():
            raise LoadError(f"row {number}: missing question or answer")
        pairs.append((row[q_col], row[a_col]))
    if not pairs:
        raise LoadError("no question/answer rows")
    return pairs


def json_faq(text: str) -> tuple[str | None, list[tuple[str, str]]]:
    """Pairs from ``[{"question", "answer"}, ...]`` or ``{"title"?, "faqs": [...]}``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(f"invalid JSON ({exc.msg}, line {exc.lineno})") from None
    title = None
    if isinstance(data, dict):
        title = data.get("title") if isinstance(data.get("title"), str) else None
        items = data.get("faqs", data.get("faq", data.get("items")))
    else:
        items = data
    if not isinstance(items, list):
        raise LoadError("a FAQ JSON file is a list of {question, answer} objects")
    pairs = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise LoadError(f"item {number}: expected an object")
        lowered = {str(k).lower(): v for k, v in item.items()}
        question = next((lowered[k] for k in _QUESTION_KEYS if k in lowered), None)
        answer = next((lowered[k] for k in _ANSWER_KEYS if k in lowered), None)
        if not isinstance(question, str) or not isinstance(answer, str):
            raise LoadError(f"item {number}: needs string 'question' and 'answer'")
        if question.strip() and answer.strip():
            pairs.append((question, answer))
    if not pairs:
        raise LoadError("no question/answer pairs")
    return title, pairs
