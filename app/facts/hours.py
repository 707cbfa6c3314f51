"""Opening hours as data: weekly rules, optional seasons, and what they say at a given moment.

Days are numbered 0 (Monday) to 6 (Sunday); 7 stands for public holidays. Times are minutes
after midnight; a closing time at or before the opening time runs past midnight into the next
day ("18:00-02:00"). The canonical text form is close to OpenStreetMap's ``opening_hours``:
``May 01-Sep 30: Mo-Fr 07:00-10:30; Sa-Su 07:00-11:00; Mo off``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

DAY_CODES = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su", "PH")
HOLIDAY = 7
WEEK = frozenset(range(7))
MONTH_CODES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAY_MINUTES = 24 * 60

Interval = tuple[int, int]
"""(open, close) in minutes after midnight; close <= open runs past midnight."""


@dataclass(frozen=True, slots=True)
class Season:
    """A yearly date range, inclusive; it may wrap the new year (Oct 01-Apr 30)."""

    start: tuple[int, int]  # (month, day)
    end: tuple[int, int]

    def contains(self, day: date) -> bool:
        key = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= key <= self.end
        return key >= self.start or key <= self.end

    def render(self) -> str:
        (m1, d1), (m2, d2) = self.start, self.end
        return f"{MONTH_CODES[m1 - 1]} {d1:02d}-{MONTH_CODES[m2 - 1]} {d2:02d}"


@dataclass(slots=True)
class Section:
    """The rules of one season (or of the whole year): day -> intervals, or None for closed."""

    season: Season | None = None
    days: dict[int, tuple[Interval, ...] | None] = field(default_factory=dict)

    def render(self) -> str:
        groups: dict[tuple[Interval, ...] | None, list[int]] = {}
        for day in sorted(self.days):
            groups.setdefault(self.days[day], []).append(day)
        ordered = sorted(groups.items(), key=lambda item: item[1][0])
        rules = "; ".join(f"{render_days(d)} {render_intervals(v)}" for v, d in ordered)
        return f"{self.season.render()}: {rules}" if self.season else rules


@dataclass(slots=True)
class OpeningHours:
    """Weekly opening hours, one section per season (a section without a season: all year)."""

    sections: list[Section] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(s.days for s in self.sections)

    def render(self) -> str:
        return " | ".join(s.render() for s in self.sections if s.days)

    def section_for(self, day: date) -> Section | None:
        """The section that applies on ``day``: its season's, else the all-year one."""
        fallback = None
        for section in self.sections:
            if section.season is None:
                fallback = fallback or section
            elif section.season.contains(day):
                return section
        if fallback is None and any(s.season for s in self.sections):
            return Section(days={d: None for d in range(8)})  # out of season: closed
        return fallback

    def intervals_on(self, day: date, holiday: bool = False) -> tuple[Interval, ...] | None:
        """The intervals that start on ``day``; () when closed; None when the hours do not say."""
        section = self.section_for(day)
        if section is None:
            return None
        key = HOLIDAY if holiday and HOLIDAY in section.days else day.weekday()
        if key not in section.days:
            return None
        value = section.days[key]
        return () if value is None else value

    def state_at(self, moment: datetime) -> HoursState:
        """Open or closed at ``moment`` (a naive local time), with when that changes."""
        today = moment.date()
        minute = moment.hour * 60 + moment.minute
        yesterday = self.intervals_on(today - timedelta(days=1))
        for start, end in yesterday or ():
            if end <= start and minute < end:  # still in yesterday's past-midnight hours
                return HoursState(True, True, _at(today, end), (start, end), True)
        intervals = self.intervals_on(today)
        if intervals is None:
            return HoursState(False, False)
        for start, end in intervals:
            overnight = end <= start
            if start <= minute and (overnight or minute < end):
                closes = _at(today + timedelta(days=1), end) if overnight else _at(today, end)
                return HoursState(True, True, closes, (start, end), False)
        later = [iv for iv in intervals if iv[0] > minute]
        if later:
            first = min(later)
            return HoursState(True, False, _at(today, first[0]), first, False)
        return HoursState(True, False, None, None, False)


