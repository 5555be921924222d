"""Working days for deadlines (domain.md §3.5: each party acts within 10 working days).

Monday to Friday count, except the dates in settings.WORKDAY_HOLIDAYS; weekend dates in
settings.WORKDAY_EXTRA (China's 调休 make-up days) count as well. Both are ISO dates
from the environment, so a new year's calendar needs no code change.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _dates(values: tuple[str, ...]) -> frozenset[dt.date]:
    return frozenset(dt.date.fromisoformat(v.strip()) for v in values if v.strip())


def _holidays() -> frozenset[dt.date]:
    return _dates(tuple(getattr(settings, "WORKDAY_HOLIDAYS", ()) or ()))


def _extra() -> frozenset[dt.date]:
    return _dates(tuple(getattr(settings, "WORKDAY_EXTRA", ()) or ()))


def is_workday(day: dt.date) -> bool:
    if day in _extra():
        return True
    return day.weekday() < 5 and day not in _holidays()


def add_workdays(start: dt.date, days: int) -> dt.date:
    """The date `days` working days after `start` (start itself does not count), e.g.
    10 working days from Friday 2026-12-04 is Friday 2026-12-18."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    left = days
    while left:
        current += dt.timedelta(days=1)
        if is_workday(current):
            left -= 1
    return current


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    count = 0
    current = start
    while current < end:
        current += dt.timedelta(days=1)
        if is_workday(current):
            count += 1
    return count
