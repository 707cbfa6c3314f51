"""Structure-aware chunking: Markdown sections, then paragraphs, sentences and words as needed.

Every chunk's embedded text (document title, heading path and body) fits the model's token
window, measured with the model's own tokenizer. Where a section has to be split, the next
chunk repeats the previous one's last sentence so that no fact is cut from its context.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Longest chunk text, in characters. The token bound alone does not limit the length: the
# tokenizer counts an unbroken run of letters and digits (a hex string, a base64 blob) as one
# unknown token however long it is. 256 tokens of prose are about 1,000-1,500 characters.
MAX_CHUNK_CHARS = 2_000

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")

TokenCounter = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document: ``text`` is shown to guests, ``embed_text`` is what gets embedded."""

    ord: int
    heading: str
    text: str
    embed_text: str

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.embed_text.encode()).hexdigest()


def tokenizer_counter(model_path: Path) -> TokenCounter:
    """Count tokens (special tokens included) with the tokenizer shipped with the model."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    # The shipped tokenizer pads every input to 128 tokens: counting needs neither that nor
    # truncation.
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def count(text: str) -> int:
        return len(tokenizer.encode(text).ids)

    return count


def sections(text: str) -> list[tuple[list[str], str]]:
    """Split Markdown into (heading path, body) pairs; the H1 title is not part of the path."""
    out: list[tuple[list[str], str]] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []

    def flush() -> None:
        content = "\n".join(body).strip()
        if content:
            out.append(([h for level, h in path if level > 1], content))
        body.clear()

    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            path = [(lv, h) for lv, h in path if lv < level]
            path.append((level, match.group(2)))
        else:
            body.append(line)
    flush()
    return out


def _units(body: str) -> list[str]:
    """Paragraphs (blank-line separated); list items stay together with their paragraph."""
    return [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]


# An unbroken run is cut into slices of at most this many characters before token counting.
_SLICE_CHARS = 1_000

# A piece of a section, and the separator that joins it to the piece before it.
Piece = tuple[str, str]


def _split_long(unit: str, fits: Callable[[str], bool], sep: str = "\n\n") -> list[Piece]:
    """Break a unit that does not fit into lines, then sentences, then word runs, then halves."""
    if fits(unit) or len(unit) <= 1:  # a lone character cannot be split further
        return [(unit, sep)]
    if "\n" in unit:
        parts, inner = unit.split("\n"), "\n"
    else:
        parts, inner = _SENTENCE_END.split(unit), " "
    if len(parts) == 1:
        words = unit.split()
        if len(words) > 1:
            mid = len(words) // 2
            parts, inner = [" ".join(words[:mid]), " ".join(words[mid:])], " "
        else:  # one unbroken run: cut it into equal slices that may fit
            size = max(1, -(-len(unit) // max(2, -(-len(unit) // _SLICE_CHARS))))
            parts = [unit[i : i + size] for i in range(0, len(unit), size)]
            inner = ""
    out: list[Piece] = []
    for i, part in enumerate(parts):
        out.extend(_split_long(part, fits, sep if i == 0 else inner))
    return out


def _prefix(title: str, heading: str) -> str:
    return f"{title} - {heading}\n" if heading else f"{title}\n"


def chunk_document(
    title: str,
    text: str,
    count_tokens: TokenCounter,
    max_tokens: int = 256,
    max_chars: int = MAX_CHUNK_CHARS,
) -> list[Chunk]:
    """Chunks of one document, in reading order: each within ``max_tokens`` (with its title and
    heading) and ``max_chars`` (its text)."""
    chunks: list[Chunk] = []
    for heading_path, body in sections(text) or [([], text)]:
        heading = " > ".join(heading_path)
        prefix = _prefix(title, heading)

        def fits(candidate: str, prefix: str = prefix) -> bool:
            # The length first: it is free, and it spares the tokenizer megabyte-long strings.
            return len(candidate) <= max_chars and count_tokens(prefix + candidate) <= max_tokens

        pieces: list[Piece] = []
        for unit in _units(body):
            pieces.extend(_split_long(unit, fits))
        for text_part in _pack(pieces, fits):
            chunks.append(Chunk(len(chunks), heading, text_part, prefix + text_part))
    return chunks


def _join(pieces: Sequence[Piece]) -> str:
    return "".join(sep + text if i else text for i, (text, sep) in enumerate(pieces))


def _pack(pieces: Sequence[Piece], fits: Callable[[str], bool]) -> list[str]:
    """Greedily join pieces into chunks that fit; a split section overlaps by one sentence."""
    out: list[str] = []
    current: list[Piece] = []
    for piece in pieces:
        if current and not fits(_join([*current, piece])):
            out.append(_join(current))
            overlap = _last_sentence(current[-1])
            current = [piece]
            if overlap is not None and fits(_join([overlap, piece])):
                current = [overlap, piece]
        else:
            current.append(piece)
    if current:
        out.append(_join(current))
    return out


def _last_sentence(piece: Piece) -> Piece | None:
    """The last sentence of a piece, repeated at the start of the next chunk for context."""
    text, _ = piece
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    last = _SENTENCE_END.split(lines[-1])[-1].strip()
    # Halves of an unbreakable word carry no sentence worth repeating.
    if len(last) >= 300 or " " not in last:
        return None
    return (last, "")
