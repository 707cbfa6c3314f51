"""The property's clock: an injectable source of "now", and validated time zones and locales."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.config import Settings
from app.errors import InvalidRequest

_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


class Clock(Protocol):
    """Gives the current instant, time-zone aware."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """Always the same instant (tests, evaluation, a pinned demo)."""

    def __init__(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("a fixed clock needs a time zone (e.g. 2026-07-01T20:15:00+02:00)")
        self.instant = instant

    def now(self) -> datetime:
        return self.instant


def clock_from(settings: Settings) -> Clock:
    """The real clock, or the fixed one ``RAG_FIXED_CLOCK`` pins."""
    return FixedClock(settings.fixed_clock) if settings.fixed_clock else SystemClock()


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; a bad name is a client error."""
    if not name or len(name) > 64 or ".." in name or name.startswith("/"):
        raise InvalidRequest(f"time zone {name!r} is not an IANA name such as Europe/Rome")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Rome"
        ) from None


def check_locale(locale: str) -> str:
    """A BCP 47 language tag of the simple form ``it`` or ``de-AT``."""
    if not _LOCALE.match(locale):
        raise InvalidRequest(f"locale {locale!r} is not a language tag such as 'en' or 'de-AT'")
    return locale


def local_now(clock: Clock, zone: str) -> datetime:
    """The property's wall-clock time now (naive, in its zone); an unknown zone falls to UTC."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return clock.now().astimezone(tz).replace(tzinfo=None)
