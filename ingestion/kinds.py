"""What kind of knowledge a document holds: faq, policy, menu, hours, review or other.

Taken from the document's metadata (``kind``, ``type`` or ``category``) when it names one,
else from its folder and file names (``reviews/…``, ``house-rules.html``), else from its
text: a rating line or a first-person account makes a review, several question headings a
FAQ. Reviews are guests' opinions, not the property's facts: the answer writer attributes
them instead of stating them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath

KINDS = ("faq", "policy", "menu", "hours", "review", "other")

_NAME_WORDS: dict[str, tuple[str, ...]] = {
    "review": ("review", "reviews", "testimonial", "testimonials", "feedback", "guestbook",
               "ratings", "opinions"),
    "faq": ("faq", "faqs", "questions", "qa", "q-and-a", "fragen"),
    "menu": ("menu", "menus", "speisekarte", "carte", "drinks", "wine-list", "food"),
    "hours": ("hours", "opening-hours", "opening", "times", "timetable", "schedule"),
    "policy": ("policy", "policies", "rules", "house-rules", "terms", "conditions",
               "regulations"),
}  # fmt: skip
_ALIASES = {"reviews": "review", "faqs": "faq", "policies": "policy", "rules": "policy",
            "opening-hours": "hours", "menus": "menu"}  # fmt: skip
_RATING = re.compile(
    r"\b(?:rating|rated|stars?)\s*:?\s*\d(?:[.,]\d)?\s*(?:/|of|out of)\s*(?:5|10)\b|[★⭐]{1,5}",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(r"\b(?:I|we|my|our|us|me)\b")
_STAYED = re.compile(r"\b(?:we|I)\s+(?:stayed|visited|ate|had|came|booked|were)\b", re.I)
_QUESTION_HEADING = re.compile(r"^#{1,6}\s+.+\?\s*$", re.MULTILINE)


def _from_metadata(metadata: Mapping[str, object]) -> str | None:
    for key in ("kind", "type", "category"):
        value = metadata.get(key)
        if isinstance(value, str):
            name = value.strip().lower()
            name = _ALIASES.get(name, name)
            if name in KINDS:
                return name
    return None


def _from_name(key: str) -> str | None:
    path = PurePosixPath(key.lower())
    parts = [*path.parent.parts, path.stem]
    for part in parts:  # folders first: reviews/2024/june.md is a review
        words = {part, *re.split(r"[-_ .]+", part)}
        for kind, names in _NAME_WORDS.items():
            if words & set(names):
                return kind
    return None


def _from_text(title: str, text: str) -> str | None:
    head = text[:3000]
    if _RATING.search(head) or title.lower().startswith("review"):
        return "review"
    words = len(head.split())
    if _STAYED.search(head) and words and len(_FIRST_PERSON.findall(head)) / words > 0.04:
        return "review"
    if len(_QUESTION_HEADING.findall(text)) >= 2:
        return "faq"
    return None


def document_kind(key: str, title: str, text: str, metadata: Mapping[str, object]) -> str:
    """The document's kind (one of :data:`KINDS`)."""
    return _from_metadata(metadata) or _from_name(key) or _from_text(title, text) or "other"
