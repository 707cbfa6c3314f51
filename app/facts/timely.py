"""Answers to "is the pool open now?", "can I still get food?", "until when is the bar open
tonight?" and "is breakfast served tomorrow?" from the property's structured opening hours, at
its local time, citing the chunk the hours came from.

Asked before the default writer: a question about a moment (now, today, tonight, tomorrow,
still, until when) about a facility with stored hours is answered here; anything else, or a
facility whose hours do not say, falls through to the writer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.answering.types import Answer
from app.facts.hours import DAY_MINUTES, HoursState, OpeningHours, render_time
from app.facts.store import StoredHours
from app.text import content_terms

_WHEN = {
    "now": re.compile(
        r"\b(now|right now|currently|at the moment|still|until when|till when|how late|jetzt|"
        r"gerade|noch|maintenant|encore|en ce moment|ahora|todavia|aun|adesso|ora|ancora)\b"
    ),
    "tomorrow": re.compile(r"\b(tomorrow|morgen|demain|manana|domani)\b"),
    "today": re.compile(
        r"\b(today|tonight|this (?:evening|morning|afternoon)|heute|ce soir|aujourd'hui|hoy|"
        r"esta noche|oggi|stasera)\b"
    ),
}
# What guests ask for, and the facility words of the hotel's text that provide it.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "food": ("dinner", "lunch", "breakfast", "bar menu", "room service", "snacks", "kitchen",
             "restaurant", "brunch"),
    "eat": ("dinner", "lunch", "breakfast", "bar menu", "room service", "snacks", "restaurant"),
    "hungry": ("dinner", "lunch", "bar menu", "room service", "snacks", "restaurant"),
    "drink": ("bar", "happy hour", "lounge"),
    "swim": ("pool",),
    "swimming": ("pool",),
    "gym": ("fitness",),
    "workout": ("fitness", "gym"),
    "desk": ("reception", "front desk"),
}  # fmt: skip
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def moment_of(question: str) -> str | None:
    """``now``, ``today`` or ``tomorrow`` when the question is about a moment, else None."""
    lowered = question.casefold().replace("’", "'")
    for moment, pattern in _WHEN.items():
        if pattern.search(lowered):
            return moment
    return None


@dataclass(frozen=True, slots=True)
class Match:
    row: StoredHours
    hours: OpeningHours
    score: float


def best_rows(question: str, rows: Sequence[StoredHours]) -> list[Match]:
    """The rows about what the question names, best first (several for "food")."""
    lowered = question.casefold()
    terms = set(content_terms(lowered))
    wanted = {w for t in terms for w in _SYNONYMS.get(t, ())}
    matches = []
    for row in rows:
        facility = row.facility.casefold()
        name_terms = set(content_terms(facility))
        score = 3.0 * len(name_terms & terms) + (3.0 if facility in wanted else 0.0)
        if score == 0:
            continue
        score += 0.1 * len(terms & set(content_terms(row.source_text)))
        try:
            hours = row.parsed()
        except ValueError:
            continue
        matches.append(Match(row, hours, score))
    matches.sort(key=lambda m: -m.score)
    seen: set[tuple[str, str]] = set()
    unique = []
    for m in matches:  # the same hours stated in several documents are one answer
        if (m.row.facility, m.row.hours) not in seen:
            seen.add((m.row.facility, m.row.hours))
            unique.append(m)
    matches = unique
    if not matches:
        return []
    generic = bool(wanted) and not any(m.score >= 3.0 and m.row.facility.casefold() not in wanted
                                       for m in matches)  # fmt: skip
    top = matches[0].score
    return [m for m in matches if generic or m.score >= top][: 4 if generic else 1]


_SERVED = {"breakfast", "brunch", "lunch", "dinner", "bar menu", "room service", "happy hour"}
_MEALS = {"breakfast", "brunch", "lunch", "dinner", "happy hour"}
_ARTICLES = ("le ", "la ", "les ", "el ", "il ", "der ", "die ", "das ")


def _label(facility: str) -> str:
    if facility in _MEALS or facility.casefold().startswith(_ARTICLES):
        return facility
    return f"the {facility}"


def _verbs(facility: str) -> tuple[str, str]:
    """(open, closed) verbs: "dinner is served", "the pool is open"."""
    return ("is served", "is not served") if facility in _SERVED else ("is open", "is closed")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _is_24h(hours: OpeningHours, now: datetime) -> bool:
    return hours.intervals_on(now.date()) == ((0, DAY_MINUTES),)


def _next_opening(hours: OpeningHours, now: datetime) -> tuple[int, int] | None:
    """(days ahead, minute) of the next opening after today, within a week."""
    for ahead in range(1, 8):
        intervals = hours.intervals_on((now + timedelta(days=ahead)).date())
        if intervals:
            return ahead, min(intervals)[0]
    return None


def _when(ahead: int, now: datetime) -> str:
    if ahead == 1:
        return "tomorrow"
    return "on " + _DAY_NAMES[(now + timedelta(days=ahead)).weekday()]


def sentence_now(facility: str, hours: OpeningHours, now: datetime, cite: str) -> str | None:
    """'Yes — the pool is open until 22:00 today; it is 20:15 now. [1]' (None: hours unknown)."""
    name, (is_open, is_closed) = _label(facility), _verbs(facility)
    clock = render_time(now.hour * 60 + now.minute)
    if _is_24h(hours, now):
        return f"Yes — {name} {is_open} 24 hours today; it is {clock} now. {cite}"
    state: HoursState = hours.state_at(now)
    if not state.known:
        return None
    if state.is_open and state.change is not None:
        until = render_time(state.change.hour * 60 + state.change.minute)
        day = "tonight (after midnight)" if state.change.date() > now.date() else "today"
        if state.from_yesterday:
            day = "tonight"
        return f"Yes — {name} {is_open} until {until} {day}; it is {clock} now. {cite}"
    if state.change is not None:
        opens = render_time(state.change.hour * 60 + state.change.minute)
        return f"No — {name} {is_closed} now; it opens at {opens} today (it is {clock} now). {cite}"
    following = _next_opening(hours, now)
    if following is None:
        return f"No — {name} {is_closed} now (it is {clock}). {cite}"
    ahead, minute = following
    return (
        f"No — {name} {is_closed} now (it is {clock}); it opens again {_when(ahead, now)} "
        f"at {render_time(minute)}. {cite}"
    )


def sentence_day(
    facility: str, hours: OpeningHours, now: datetime, ahead: int, cite: str
) -> str | None:
    """The hours of today (ahead 0) or tomorrow (ahead 1)."""
    name, (is_open, is_closed) = _capital(_label(facility)), _verbs(facility)
    day = (now + timedelta(days=ahead)).date()
    intervals = hours.intervals_on(day)
    if intervals is None:
        return None
    label = "today" if ahead == 0 else f"tomorrow ({_DAY_NAMES[day.weekday()]})"
    if not intervals:
        return f"{name} {is_closed} {label}. {cite}"
    spans = " and ".join(f"{render_time(a)} to {render_time(b)}" for a, b in intervals)
    if intervals == ((0, DAY_MINUTES),):
        spans = "00:00 to 24:00 (24 hours)"
    text = f"{name} {is_open} {label} from {spans}"
    if ahead == 0:
        text += f"; it is {render_time(now.hour * 60 + now.minute)} now"
    return f"{text}. {cite}"


def compose(
    question: str, matches: Sequence[Match], now: datetime, cites: Sequence[int]
) -> Answer | None:
    """The answer for the matched rows at local time ``now``; None when the hours do not say."""
    moment = moment_of(question)
    if moment is None:
        return None
    parts: list[str] = []
    used: list[int] = []
    for match, n in zip(matches, cites, strict=True):
        name = match.row.facility
        cite = f"[{n}]"
        if moment == "now":
            text = sentence_now(name, match.hours, now, cite)
        else:
            text = sentence_day(name, match.hours, now, 1 if moment == "tomorrow" else 0, cite)
        if text is not None:
            parts.append(text)
            used.append(n)
    if not parts:
        return None
    if len(parts) > 1 and moment == "now":
        # Several places serve food: say which are open; if none is, the next two to open.
        opened = [i for i, p in enumerate(parts) if p.startswith("Yes")]
        keep = opened or list(range(min(2, len(parts))))
        parts = [parts[i] for i in keep]
        used = [used[i] for i in keep]
    return Answer(" ".join(parts), tuple(sorted(set(used))), answer_source="hours")


def wants_hours(question: str) -> bool:
    """Is this a question about a moment that opening hours can answer?"""
    lowered = question.casefold()
    return moment_of(lowered) is not None
