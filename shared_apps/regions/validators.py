"""The one validator for 12-digit division codes (domain.md §2.2).

A new record needs a code of today's table. An existing record also keeps a former code
that was still valid on or after its date (`on`: the registry passes the record's 入学年月):
the code was right at some time while the pupil was on that record. A former code refused
names the current code that replaced it (RegionVersion.replaced_by).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import NamedTuple

from django.core.exceptions import ValidationError

from common.normalize import normalize_digits

MSG_FORMAT = "行政区划代码应为12位数字。"
MSG_UNKNOWN_TOWNSHIP = "行政区划代码的前9位“{township}”不是已知的乡镇（街道）。"
MSG_UNKNOWN_REGION = "行政区划代码“{code}”不是已知的行政区划。"
MSG_VILLAGE = (
    "行政区划代码的后3位“{village}”不符合村级代码规则（000、001–199居委会、200–399村委会）。"
)
# A former code: the code itself, or the part of it (county: 6 digits, township: 9) that is
# former; then what became of it, and the replacement when one is known.
MSG_WHOLE = "行政区划代码“{code}”"
MSG_PART = "行政区划代码的前{digits}位“{code}”"
MSG_ABOLISHED = "（{name}）已于{year}年撤销"
# Of a township only the last table that lists it is known (or its county's end), not
# the day it went.
MSG_LAST_SEEN = "（{name}）已不在现行区划表中（{year}年仍在使用）"
MSG_NOW = "，现为“{new}”（{new_name}），请改用新代码。"
MSG_COUNTY_NOW = "，所属县级区划现为“{new}”（{new_name}），请改用新代码。"
MSG_NONE = "，请改用现行的行政区划代码。"
MSG_FORMER_TOWNSHIP = "行政区划代码的第7–9位“{township}”不是有效的乡级代码（001–599）。"


class Former(NamedTuple):
    """A code no longer in today's table, as the validator needs it."""

    name: str
    level: int
    valid_until: dt.date
    replaced_by: str  # 12 digits, "" when no successor is known
    replaced_name: str


_TOWNSHIP = 4  # Region.Level.TOWNSHIP, without importing the models at import time


@lru_cache(maxsize=1)
def _known_codes() -> frozenset[str]:
    """Today's codes: the division table less the codes its history has closed."""
    from shared_apps.regions.models import Region, RegionVersion

    closed = RegionVersion.objects.filter(valid_until__isnull=False).values("code")
    return frozenset(Region.objects.exclude(code__in=closed).values_list("code", flat=True))


@lru_cache(maxsize=1)
def _former_codes() -> dict[str, Former]:
    """Every closed code with the name of its successor (some 17,000 counties and
    townships: a dict of a few MB per process)."""
    from shared_apps.regions.models import RegionVersion

    successors = RegionVersion.objects.exclude(replaced_by="").values("replaced_by")
    names = dict(RegionVersion.objects.filter(code__in=successors).values_list("code", "name"))
    return {
        code: Former(name, level, until, new, names.get(new, ""))
        for code, name, level, until, new in RegionVersion.objects.filter(
            valid_until__isnull=False
        ).values_list("code", "name", "level", "valid_until", "replaced_by")
        if until is not None  # the filter's promise, for the type checker
    }


def known_codes_reset() -> None:
    """Forget the cached code sets (after the division table is reloaded)."""
    _known_codes.cache_clear()
    _former_codes.cache_clear()


def _refuse_former(former: Former, code: str, *, digits: int = 12) -> ValidationError:
    """The message for a former code; `digits` < 12 when only the code's county (6) or
    township (9) part is the former one, which is then what the message shows. A former
    township with no successor of its own under a former county names the county's."""
    head = MSG_WHOLE if digits == 12 else MSG_PART
    what = MSG_LAST_SEEN if former.level == _TOWNSHIP else MSG_ABOLISHED
    tail, new, new_name = MSG_NONE, former.replaced_by[:digits], former.replaced_name
    if new:
        tail = MSG_NOW
    elif former.level == _TOWNSHIP:
        county = _former_codes().get(code[:6] + "000000")
        if county is not None and county.replaced_by:
            tail, new, new_name = MSG_COUNTY_NOW, county.replaced_by[:6], county.replaced_name
    message = (head + what + tail).format(
        digits=digits,
        code=code[:digits],
        name=former.name,
        year=former.valid_until.year,
        new=new,
        new_name=new_name,
    )
    return ValidationError(message, code="region_former")


def validate_region_code(value: str, *, on: dt.date | None = None) -> str:
    """Return the normalised code or raise ValidationError with a Chinese message.

    A code whose village part is 000 names a division itself and must exist at any
    level; otherwise its 9-digit township must exist and the village part must fall in
    the GB/T 10114 ranges for residents' (001–199) or villagers' (200–399) committees.

    `on` is the date of an existing record (None for a new one): a former code that was
    valid on or after it is accepted. A township that no table of ours lists under a
    former county is checked against the GB/T 10114 ranges (001–599) only.
    Every lookup is a dict or set probe: the importer calls this per cell.
    """
    code = normalize_digits(value)
    if len(code) != 12 or not code.isdigit():
        raise ValidationError(MSG_FORMAT, code="region_format")
    known = _known_codes()
    village = code[9:]
    if village == "000":
        if code in known:
            return code
        former = _former_codes().get(code)
        if former is None:
            raise ValidationError(MSG_UNKNOWN_REGION.format(code=code), code="region_unknown")
        if on is None or on > former.valid_until:
            raise _refuse_former(former, code)
        return code
    township = code[:9] + "000"
    if township not in known:
        formers = _former_codes()
        digits = 9
        former = formers.get(township)
        if former is None:
            digits, former = 6, formers.get(code[:6] + "000000")
        if former is None:
            raise ValidationError(
                MSG_UNKNOWN_TOWNSHIP.format(township=code[:9]), code="region_unknown"
            )
        if on is None or on > former.valid_until:
            raise _refuse_former(former, code, digits=digits)
        if digits == 6 and not 1 <= int(code[6:9]) <= 599:
            raise ValidationError(
                MSG_FORMER_TOWNSHIP.format(township=code[6:9]), code="region_unknown"
            )
    if not 1 <= int(village) <= 399:
        raise ValidationError(MSG_VILLAGE.format(village=village), code="region_village")
    return code