@dataclass(frozen=True, slots=True)
class HoursState:
    """``known``: the hours say something for this day; ``change``: when it closes or opens."""

    known: bool
    is_open: bool
    change: datetime | None = None
    interval: Interval | None = None
    from_yesterday: bool = False


def _at(day: date, minutes: int) -> datetime:
    return datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)


def render_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def render_intervals(value: tuple[Interval, ...] | None) -> str:
    if value is None:
        return "off"
    return ",".join(f"{render_time(a)}-{render_time(b)}" for a, b in sorted(value))


def render_days(days: list[int] | set[int] | frozenset[int]) -> str:
    """``Mo-Fr``, ``Sa-Su,PH``, ``Mo,We,Fr``: runs of two or more days become ranges."""
    week = sorted(d for d in days if d < HOLIDAY)
    parts: list[str] = []
    i = 0
    while i < len(week):
        j = i
        while j + 1 < len(week) and week[j + 1] == week[j] + 1:
            j += 1
        first, last = DAY_CODES[week[i]], DAY_CODES[week[j]]
        parts.append(first if i == j else f"{first}-{last}")
        i = j + 1
    if HOLIDAY in days:
        parts.append("PH")
    return ",".join(parts)


_CANONICAL_RULE = re.compile(r"^(?P<days>[A-Za-z,\-]+)\s+(?P<value>off|[\d:,\-]+)$")
_CANONICAL_SEASON = re.compile(
    r"^(?P<m1>[A-Z][a-z]{2}) (?P<d1>\d\d)-(?P<m2>[A-Z][a-z]{2}) (?P<d2>\d\d):\s*(?P<rest>.*)$"
)


def parse_canonical(text: str) -> OpeningHours:
    """Read the canonical form back (what staff type to correct extracted hours).

    Raises ValueError with a reason on anything else.
    """
    hours = OpeningHours()
    for part in (p.strip() for p in text.split("|")):
        if not part:
            continue
        season = None
        match = _CANONICAL_SEASON.match(part)
        if match:
            try:
                m1 = MONTH_CODES.index(match["m1"]) + 1
                m2 = MONTH_CODES.index(match["m2"]) + 1
            except ValueError:
                raise ValueError(f"unknown month in {part!r}") from None
            season = Season((m1, _day_of_month(match["d1"])), (m2, _day_of_month(match["d2"])))
            part = match["rest"]
        section = Section(season)
        for rule in (r.strip() for r in part.split(";")):
            found = _CANONICAL_RULE.match(rule)
            if not found:
                raise ValueError(f"cannot read {rule!r}: write e.g. 'Mo-Fr 07:00-22:00; Su off'")
            value = None if found["value"] == "off" else _canonical_intervals(found["value"])
            for day in _canonical_days(found["days"]):
                section.days[day] = value
        hours.sections.append(section)
    if not hours:
        raise ValueError("no opening hours given")
    return hours


def _day_of_month(text: str) -> int:
    day = int(text)
    if not 1 <= day <= 31:
        raise ValueError(f"no day {day} in a month")
    return day


def _canonical_days(text: str) -> set[int]:
    days: set[int] = set()
    for part in text.split(","):
        ends = part.split("-")
        if len(ends) > 2 or any(e not in DAY_CODES for e in ends):
            raise ValueError(f"unknown days {part!r}: use Mo Tu We Th Fr Sa Su PH")
        a, b = DAY_CODES.index(ends[0]), DAY_CODES.index(ends[-1])
        if HOLIDAY in (a, b):
            days.add(HOLIDAY)
            continue
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return days


def _canonical_intervals(text: str) -> tuple[Interval, ...]:
    out = []
    for part in text.split(","):
        match = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", part)
        if not match:
            raise ValueError(f"cannot read the times {part!r}: write e.g. 07:00-22:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
            raise ValueError(f"no such time in {part!r}")
        out.append((h1 * 60 + m1, h2 * 60 + m2))
    return tuple(sorted(out))
