"""The near keys of 查重 (issue 19 point 7): dialect folding, the surname readings, the
birth keys that a day off or day/month swapped share, the one-syllable cut and mask, and
the one decision (match_kind) with its twin guard. Pure functions: no database."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from shared_apps.student_index.keys import (
    birth_keys,
    folded_pinyin,
    identity_keys,
    match_kind,
    near_keys,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("李林", "李玲"),  # in / ing
        ("王欣", "王星"),
        ("刘南", "刘兰"),  # n / l
        ("陈成", "陈晨"),  # eng / en, ch / c
        ("周志", "周紫"),  # zh / z
        ("胡红", "胡宏"),  # the same reading
    ],
)
def test_dialect_folds_make_southern_near_homophones_one_key(a: str, b: str) -> None:
    assert folded_pinyin(a) == folded_pinyin(b)


def test_the_folds_keep_what_no_dialect_merges_apart() -> None:
    assert folded_pinyin("李林") != folded_pinyin("李兵")
    assert folded_pinyin("王芳") != folded_pinyin("王荒")  # the vowel differs too: a cut key


def test_a_polyphonic_surname_is_read_as_a_surname_only_in_first_place() -> None:
    assert folded_pinyin("曾子") == folded_pinyin("增子")  # zeng, not ceng
    assert folded_pinyin("子曾") != folded_pinyin("子增")  # 曾 as a given name: ceng
    assert folded_pinyin("仇明") == folded_pinyin("求明")  # qiu, not chou


def test_traditional_characters_share_the_fold_of_their_simplified_form() -> None:
    assert folded_pinyin("張軒") == folded_pinyin("张轩")
    assert folded_pinyin("劉夢瑤") == folded_pinyin("刘梦瑶")


def _share(a: dt.date, b: dt.date) -> bool:
    return bool(set(birth_keys(a)) & set(birth_keys(b)))


def test_birth_keys_are_shared_a_day_apart_and_day_month_swapped_only() -> None:
    d = dt.date(2016, 3, 5)
    assert _share(d, d)
    assert _share(d, d + dt.timedelta(days=1))
    assert _share(d, d - dt.timedelta(days=1))
    assert _share(d, dt.date(2016, 5, 3))  # day and month swapped
    assert not _share(d, d + dt.timedelta(days=2))
    assert not _share(d, dt.date(2017, 3, 5))
    assert not _share(dt.date(2016, 3, 25), dt.date(2016, 3, 27))
    # every pair of consecutive days in a span shares a key, none two days apart does
    days = [dt.date(2015, 12, 25) + dt.timedelta(days=i) for i in range(20)]
    assert all(_share(x, y) for x, y in zip(days, days[1:], strict=False))
    assert not any(_share(x, y) for x, y in zip(days, days[2:], strict=False) if x.day > 12)


def test_one_syllable_cut_to_its_initial_reaches_a_near_homophone_with_another_vowel() -> None:
    born = dt.date(2016, 3, 5)
    a_review, a_low = near_keys(name="张芳林", sex="2", birth_date=born)
    b_review, b_low = near_keys(name="张荒林", sex="2", birth_date=born + dt.timedelta(days=1))
    assert set(a_review) & set(b_review), "fang / huang share the initial f once h/f fold"
    c_review, _ = near_keys(name="张明林", sex="2", birth_date=born)
    assert not set(a_review) & set(c_review), "another initial: not for review"


def test_the_masked_syllable_family_goes_to_the_low_list_only() -> None:
    born = dt.date(2016, 3, 5)
    a_review, a_low = near_keys(name="张芳林", sex="2", birth_date=born)
    c_review, c_low = near_keys(name="张明林", sex="2", birth_date=born)
    assert set(a_low) & set(c_low)
    assert not set(a_review) & set(c_review)
    # the given name of a two-character name is never masked: a surname is no evidence
    _, d_low = near_keys(name="张芳", sex="2", birth_date=born)
    _, e_low = near_keys(name="张明", sex="2", birth_date=born)
    assert not set(d_low) & set(e_low)


def test_identity_keys_carry_only_digests() -> None:
    k = identity_keys(name="张芳林", sex="2", birth_date=dt.date(2016, 3, 5), id_number="")
    # 3 folded-pinyin digests (one per birth key), 3 x 3 cut and 3 x 3 masked syllables
    assert len(k.near_hashes) == 3 + 9
    assert len(k.low_hashes) == 9
    for h in (*k.near_hashes, *k.low_hashes):
        assert re.fullmatch("[0-9a-f]{32}", h), "an HMAC digest, nothing readable"


def test_match_kind_same_id_blocks_and_the_twin_guard_keeps_two_ids_out_of_review() -> None:
    assert match_kind("id", "a", "a") == "duplicate"
    assert match_kind("name_sex_birth", "a", "a") is None  # the ID rule reports it
    assert match_kind("near", "", "b") == "suspected"
    assert match_kind("pinyin_birth", "a", "") == "suspected"
    # two different (validated) ID numbers: twins or namesakes, never 疑似
    assert match_kind("name_sex_birth", "a", "b") == "low"
    assert match_kind("near", "a", "b") == "low"
    assert match_kind("low", "a", "b") is None  # and a low key alone is nothing more
    assert match_kind("low", "", "b") == "low"
