"""Raw template rows for tests and benchmarks: what a class teacher types into the
national import template for a plausible primary pupil of class 2024101 in 古港镇.

    valid_row()                    # one pupil; passes every rule of registry.validation.rows
    valid_row(seq=7)               # another pupil: different name and ID number
    valid_row(seq=7, phone="123")  # any column overridden by its Column.key
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from stdnum.cn import ric

from tenant_apps.registry.fields import BY_KEY

VILLAGE = "430181108201"  # a villagers' committee of 古港镇, 浏阳市 (domain.md §2.2)
COUNTY = VILLAGE[:6]
CLASS_NO = "2024101"
ENTRY_YM = "202409"

# Pupils born 1 Sep 2017 – 31 Aug 2018 are 6–7 at the September 2024 intake.
_FIRST_BIRTHDAY = dt.date(2017, 9, 1)
_DAYS = 365
_SERIALS_PER_SEX = 500  # the 3-digit sequence 000–999, split by sex parity
MAX_SEQ = _DAYS * _SERIALS_PER_SEX  # seq values with a unique ID number

_SURNAMES = "李王张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧"
_GIVEN = (
    "明伟芳娜敏静丽强磊军洋勇艳杰娟涛超秀霞平刚桂英华玉萍红建文辉力燕鹏宇浩然轩"
    "梓涵子墨欣怡雨彤思博诗琪嘉俊晨阳瑞泽睿佳乐昊天逸凡可馨一诺"
)


def resident_id(birth: dt.date, serial: int, county: str = COUNTY) -> str:
    """A GB 11643 ID number with a correct check character. An odd `serial` makes a
    male number, an even one a female number."""
    first17 = f"{county}{birth:%Y%m%d}{serial:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def _given_name(n: int) -> str:
    """Bijective base-len(_GIVEN) numeral of n + 1: a different string for every n."""
    n += 1
    chars: list[str] = []
    while n:
        n, rest = divmod(n - 1, len(_GIVEN))
        chars.append(_GIVEN[rest])
    return "".join(reversed(chars))


def valid_row(seq: int = 0, **overrides: object) -> dict[str, Any]:
    """Template values (text as typed: labels, not codes) for pupil number `seq`.

    Every seq in range(MAX_SEQ) gives a different name and ID number; birth date and sex
    agree with the ID number. Keyword arguments replace columns by their Column.key.
    """
    if not 0 <= seq < MAX_SEQ:
        raise ValueError(f"seq must be in 0..{MAX_SEQ - 1}")
    unknown = set(overrides) - set(BY_KEY)
    if unknown:
        raise KeyError(f"not template columns: {sorted(unknown)}")
    day, serial_group = seq % _DAYS, seq // _DAYS
    male = seq % 2 == 0
    birth = _FIRST_BIRTHDAY + dt.timedelta(days=day)
    surname = _SURNAMES[seq % len(_SURNAMES)]
    name = surname + _given_name(seq // len(_SURNAMES))
    father_birth = dt.date(1986, 1, 1) + dt.timedelta(days=day)
    mother_birth = dt.date(1988, 1, 1) + dt.timedelta(days=day)
    address = f"湖南省浏阳市古港镇梅田村{seq % 12 + 1}组{seq % 90 + 1}号"
    row: dict[str, Any] = {
        "name": name,
        "sex": "男" if male else "女",
        "birth_date": f"{birth:%Y%m%d}",
        "birthplace": VILLAGE,
        "native_place": "湖南浏阳",
        "ethnicity": "汉族",
        "nationality": "中国",
        "id_type": "居民身份证",
        "id_number": resident_id(birth, 2 * serial_group + (1 if male else 0)),
        "overseas": "否",
        "political": "群众",
        "health": "健康或良好",
        "name_pinyin": "",
        "former_name": "",
        "id_validity": f"{birth + dt.timedelta(days=400):%Y%m%d}-"
        f"{birth + dt.timedelta(days=400 + 5 * 365):%Y%m%d}",
        "household_region": VILLAGE,
        "household_type": "农业户口",
        "talents": "",
        "aux_number": "",
        "number_in_class": str(seq % 32767 + 1),
        "grade": "小学2024级",
        "class_no": CLASS_NO,
        "entry_year_month": ENTRY_YM,
        "entry_mode": "就近入学",
        "attendance": "走读",
        "source": "正常入学",
        "current_address": address,
        "postal_address": address,
        "home_address": address,
        "phone": f"138{seq:08d}",
        "postcode": "410300",
        "email": "",
        "homepage": "",
        "only_child": "否",
        "preschool": "是",
        "left_behind": "非留守儿童",
        "migrant_child": "否",
        "orphan": "否",
        "martyr_child": "否",
        "inclusive": "非随班就读",
        "disability": "无残疾",
        "gov_funded": "否",
        "needs_aid": "否",
        "boarding_subsidy": "否",
        "distance_km": "1.5",
        "transport": "步行",
        "school_bus": "否",
        "m1_name": surname + "建" + _given_name(seq // len(_SURNAMES)),
        "m1_relation": "父亲",
        "m1_relation_note": "",
        "m1_ethnicity": "汉族",
        "m1_employer": "浏阳市古港镇农业服务中心",
        "m1_address": address,
        "m1_household_region": VILLAGE,
        "m1_phone": f"139{seq:08d}",
        "m1_is_guardian": "是",
        "m1_id_type": "居民身份证",
        "m1_id_number": resident_id(father_birth, 2 * serial_group + 1),
        "m1_post": "",
        "m2_name": "周秀" + _given_name(seq),
        "m2_relation": "母亲",
        "m2_relation_note": "",
        "m2_ethnicity": "汉族",
        "m2_employer": "",
        "m2_address": address,
        "m2_household_region": VILLAGE,
        "m2_phone": f"137{seq:08d}",
        "m2_is_guardian": "是",
        "m2_id_type": "居民身份证",
        "m2_id_number": resident_id(mother_birth, 2 * serial_group),
        "m2_post": "",
    }
    row.update(overrides)
    return row
