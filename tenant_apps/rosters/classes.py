"""A roster's grade and class texts (三年级, (2)班, 初一3班, 小学2024级2班) read as a class of
the school: stage, entry year and class number, hence the class number of domain §2.2.

The grade's ordinal counts from the current school year by the registry's own rule
(registry.facade.lines.school_year): 三年级 in the school year 2026 entered in 2024.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from tenant_apps.registry.facade.lines import school_year

_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_STAGE_WORDS = (("高", "senior"), ("初", "junior"), ("小学", "primary"), ("中学", "junior"))
_YEAR_RE = re.compile(r"(19|20)\d{2}级")
_ORDINAL_RE = re.compile(r"([一二三四五六七八九1-9])年级")
_SHORT_RE = re.compile(r"(高|初)([一二三123])")
_CLASS_RE = re.compile(r"([0-9]{1,2}|[一二三四五六七八九十]{1,3})\s*[)）]?\s*班")
_BARE_RE = re.compile(r"^[(（]?\s*([0-9]{1,2})\s*[)）]?$")
STAGE_DIGIT = {"primary": "1", "junior": "2", "senior": "3"}


@dataclass(frozen=True)
class ClassGuess:
    stage: str  # primary, junior, senior
    entry_year: int
    number: int

    @property
    def class_no(self) -> str:
        return f"{self.entry_year:04d}{STAGE_DIGIT[self.stage]}{self.number:02d}"


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + _DIGITS.get(text[1:], 0)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return _DIGITS.get(tens, 0) * 10 + (_DIGITS.get(ones, 0) if ones else 0)
    return _DIGITS.get(text)


def _grade(text: str, year: int) -> tuple[str, int] | None:
    """(stage, entry year) of a grade text."""
    text = text.replace(" ", "").replace("\u3000", "")
    if m := _YEAR_RE.search(text):
        entry = int(m.group(0)[:4])
        stage = next((s for w, s in _STAGE_WORDS if w in text), "primary")
        return stage, entry
    if m := _SHORT_RE.search(text):
        stage = "senior" if m.group(1) == "高" else "junior"
        return stage, year - (_number(m.group(2)) or 1) + 1
    if m := _ORDINAL_RE.search(text):
        n = _number(m.group(1)) or 1
        if n >= 7:
            return "junior", year - (n - 6) + 1
        stage = "junior" if ("初" in text or "中学" in text) and n <= 3 else "primary"
        return stage, year - n + 1
    return None


def class_guess(
    grade_text: str, class_text: str, today: dt.date | None = None
) -> ClassGuess | None:
    """The class a roster's (年级, 班级) pair names, or None when it cannot be read. The
    grade may be written in the class cell too (三年级2班)."""
    year = school_year(today)
    grade = _grade(grade_text, year) or _grade(class_text, year)
    if grade is None:
        return None
    text = class_text.strip()
    m = _CLASS_RE.search(text)
    if m is None:
        m = _BARE_RE.match(text)
    number = _number(m.group(1)) if m else None
    if number is None or not 1 <= number <= 99:
        return None
    return ClassGuess(grade[0], grade[1], number)
