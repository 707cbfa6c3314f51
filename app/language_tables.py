"""The language detector's tables for the supported languages, kept in one file and mapped.

``py3langid`` ships a model for 97 languages, compressed: unpacking it takes about a second
and holding it about 75 MB, most of it the byte automaton that finds the model's n-grams in
a text. Restricted to the languages answered in, the tables are written once to a file in
the model folder; a later start maps that file instead of unpacking the model. The
automaton is stored one byte value after another (the next state for byte ``b`` of every
row together), so the few byte values of a language's letters touch a few pages of it, and
only those are read from disk and held in memory. Scores are the library's own, unchanged.
"""

from __future__ import annotations

import array
import hashlib
import logging
import mmap
import sys
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

from app.files import write_atomically

log = logging.getLogger(__name__)

# Four lengths and the language codes (comma-separated, padded), then the priors (float32),
# each state's feature (int32, -1 for none), the automaton by byte value (uint32), each
# state's row (uint16), and the feature scores per language (float16).
_LENGTHS = 32
_HEAD = _LENGTHS + 64


def identifier(languages: list[str]) -> LanguageIdentifier:
    """The packaged model restricted to ``languages``, in memory."""
    found = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    found.set_languages(languages)
    # The unrestricted tables are kept only to restrict again; the languages never change.
    found._full_model = (found.nb_ptc, found.nb_pc, found.nb_classes)
    return found


def table_file(folder: Path, languages: list[str]) -> Path:
    """The tables' file for this library version, model file and languages."""
    digest = hashlib.sha256((MODEL_DIR / MODEL_FILE).read_bytes())
    digest.update("|".join([metadata.version("py3langid"), sys.byteorder, *languages]).encode())
    return folder / f"langid-{digest.hexdigest()[:16]}.bin"


def write(found: LanguageIdentifier, path: Path) -> None:
    """Write the tables of a restricted identifier to ``path`` (atomically)."""
    codes = ",".join(found.nb_classes).encode()
    if len(codes) > _HEAD - _LENGTHS:
        raise ValueError("too many languages for the tables' header")
    moves = np.frombuffer(found.tk_nextmove, dtype=np.uint32).reshape(-1, 256)
    rows = array.array("H", found.tk_row)
    ptc = np.ascontiguousarray(found.nb_ptc, dtype=np.float16)
    lengths = array.array("Q", [ptc.shape[0], len(found.nb_classes), len(rows), len(moves)])
    parts = [
        lengths.tobytes() + codes.ljust(_HEAD - _LENGTHS),
        np.asarray(found.nb_pc, dtype=np.float32).tobytes(),
        array.array("i", found.tk_output).tobytes(),
        np.ascontiguousarray(moves.T).tobytes(),
        rows.tobytes(),
        ptc.tobytes(),
    ]
    write_atomically(path, lambda out: out.writelines(parts))


def mapped(path: Path) -> MappedIdentifier | None:
    """The identifier over the tables in ``path``; None when there is no such file or it is
    not whole."""
    try:
        with path.open("rb") as f:
            mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    view = memoryview(mapping)
    if len(view) < _HEAD:
        return None
    features, classes, states, rows = view[:_LENGTHS].cast("Q")
    codes = bytes(view[_LENGTHS:_HEAD]).decode(errors="replace").split()
    codes = codes[0].split(",") if codes else []
    sizes = (classes * 4, states * 4, rows * 256 * 4, states * 2, features * classes * 2)
    if _HEAD + sum(sizes) != len(view) or len(codes) != classes:
        return None
    parts, offset = [], _HEAD
    for size in sizes:
        parts.append(view[offset : offset + size])
        offset += size
    priors = np.frombuffer(parts[0], dtype=np.float32).copy()
    scores = np.frombuffer(parts[4], dtype=np.float16).reshape(features, classes).copy()
    found = MappedIdentifier(
        scores, priors, codes, (), parts[1].cast("i"), norm_probs=True, tk_row=()
    )
    found.bind(parts[2].cast("I"), parts[3].cast("H"), rows)
    return found


class MappedIdentifier(LanguageIdentifier):  # type: ignore[misc]  # an untyped library
    """The library's identifier, walking the automaton stored by byte value."""

    __slots__ = ("_moves", "_row_of", "_rows")

    def bind(self, moves: Any, row_of: Any, rows: int) -> None:
        self._moves, self._row_of, self._rows = moves, row_of, rows

    def _raw_score(self, text: bytes) -> np.ndarray:
        moves, row_of, rows, output = self._moves, self._row_of, self._rows, self.tk_output
        state, found = 0, []
        for byte in text:
            state = moves[byte * rows + row_of[state]]
            feature = output[state]
            if feature >= 0:
                found.append(feature)
        if found:
            scores: np.ndarray = self._sparse_score(Counter(found), self.nb_ptc)
            return scores
        # No feature at all: every language alike (the library's answer under norm_probs).
        return np.zeros(len(self.nb_classes), dtype=np.float32)
