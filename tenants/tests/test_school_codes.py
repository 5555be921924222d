"""学校标识码 and host-name rules (domain.md §2.2)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tenants.validators import validate_school_code, validate_slug


@pytest.mark.parametrize("code", ["2143016965", "3443000001", "5111000002", "２１４３０１６９６５"])
def test_valid_school_codes(code: str) -> None:
    assert validate_school_code(code) == code.translate(
        str.maketrans("０１２３４５６７８９", "0123456789")
    )


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("214301696", "应为10位数字"),
        ("21430169650", "应为10位数字"),
        ("21430169A5", "应为10位数字"),
        ("2043016965", "不是有效的学校类别代码"),
        ("2100016965", "不是有效的省级行政区划代码"),
        ("2166016965", "不是有效的省级行政区划代码"),
    ],
)
def test_invalid_school_codes(code: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_school_code(code)
    assert message in caught.value.messages[0]


@pytest.mark.parametrize(
    ("slug", "ok"),
    [
        ("gugang", True),
        ("no-1-school", True),
        ("Gugang", True),
        ("1abc", False),
        ("a", False),
        ("ab_c", False),
        ("api", False),
        ("x" * 41, False),
        ("end-", False),
    ],
)
def test_slugs(slug: str, ok: bool) -> None:
    if ok:
        assert validate_slug(slug) == slug.lower()
    else:
        with pytest.raises(ValidationError):
            validate_slug(slug)
