"""The programme's calendar: months, school days, and standards from the settings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from common import workdays
from shared_apps.nutrition.calendar import Month, month_figure, school_days, standard_on, standards


def test_a_month_parses_from_the_query_or_falls_back_to_today() -> None:
    today = dt.date(2026, 12, 7)
    assert Month.parse("2026-02", default=today) == Month(2026, 2)
    assert Month.parse("2026-13", default=today) == Month(2026, 12)
    assert Month.parse("x", default=today) == Month(2026, 12)
    assert Month.parse(None, default=today).value == "2026-12"
    assert (Month(2028, 2).first, Month(2028, 2).last) == (
        dt.date(2028, 2, 1),
        dt.date(2028, 2, 29),
    )


@override_settings(NUTRITION_SUBSIDY_STANDARDS=[("2014-11-01", "4.00"), ("2011-11-01", "3.00")])
def test_each_day_is_paid_at_the_standard_valid_that_day() -> None:
    assert standards()[0] == (dt.date(2011, 11, 1), Decimal("3.00"))
    assert standard_on(dt.date(2011, 10, 31)) == Decimal("0")
    assert standard_on(dt.date(2014, 10, 31)) == Decimal("3.00")
    assert standard_on(dt.date(2014, 11, 1)) == Decimal("4.00")


@pytest.mark.parametrize(
    "bad", [[("2011-13-01", "3")], [("2011-11-01", "三元")], [("2011-11-01", "-1")]]
)
def test_a_bad_standard_stops_rather_than_pays_wrong(bad: list[tuple[str, str]]) -> None:
    with override_settings(NUTRITION_SUBSIDY_STANDARDS=bad), pytest.raises(ImproperlyConfigured):
        standards()


@override_settings(
    WORKDAY_HOLIDAYS=["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"],
    WORKDAY_EXTRA=["2026-10-10"],
    NUTRITION_VACATIONS=[("2026-10-26", "2026-10-30")],
)
def test_school_days_leave_out_holidays_and_vacations_and_count_make_up_days() -> None:
    workdays._dates.cache_clear()
    try:
        days = school_days(Month(2026, 10))
        # 22 weekdays, less 5 holidays, plus Saturday the 10th, less the vacation week (5).
        assert len(days) == 22 - 5 + 1 - 5
        assert dt.date(2026, 10, 10) in days
        assert dt.date(2026, 10, 27) not in days
        figure = month_figure(
            month=Month(2026, 10),
            claim=(dt.date(2026, 10, 8), None),
            programme=[(dt.date(2026, 9, 1), dt.date(2026, 10, 20))],
        )
        # 8, 9, 10 (make-up), 12-16, 19: nine days; the programme ended on the 20th.
        assert (figure.days, figure.amount) == (9, Decimal("27.00"))
    finally:
        workdays._dates.cache_clear()
