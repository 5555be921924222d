"""Identifier rules shared beyond the student row: the resident ID number (GB 11643 shape,
birth date, check character through python-stdnum) and its sex digit, phones, and the
importer's compacting of codes. Teachers (registry.teachers) use the same rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from stdnum.cn import ric

from tenant_apps.registry.validation.cells import _PHONE_RE, _compact
from tenant_apps.registry.validation.messages import (
    MSG_ID_BIRTH_FUTURE,
    MSG_ID_BIRTH_INVALID,
    MSG_ID_CHECK_DIGIT,
    MSG_ID_FORMAT,
    MSG_ID_SEX_MISMATCH,
)


def resident_id_problems(
    number: str,
    *,
    header: str,
    today: dt.date,
    day: Callable[[str], dt.date | None] | None = None,
) -> tuple[list[tuple[str, str]], dt.date | None]:
    """GB 11643 checks of an 18-character resident ID number, the one copy of the rule
    (pupils, family members and teachers alike).

    Returns the problems as (code, message naming `header`) — an "id_format" problem
    alone when the shape is wrong — and the birth date of positions 7–14 (None when it is
    not a real past date). Positions 1–6 are not checked: they may be a county code that
    no longer exists (domain.md §2.2), which is also why stdnum's validate() is not used.
    `day` may serve already-parsed YYYYMMDD strings from a caller's memo."""
    if not (
        len(number) == 18
        and number.isascii()
        and number[:17].isdigit()
        and (number[17].isdigit() or number[17] == "X")
    ):
        return [("id_format", MSG_ID_FORMAT.format(header=header))], None
    problems: list[tuple[str, str]] = []
    digits = number[6:14]
    birth = day(digits) if day is not None else None
    if birth is None:
        try:
            birth = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        except ValueError:
            birth = None
    if birth is None or birth > today:
        template = MSG_ID_BIRTH_INVALID if birth is None else MSG_ID_BIRTH_FUTURE
        problems.append(("id_birth_invalid", template.format(header=header, digits=digits)))
        birth = None
    # calc_check_digit ignores the last character of what it is given.
    expected = ric.calc_check_digit(number[:17] + "0")
    if number[17] != expected:
        problems.append(("id_check_digit", MSG_ID_CHECK_DIGIT.format(header=header)))
    return problems, birth


def id_sex_problem(number: str, sex: str, *, header: str) -> str:
    """ "" when the 17th digit's parity agrees with `sex` ("1" 男, "2" 女), else the message."""
    in_id = "1" if number[16] in "13579" else "2"
    if in_id == sex:
        return ""
    label = {"1": "男", "2": "女"}
    return MSG_ID_SEX_MISMATCH.format(header=header, in_id=label[in_id], given=label.get(sex, sex))


def text_compact(text: str) -> str:
    """Full-width characters to half-width and every space removed, as the importer
    normalises codes, phones and ID numbers."""
    return _compact(text)


def phone_valid(text: str) -> bool:
    """A mobile (11 digits from 13–19) or fixed-line number, as the template asks."""
    return _PHONE_RE.fullmatch(text) is not None
