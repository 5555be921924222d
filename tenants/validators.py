"""School identifier (学校标识码) and host-name rules, domain.md §2.2."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from common.normalize import normalize_digits

SCHOOL_CATEGORIES: dict[str, str] = {
    "11": "幼儿园",
    "21": "小学",
    "22": "成人小学",
    "31": "初级中学",
    "32": "职业初中",
    "33": "成人初中",
    "34": "高中/完全中学",
    "35": "成人高中",
    "36": "中等职业学校",
    "37": "工读学校",
    "41": "普通高等学校",
    "42": "成人高等学校",
    "51": "特殊教育学校",
    "91": "其他机构",
    "92": "其他机构",
    "93": "其他机构",
}
# GB/T 2260 province-level codes (71 Taiwan, 81 Hong Kong, 82 Macao included).
PROVINCE_CODES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)

MSG_SCHOOL_CODE_FORMAT = "学校标识码应为10位数字。"
MSG_SCHOOL_CODE_CATEGORY = "学校标识码前2位“{category}”不是有效的学校类别代码。"
MSG_SCHOOL_CODE_PROVINCE = "学校标识码第3–4位“{province}”不是有效的省级行政区划代码。"
MSG_SLUG = "域名前缀只能使用小写字母、数字和连字符，以字母开头，长度2–40。"
MSG_SLUG_RESERVED = "域名前缀“{slug}”为系统保留，请换一个。"

RESERVED_SLUGS = frozenset({"www", "api", "admin", "static", "media", "mail", "public", "bureau"})
_SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,39}$")


def validate_school_code(value: str) -> str:
    """Return the normalised 10-digit code: 2-digit category + 2-digit province + 6 digits."""
    code = normalize_digits(value)
    if len(code) != 10 or not code.isdigit():
        raise ValidationError(MSG_SCHOOL_CODE_FORMAT, code="school_code_format")
    if code[:2] not in SCHOOL_CATEGORIES:
        raise ValidationError(
            MSG_SCHOOL_CODE_CATEGORY.format(category=code[:2]), code="school_code_category"
        )
    if code[2:4] not in PROVINCE_CODES:
        raise ValidationError(
            MSG_SCHOOL_CODE_PROVINCE.format(province=code[2:4]), code="school_code_province"
        )
    return code


def validate_slug(value: str) -> str:
    slug = (value or "").strip().lower()
    if not _SLUG_RE.match(slug) or slug.endswith("-"):
        raise ValidationError(MSG_SLUG, code="slug")
    if slug in RESERVED_SLUGS:
        raise ValidationError(MSG_SLUG_RESERVED.format(slug=slug), code="slug_reserved")
    return slug
