"""The one validator for 12-digit division codes (domain.md §2.2)."""

from __future__ import annotations

from functools import lru_cache

from django.core.exceptions import ValidationError

from common.normalize import normalize_digits

MSG_FORMAT = "行政区划代码应为12位数字。"
MSG_UNKNOWN_TOWNSHIP = "行政区划代码的前9位“{township}”不是已知的乡镇（街道）。"
MSG_UNKNOWN_REGION = "行政区划代码“{code}”不是已知的行政区划。"
MSG_VILLAGE = (
    "行政区划代码的后3位“{village}”不符合村级代码规则（000、001–199居委会、200–399村委会）。"
)


@lru_cache(maxsize=1)
def _known_codes() -> frozenset[str]:
    from shared_apps.regions.models import Region

    return frozenset(Region.objects.values_list("code", flat=True))


def known_codes_reset() -> None:
    """Forget the cached code set (after the division table is reloaded)."""
    _known_codes.cache_clear()


def validate_region_code(value: str) -> str:
    """Return the normalised code or raise ValidationError with a Chinese message.

    A code whose village part is 000 names a division itself and must exist at any
    level; otherwise its 9-digit township must exist and the village part must fall in
    the GB/T 10114 ranges for residents' (001–199) or villagers' (200–399) committees.
    """
    code = normalize_digits(value)
    if len(code) != 12 or not code.isdigit():
        raise ValidationError(MSG_FORMAT, code="region_format")
    known = _known_codes()
    village = code[9:]
    if village == "000":
        if code not in known:
            raise ValidationError(MSG_UNKNOWN_REGION.format(code=code), code="region_unknown")
        return code
    township = code[:9] + "000"
    if township not in known:
        raise ValidationError(MSG_UNKNOWN_TOWNSHIP.format(township=code[:9]), code="region_unknown")
    if not 1 <= int(village) <= 399:
        raise ValidationError(MSG_VILLAGE.format(village=village), code="region_village")
    return code
