"""School years (学年, "YYYY-YYYY") and terms (学期, 1 or 2) as JY/T 1004 writes them.

The first term runs September to January, the second February to August; which term is
"current" follows the calendar, so grade entry needs no term switch by hand.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone

YEAR_PATTERN = re.compile(r"^(\d{4})-(\d{4})$")
TERMS = (1, 2)
TERM_NAMES = {1: "第一学期", 2: "第二学期"}


@dataclass(frozen=True)
class Term:
    school_year: str  # "2026-2027"
    term: int  # 1 or 2

    @property
    def label(self) -> str:
        return f"{self.school_year}学年{TERM_NAMES[self.term]}"


def school_year_of(start: int) -> str:
    return f"{start}-{start + 1}"


def current_term(today: dt.date | None = None) -> Term:
    today = today or timezone.localdate()
    start = today.year if today.month >= 9 else today.year - 1
    term = 1 if today.month >= 9 or today.month == 1 else 2
    return Term(school_year_of(start), term)


def valid_school_year(value: str) -> bool:
    match = YEAR_PATTERN.match(value or "")
    return bool(match) and int(match.group(2)) == int(match.group(1)) + 1  # type: ignore[union-attr]


def term_parse(school_year: str | None, term: str | int | None) -> Term | None:
    """A Term from request values, or None when either part is missing or malformed."""
    term_no = int(term) if str(term or "").isdigit() else 0  # type: ignore[arg-type]
    if not valid_school_year(school_year or "") or term_no not in TERMS:
        return None
    return Term(str(school_year), term_no)


def term_choices(around: Term | None = None, *, years_back: int = 2) -> list[Term]:
    """The terms the admin pages offer: from `years_back` school years ago to next term."""
    now = around or current_term()
    start = int(now.school_year[:4])
    terms = [
        Term(school_year_of(y), t) for y in range(start - years_back, start + 1) for t in TERMS
    ]
    if now.term == 2:
        terms.append(Term(school_year_of(start + 1), 1))
    return list(reversed(terms))
