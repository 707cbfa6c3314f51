"""Find the opening hours a document states, per facility, sentence by sentence.

Each sentence or list line that states hours becomes a row naming the facility it is about
(a capitalised name such as "Compass Bar", else the first facility word it uses, else the
section heading). Sentences of one section about the same facility are merged, later ones
overriding earlier days; a season named alone ("open from 1 May to 30 September") applies to
the hours that follow it in the section.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.facts.hours import OpeningHours
from app.facts.hours_parser import find_season, parse_hours
from app.text import split_units

# What is served or happens, named before the place where it happens.
ACTIVITY_WORDS = (
    "happy hour", "bar menu", "room service", "in your room", "breakfast", "brunch", "lunch",
    "dinner", "treatments", "quiet hours", "piano", "live music",
)  # fmt: skip
_ALIASES = {"in your room": "room service", "piano": "live music"}
FACILITY_WORDS = (
    "room service", "kids club", "kids' club", "fitness room", "business centre", "bar menu",
    "happy hour", "quiet hours", "sauna area", "steam room", "ski room", "ski lifts", "lifts",
    "pool", "sauna", "spa", "gym", "fitness", "restaurant", "bar", "terrace", "breakfast",
    "brunch", "lunch", "dinner", "reception", "concierge", "front desk", "shop", "boutique",
    "valet", "treatments", "massage", "laundry", "shuttle", "bus", "tram", "beach", "lounge",
    "club", "kitchen", "buffet", "snacks", "library", "helpdesk", "garage", "parking",
)  # fmt: skip
_NAMED = re.compile(
    r"\b((?:[A-Z][\w'’-]+\s+){1,3}(?:Bar|Terrace|Spa|Restaurant|Club|Lounge|Café|Cafe|Pool|Deck"
    r"|Grill|Bistro|Kitchen|Room|Hall|Garden|Shop))\b"
)
_ARTICLE = re.compile(r"^(?:The|Our|At|In|On|Le|La|El|Il|Der|Die|Das)\s+")


# Rows one document may give: a hotel's facilities with hours are dozens, not thousands.
MAX_HOURS_PER_DOCUMENT = 200
# The longest facility name stored (a CHECK on facility_hours.facility): a long heading is cut.
MAX_FACILITY_CHARS = 200


@dataclass(frozen=True, slots=True)
class HoursRow:
    """Hours stated for one facility, with the text they came from."""

    facility: str
    hours: str
    source_text: str
    chunk_hash: str

    @property
    def source_hash(self) -> str:
        return hashlib.sha256(self.source_text.encode()).hexdigest()[:32]


def facility_of(sentence: str, heading: str) -> str:
    """The facility a sentence states hours for (at most ``MAX_FACILITY_CHARS`` long)."""
    return _facility(sentence, heading)[:MAX_FACILITY_CHARS].strip()


def _facility(sentence: str, heading: str) -> str:
    lowered = sentence.lower()
    activity = _first(lowered, ACTIVITY_WORDS)
    if activity:
        return _ALIASES.get(activity, activity)
    named = _NAMED.search(sentence)
    if named:
        return _ARTICLE.sub("", named.group(1)).strip()
    facility = _first(lowered, FACILITY_WORDS)
    if facility:
        return facility
    return heading.split(">")[-1].strip().lower() or "hours"


def _first(lowered: str, words: tuple[str, ...]) -> str | None:
    found = [(m.start(), w) for w in words if (m := re.search(rf"\b{w}\b", lowered))]
    return min(found)[1] if found else None


def extract_hours(chunks: Iterable[tuple[str, str, str]]) -> list[HoursRow]:
    """Rows for ``(heading, text, content_hash)`` chunks, merged per facility and chunk (at
    most ``MAX_HOURS_PER_DOCUMENT``)."""
    rows: list[HoursRow] = []
    for heading, text, chunk_hash in chunks:
        if len(rows) >= MAX_HOURS_PER_DOCUMENT:
            break
        merged: dict[str, tuple[OpeningHours, list[str]]] = {}
        season = None
        for sentence in split_units(text):
            hours = parse_hours(sentence)
            if not hours:
                season = find_season(sentence) or season
                continue
            for section in hours.sections:
                if section.season is None and season is not None:
                    section.season = season
            facility = facility_of(sentence, heading)
            if facility in merged:
                known, sources = merged[facility]
                _merge(known, hours)
                sources.append(sentence)
            else:
                merged[facility] = (hours, [sentence])
        for facility, (hours, sources) in merged.items():
            rows.append(HoursRow(facility, hours.render(), " ".join(sources)[:2000], chunk_hash))
    return rows[:MAX_HOURS_PER_DOCUMENT]


def _merge(into: OpeningHours, more: OpeningHours) -> None:
    for section in more.sections:
        same = next((s for s in into.sections if s.season == section.season), None)
        if same is None:
            into.sections.append(section)
        else:
            same.days.update(section.days)
