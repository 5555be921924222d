"""The division table and the one 12-digit code validator (domain.md §2.2)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from shared_apps.regions.models import Bureau, Region
from shared_apps.regions.validators import validate_region_code


def test_table_holds_every_level_with_twelve_digit_codes(public: None) -> None:
    assert Region.objects.filter(level=Region.Level.PROVINCE).count() == 33
    assert Region.objects.filter(level=Region.Level.TOWNSHIP).count() > 38000
    gugang = Region.objects.get(code="430181108000")
    assert gugang.name == "古港镇"
    assert [gugang.parent.code, gugang.parent.parent.code, gugang.parent.parent.parent.code] == [  # type: ignore[union-attr]
        "430181000000",
        "430100000000",
        "430000000000",
    ]
    assert not Region.objects.exclude(code__regex=r"^\d{12}$").exists()


def test_loading_again_changes_nothing(public: None) -> None:
    from shared_apps.regions.services import regions_load

    before = Region.objects.count()
    regions_load()
    assert Region.objects.count() == before


@pytest.mark.parametrize(
    "code",
    [
        "430181108000",  # 古港镇 itself
        "430181108001",  # a residents' committee (001–199)
        "430181108201",  # a villagers' committee (200–399)
        "430181000000",  # the county itself
        "４３０１８１１０８２０１",  # full-width digits are normalised
        " 430181108 201 ",  # stray spaces too
    ],
)
def test_valid_codes(public: None, code: str) -> None:
    assert validate_region_code(code) == "".join(code.split()).translate(
        str.maketrans("０１２３４５６７８９", "0123456789")
    )


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("43018110800", "应为12位数字"),
        ("43018110800X", "应为12位数字"),
        ("430181999201", "不是已知的乡镇"),
        ("430181108400", "不符合村级代码规则"),
        ("430181108999", "不符合村级代码规则"),
        ("439999000000", "不是已知的行政区划"),
    ],
)
def test_invalid_codes_say_why_in_chinese(public: None, code: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_region_code(code)
    assert message in caught.value.messages[0]


def test_bureau_sits_on_a_region_and_refuses_townships(public: None) -> None:
    from common.exceptions import ApplicationError
    from shared_apps.regions.services import bureau_create

    assert Bureau.objects.get(region_id="430181000000").name == "浏阳市教育局"
    with pytest.raises(ApplicationError, match="省、地、县三级"):
        bureau_create(region_code="430181108000", name="古港镇教育办")
    with pytest.raises(ApplicationError, match="已有教育局"):
        bureau_create(region_code="430181", name="另一个浏阳市教育局")
