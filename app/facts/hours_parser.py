"""Read opening hours written the way hotels write them, in five languages.

"daily from 06:30 to 22:00", "Mon–Fri 7–10:30, weekends until 11:00", "closed on Mondays",
"18:00–02:00", "7am–10:30pm", "Mo–Fr 7–22 Uhr", "du lundi au vendredi de 7h à 10h30",
"de lunes a viernes de 7:00 a 10:30", "dal lunedì al venerdì dalle 7 alle 10.30", table rows,
and seasons ("from 1 May to 30 September"). The text is normalised (lower case, accents off,
phrases to marker words), seasons and time ranges are found by pattern, and the rest is read
as a stream of day, time, "closed" and "except" tokens: days and times pair up into rules, a
later rule overrides an earlier one for the same day.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from app.facts.hours import DAY_MINUTES, HOLIDAY, WEEK, Interval, OpeningHours, Season, Section
from app.facts.hours_words import (
    DAY_ABBREVIATIONS,
    DAY_NAMES,
    MIDNIGHT,
    MONTHS,
    NOON,
    PHRASES,
    WORDS,
)

MAX_TEXT = 2_000  # an hours expression is a sentence or a small table, not a document

_PHRASE = re.compile(
    "|".join(re.escape(p) for p in sorted(PHRASES, key=len, reverse=True)),
)
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))


def _date(d: str, m: str) -> str:
    return (
        rf"(?:(?P<{d}a>\d{{1,2}})(?:st|nd|rd|th|er|\.)?\s*(?:de\s+|of\s+)?)?(?P<{m}>{_MONTH})\.?"
        rf"(?:\s+(?P<{d}b>\d{{1,2}})(?!\d|[:.]\d|\s*-\s*\d|\s*(?:uhr|h\b|am\b|pm\b|a\.m|p\.m))"
        r"(?:st|nd|rd|th)?)?"
    )


_SEASON = re.compile(
    r"(?<![\w])(?:from\s+|von\s+|du\s+|de\s+|desde\s+(?:el\s+)?|dal\s+|dall'\s*|del\s+)?"
    + _date("d1", "m1")
    + r"\s*(?:-|to|until|till|through|bis|au|a|al|hasta(?:\s+el)?|and|und|et|y|e)\s*"
    + r"(?:the\s+|el\s+|il\s+)?"
    + _date("d2", "m2")
    + r"(?![\w])"
)
_TIME = (
    r"(?:(?P<{n}h>\d{{1,2}})(?!\d)(?:(?:[:.]|\s?h\s?)(?P<{n}m>\d{{2}}))?"
    r"(?:\s*(?P<{n}ap>a\.?\s?m\.?|p\.?\s?m\.?|uhr|hrs|h(?![a-z])|o'clock))?"
    r"|(?P<{n}w>noon|midday|midnight|mitternacht|minuit|medianoche|mezzanotte|mittag|midi"
    r"|mediodia|mezzogiorno))"
)
_NOT_TIME = r"(?!\s*(?:min|minute|km|m\b|metre|meter|eur|€|%|year|jahr|ans|anos|anni|people"
_NOT_TIME += r"|person|guest|kg|cm|night|day|°|euro|\$|£|/|st\b|nd\b|rd\b|th\b))"
_RANGE = re.compile(
    r"(?<![\w:.])"
    + _TIME.format(n="a")
    + r"\s*(?:-|to|till|til|until|through|bis|a|au|al|alle(?:\s+ore)?|hasta|y)\s*"
    + _TIME.format(n="b")
    + _NOT_TIME
)
_BETWEEN = re.compile(
    r"(?<![\w])(?:between|zwischen|entre|tra\s+le|fra\s+le|opens?\s+at|opening\s+at)\s+"
    + _TIME.format(n="a")
    + r"\s*(?:and|und|et|y|e|,)\s*(?:closes?\s+at\s+|closing\s+at\s+)?"
    + _TIME.format(n="b")
    + _NOT_TIME
)
_COUNTED = re.compile(
    r"(?:aged?|ages|alter|edad|eta|age de|floors?|levels?|rooms?|nights?|people|persons?"
    r"|guests?|adults?|children|etagen?|stock|pisos?|piani|etages?)\W*$"
)
_UNTIL = re.compile(r"(?<![\w])(?:until|till|til|bis|to|alle)\s+" + _TIME.format(n="b") + _NOT_TIME)
_ABBR_NEIGHBOURS = {"-", ",", "&", "+", "/", "|", ";", "to", "and"}
_BOUNDARY = {";", "\n"}


@dataclass(slots=True)
class _Rule:
    days: set[int] = field(default_factory=set)
    intervals: list[tuple[int | None, int]] = field(default_factory=list)
    closed: bool = False
    excepted: set[int] = field(default_factory=set)
    days_first: bool = False

    def complete(self) -> bool:
        return bool(self.intervals and self.days) or bool(self.closed and self.days)


@dataclass(slots=True)
class _Reader:
    """Collects rules from the token stream into seasonal sections."""

    hours: OpeningHours = field(default_factory=OpeningHours)
    section: Section = field(default_factory=Section)
    rule: _Rule = field(default_factory=_Rule)
    last_open: int | None = None
    in_except: bool = False

    def emit(self, *, default_days: bool = False) -> None:
        rule, self.rule, self.in_except = self.rule, _Rule(), False
        days = set(rule.days)
        if not days and (rule.intervals or rule.excepted) and default_days and not rule.closed:
            days = set(WEEK)
        days -= rule.excepted
        for day in rule.excepted:
            self.section.days[day] = None
        if rule.closed and days:
            for day in days:
                self.section.days[day] = None
            return
        intervals: list[Interval] = []
        for start, end in rule.intervals:
            start = self.last_open if start is None else start
            if start is None:
                continue
            intervals.append((start, end))
        if not intervals or not days:
            if rule.intervals and not days:
                self.rule = rule  # times still waiting for their days
            return
        self.last_open = intervals[0][0]
        for day in days:
            self.section.days[day] = tuple(sorted(set(intervals)))

    def close_section(self) -> None:
        self.emit(default_days=True)
        if self.section.days:
            self.hours.sections.append(self.section)
        self.section = Section()


def normalise(text: str) -> str:
    """Lower case, accents off, one kind of dash, no "#" or "@", phrases to marker words."""
    text = unicodedata.normalize("NFKD", text[:MAX_TEXT].casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[‐-―−~]", "-", text).replace("’", "'").replace("\u00a0", " ")
    text = re.sub(r"\*\*|__|`", "", text)
    text = re.sub(r"[#@]", " ", text)  # the marks of seasons and times found ("#0", "@1")
    return _PHRASE.sub(_phrase, text)


def _phrase(match: re.Match[str]) -> str:
    marker = PHRASES[match.group(0)]
    before, after = match.string[: match.start()], match.string[match.end() : match.end() + 14]
    if marker == " roundtheclock " and (_PER.search(before) or _NOTICE.match(after)):
        return match.group(0)  # "EUR 28 per 24 hours", "at least 24 hours in advance"
    return marker


_PER = re.compile(
    r"(?<![\w])(?:per|pro|every|within|each|a|for|par|por|ogni|entro|innerhalb|least|than|about"
    r"|over|under|last|next|first|after|before|with|mindestens|-)\s*$"
)
_NOTICE = re.compile(r"\s*(?:'|in advance|notice|before|earlier|ahead|later|im voraus|vorher)")


def _minutes(match: re.Match[str], n: str) -> tuple[int, int, str] | None:
    """(hours, minutes, meridiem) of one time; None when it is no time of day."""
    word = match.group(f"{n}w")
    if word:
        if word in MIDNIGHT:
            return (24, 0, "midnight")
        return (12, 0, "noon") if word in NOON else None
    hours = int(match.group(f"{n}h"))
    minutes = int(match.group(f"{n}m") or 0)
    meridiem = (match.group(f"{n}ap") or "").replace(".", "").replace(" ", "")
    if hours > 24 or minutes > 59:
        return None
    if meridiem in ("am", "pm") and not 1 <= hours <= 12:
        return None
    explicit = bool(match.group(f"{n}m")) or meridiem in ("uhr", "h", "hrs")
    return hours, minutes, meridiem if meridiem in ("am", "pm") else "24" if explicit else ""


def _to_minutes(h: int, m: int, meridiem: str) -> int:
    if meridiem == "pm" and h < 12:
        h += 12
    elif meridiem == "am" and h == 12:
        h = 0
    return h * 60 + m


def _interval(start: tuple[int, int, str] | None, end: tuple[int, int, str]) -> Interval | None:
    h2, m2, ap2 = end
    close = _to_minutes(h2, m2, ap2)
    if start is None:
        return (-1, _closing(close))
    h1, m1, ap1 = start
    if ap1 == "" and ap2 in ("am", "pm"):
        ap1 = ap2 if _to_minutes(h1, m1, ap2) < close or ap2 == "am" else ""
        if ap2 == "pm" and h1 == 12:
            ap1 = "pm"
    opening = _to_minutes(h1, m1, ap1)
    if ap1 == "" and ap2 == "" and h1 <= 12 and h2 <= 12 and close <= opening and h2 < 12:
        close += 12 * 60  # "9-5": a day's hours written without am/pm
    if ap1 == "midnight":
        opening = 0
    if opening >= DAY_MINUTES:
        return None
    return (opening, _closing(close))


def _closing(close: int) -> int:
    return DAY_MINUTES if close == 0 else close


def _season(match: re.Match[str]) -> Season | None:
    m1, m2 = MONTHS[match["m1"]], MONTHS[match["m2"]]
    d1 = match["d1a"] or match["d1b"]
    d2 = match["d2a"] or match["d2b"]
    last = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    start = (m1, int(d1) if d1 else 1)
    end = (m2, int(d2) if d2 else last[m2 - 1])
    if not (1 <= start[1] <= last[m1 - 1] and 1 <= end[1] <= last[m2 - 1]):
        return None
    return Season(start, end)


def parse_hours(text: str) -> OpeningHours:
    """The opening hours stated in ``text`` (empty when it states none)."""
    norm = normalise(text)
    seasons: list[Season] = []

    def season_marker(match: re.Match[str]) -> str:
        season = _season(match)
        if season is None:
            return match.group(0)
        seasons.append(season)
        return f" #{len(seasons) - 1} "

    norm = _SEASON.sub(season_marker, norm)
    intervals: list[Interval] = []

    def range_marker(match: re.Match[str]) -> str:
        start, end = _minutes(match, "a"), _minutes(match, "b")
        if start is None or end is None:
            return match.group(0)
        if start[2] == end[2] == "" and _COUNTED.search(match.string[: match.start()]):
            return match.group(0)  # "children aged 6 to 12"
        interval = _interval(start, end)
        if interval is None:
            return match.group(0)
        intervals.append(interval)
        return f" @{len(intervals) - 1} "

    def between_marker(match: re.Match[str]) -> str:
        start, end = _minutes(match, "a"), _minutes(match, "b")
        if start is not None and end is not None and start[2] == end[2] == "":
            return match.group(0)  # "between 2 and 4 beds": no times
        return range_marker(match)

    def until_marker(match: re.Match[str]) -> str:
        end = _minutes(match, "b")
        if end is None:
            return match.group(0)
        interval = _interval(None, end)
        if interval is None:
            return match.group(0)
        intervals.append(interval)
        return f" @{len(intervals) - 1} "

    norm = _BETWEEN.sub(between_marker, norm)
    norm = _RANGE.sub(range_marker, norm)
    norm = _UNTIL.sub(until_marker, norm)
    norm = re.sub(r"\.(\s|$)", r" ; \1", norm)
    return _read(_tokens(norm), intervals, seasons)


def _tokens(norm: str) -> list[str]:
    raw = re.findall(r"#\d+|@\d+|[a-z']+|[;|\n,&+/:-]", norm)
    out: list[str] = []
    for i, token in enumerate(raw):
        if token in DAY_NAMES:
            out.append(f"d{DAY_NAMES[token]}")
        elif token in DAY_ABBREVIATIONS and _abbreviation_fits(raw, i):
            out.append(f"d{DAY_ABBREVIATIONS[token]}")
        elif token in WORDS:
            out.append(WORDS[token])
        elif token[0] in "#@" or token in ";|\n,&+/-":
            out.append(token)
        elif token == ":":
            continue
        else:
            out.append("_")  # any other word
    return out


def _abbreviation_fits(raw: list[str], i: int) -> bool:
    def day_like(token: str) -> bool:
        return token in DAY_NAMES or token in DAY_ABBREVIATIONS or token in ("daily", "holidays")

    for j in (i - 1, i + 1):
        if 0 <= j < len(raw):
            token = raw[j]
            if token[0] == "@" or token in _ABBR_NEIGHBOURS or token == ":":
                return True
            beyond = 2 * j - i
            joined = WORDS.get(token) in ("to", "and") and 0 <= beyond < len(raw)
            if joined and day_like(raw[beyond]):
                return True
    return i + 1 == len(raw) and i > 0 and raw[i - 1] in ("|", "\n")


def _days_at(tokens: list[str], i: int) -> tuple[set[int], int] | None:
    """Days named at ``tokens[i]`` (a day, a range of days, daily…) and the next index."""
    token = tokens[i]
    if token == "daily":
        return set(WEEK), i + 1
    if token == "weekdays":
        return set(range(5)), i + 1
    if token == "weekends":
        return {5, 6}, i + 1
    if token == "holidays":
        return {HOLIDAY}, i + 1
    if token[0] != "d" or not token[1:].isdigit():
        return None
    first = int(token[1:])
    following = tokens[i + 2] if i + 2 < len(tokens) else ""
    is_day = following[:1] == "d" and following[1:].isdigit()
    if is_day and tokens[i + 1] in ("-", "to"):
        last = int(following[1:])
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        return set(span), i + 3
    return {first}, i + 1


def _read(tokens: list[str], intervals: list[Interval], seasons: list[Season]) -> OpeningHours:
    reader = _Reader()
    last_kind = ""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        rule = reader.rule
        found = _days_at(tokens, i)
        if found is not None:
            days, i = found
            if reader.in_except:
                rule.excepted |= days
                last_kind = "day"
                continue
            if rule.complete() and last_kind != "day":
                reader.emit()
                rule = reader.rule
            if not rule.days and not rule.intervals and not rule.closed:
                rule.days_first = True
            rule.days |= days
            last_kind = "day"
            continue
        i += 1
        if token[0] == "@":
            start, end = intervals[int(token[1:])]
            times_then_days = rule.intervals and last_kind == "day" and not rule.days_first
            if rule.days and (times_then_days or rule.closed):
                reader.emit()
                rule = reader.rule
            reader.in_except = False
            rule.intervals.append((None if start < 0 else start, end))
            last_kind = "time"
        elif token == "h24":
            if rule.days and rule.intervals and last_kind == "day" and not rule.days_first:
                reader.emit()
                rule = reader.rule
            rule.intervals.append((0, DAY_MINUTES))
            last_kind = "time"
        elif token == "closed":
            if rule.complete():
                reader.emit()
                rule = reader.rule
            rule.closed = True
            if rule.days and rule.days_first:
                reader.emit()
            last_kind = "closed"
        elif token == "except":
            reader.in_except = True
            last_kind = "except"
        elif token[0] == "#":
            season = seasons[int(token[1:])]
            if reader.section.season is not None and reader.section.season != season:
                reader.close_section()
            elif reader.section.days and reader.section.season is None:
                reader.emit(default_days=True)
                if reader.section.days:
                    reader.hours.sections.append(reader.section)
                reader.section = Section()
            reader.section.season = season
            last_kind = "season"
        elif token in _BOUNDARY:
            if rule.complete() or (rule.intervals and not rule.days):
                reader.emit(default_days=True)
            reader.in_except = False
            last_kind = "boundary"
        elif token in (",", "|"):
            if (rule.closed and rule.days) or (rule.complete() and last_kind == "time"):
                reader.emit()
            reader.in_except = False if token == "|" else reader.in_except
            last_kind = last_kind if token == "," else "boundary"
        elif token == "_" and reader.in_except and last_kind == "day":
            reader.in_except = False
    reader.close_section()
    return reader.hours


def find_season(text: str) -> Season | None:
    """The first season ("from 1 May to 30 September") that ``text`` names, if any."""
    for match in _SEASON.finditer(normalise(text)):
        season = _season(match)
        if season is not None:
            return season
    return None
