"""The language a guest writes in, from the question itself and the page's language.

Detection runs offline with ``py3langid`` (a naive Bayes model over byte n-grams, numpy only,
well under a millisecond per question), restricted to the languages the concierge answers in.
Short questions are hard: "wifi password" or a dish name ("Zirbenschnaps") can look Italian
or German. So the question wins only when the model is sure of it; otherwise the language the
widget sends (the page's or the browser's) decides, and English where there is none. Chinese
and Japanese are told apart by their scripts first: any kana means Japanese.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SUPPORTED = ("en", "de", "fr", "es", "it", "zh", "ja")
DEFAULT = "en"

# Above this the question's own language overrides the page's; measured on the multilingual
# evaluation set, no translated question was misread above it and few English ones were.
SURE = 0.9
# Without a page language, a guess this likely still beats assuming English.
LIKELY = 0.5

_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_MAX_CHARS = 1000  # the start of a long question says enough

_identifier: Any = None
_lock = threading.Lock()


def normalise_tag(tag: str | None) -> str | None:
    """``de-AT`` or ``ja_JP`` -> ``de`` / ``ja`` when supported, else None."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].casefold()
    return primary if primary in SUPPORTED else None


def _model() -> Any:
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from app.language_tables import identifier

                _identifier = identifier(list(SUPPORTED))
    return _identifier


def load(folder: Path | None = None) -> None:
    """Load the detector now, so the first guest does not wait for it.

    With ``folder``, the detector's tables are mapped from a file there, written on the
    first start (the packaged model takes about a second to unpack): later starts are quick
    and hold only the part of the tables the questions use (:mod:`app.language_tables`)."""
    global _identifier
    if folder is None:
        _model()
        return
    from app import language_tables as tables

    with _lock:
        if _identifier is not None:
            return
        path = tables.table_file(folder, list(SUPPORTED))
        found = tables.mapped(path)
        if found is None:
            try:
                tables.write(tables.identifier(list(SUPPORTED)), path)
            except (OSError, ValueError) as exc:
                log.warning("the language detector's tables could not be written: %s", exc)
            found = tables.mapped(path)
        _identifier = found if found is not None else tables.identifier(list(SUPPORTED))


def guess(text: str) -> tuple[str, float]:
    """The most likely supported language of ``text`` and the model's confidence."""
    sample = text[:_MAX_CHARS]
    if _KANA.search(sample):
        return "ja", 1.0
    if _HAN.search(sample):
        return "zh", 1.0
    if not any(ch.isalpha() for ch in sample):
        return DEFAULT, 0.0
    language, probability = _model().classify(sample)
    return str(language), float(probability)


def detect(text: str, hint: str | None = None) -> str:
    """The language to answer ``text`` in; ``hint`` is the page's or browser's language tag."""
    page = normalise_tag(hint)
    language, probability = guess(text)
    if probability >= SURE:
        return language
    if page is not None:
        return page
    return language if probability >= LIKELY else DEFAULT
