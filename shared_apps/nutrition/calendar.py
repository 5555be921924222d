"""What a beneficiary's month is worth: the school days counted and the subsidy standard
of each day (补助标准, domain §3.12: at first 3 yuan per pupil per school day).

Settings (environment, README Configuration):
* NUTRITION_SUBSIDY_STANDARDS: [(valid_from ISO date, yuan per pupil per school day)],
  each standard valid from its date until the next one's; default [("2011-11-01", "3.00")].
* NUTRITION_VACATIONS: [(first ISO date, last ISO date)] without school meals (寒暑假).
School days are the working days of common.workdays (Monday to Friday, less
WORKDAY_HOLIDAYS, plus the 调休 days of WORKDAY_EXTRA) outside the vacations.

Pure functions of dates and settings: no table is read here.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from common.workdays import is_workday

# (since, until): until exclusive, None while open.
Period = tuple[dt.date, dt.date | None]


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def value(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    @classmethod
    def parse(cls, text: str | None, *, default: dt.date) -> Month:
        """ "2026-12" as a Month; anything else the month of `default`."""
        try:
            year, month = (int(p) for p in (text or "").split("-"))
            return (
                cls(year, month) if 2000 <= year <= 2100 and 1 <= month <= 12 else cls.of(default)
            )
        except ValueError:
            return cls.of(default)

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)

    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range(self.last.day)]


def standards() -> list[tuple[dt.date, Decimal]]:
    """The configured standards, oldest first. A bad entry stops the product rather than
    paying a wrong amount."""
    raw = getattr(settings, "NUTRITION_SUBSIDY_STANDARDS", None) or [("2011-11-01", "3.00")]
    try:
        parsed = sorted((dt.date.fromisoformat(str(d)), Decimal(str(y))) for d, y in raw)
    except (ValueError, ArithmeticError, TypeError) as exc:
        raise ImproperlyConfigured(f"NUTRITION_SUBSIDY_STANDARDS: {exc}") from exc
    if any(y < 0 for _d, y in parsed):
        raise ImproperlyConfigured("NUTRITION_SUBSIDY_STANDARDS: negative standard")
    return parsed


def standard_on(day: dt.date, table: Sequence[tuple[dt.date, Decimal]] | None = None) -> Decimal:
    """Yuan per pupil for `day`; 0 before the first standard's date."""
    found = Decimal("0")
    for since, yuan in table if table is not None else standards():
        if since <= day:
            found = yuan
    return found


def _vacations() -> list[tuple[dt.date, dt.date]]:
    raw = getattr(settings, "NUTRITION_VACATIONS", None) or []
    try:
        return [(dt.date.fromisoformat(str(a)), dt.date.fromisoformat(str(b))) for a, b in raw]
    except ValueError as exc:
        raise ImproperlyConfigured(f"NUTRITION_VACATIONS: {exc}") from exc


def school_days(month: Month) -> list[dt.date]:
    """The month's school days (see the module docstring)."""
    off = _vacations()
    return [d for d in month.days() if is_workday(d) and not any(a <= d <= b for a, b in off)]


def _inside(day: dt.date, periods: Iterable[Period]) -> bool:
    return any(since <= day and (until is None or day < until) for since, until in periods)


@dataclass(frozen=True)
class MonthFigure:
    """One beneficiary's month: school days claimed, the standards applied (distinct, in
    date order) and the amount, the sum of each day's standard."""

    days: int
    standards: tuple[Decimal, ...]
    amount: Decimal


def month_figure(
    *,
    month: Month,
    claim: Period,
    programme: Sequence[Period],
    days: Sequence[dt.date] | None = None,
    table: Sequence[tuple[dt.date, Decimal]] | None = None,
) -> MonthFigure:
    """The school days of `month` on which the claim was open and its school was in the
    programme, each paid at that day's standard."""
    table = table if table is not None else standards()
    counted = [
        d
        for d in (days if days is not None else school_days(month))
        if _inside(d, [claim]) and _inside(d, programme)
    ]
    rates = [standard_on(d, table) for d in counted]
    distinct: list[Decimal] = []
    for rate in rates:
        if rate not in distinct:
            distinct.append(rate)
    return MonthFigure(len(counted), tuple(distinct), sum(rates, Decimal("0")))
