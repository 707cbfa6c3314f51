"""What the answer writer reads from a chunk, in the form kept with the chunk.

The composed answer reads each retrieved chunk's words (for the lookups of
:mod:`app.answering.matching`) and its sentences (:mod:`app.answering.composer`). Ingestion
derives both once and keeps them in the chunk's row (``chunks.derived``), so that a question
only reads them; a chunk without them (written before the column existed) is read from its text
at each question, as before.

The kept form is text: a first line naming the code that wrote it, a line of the chunk's words,
then one line per sentence. The name is a digest of the modules that read a text, so a kept
form written by other code is never read: the writer reads the chunk's text instead, until the
chunk is written again (``scripts/ingest derive`` writes every chunk's form again).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# The modules whose code decides what is read from a text.
_SOURCES = (_HERE.parent / "text.py", _HERE / "matching.py", _HERE / "composer.py")


def _key() -> str:
    """The name of this code's kept form; empty where its modules cannot be read (a kept form
    is then neither read nor trusted: every chunk is read from its text)."""
    digest = hashlib.sha256()
    try:
        for path in _SOURCES:
            digest.update(path.read_bytes())
    except OSError:
        return ""
    return "w1:" + digest.hexdigest()[:16]


KEY = _key()


def join(words: str, units: str) -> str:
    """The kept form of a chunk's words (one line) and sentences (one line each)."""
    return f"{KEY}\n{words}\n{units}"


def split(derived: str | None) -> tuple[str, str] | None:
    """The words line and the sentence lines of a kept form written by this code; None when
    there is none, or when other code wrote it."""
    if not derived or not KEY or not derived.startswith(KEY):
        return None
    parts = derived.split("\n", 2)
    if len(parts) != 3 or parts[0] != KEY:
        return None
    return parts[1], parts[2]
