"""Versioned divisions (domain.md §2.2): every code the tables have held, with its validity
and successor; a former code is accepted only on a record whose date allows it, and the
refusal names the code that replaced it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError

from shared_apps.regions import history
from shared_apps.regions.models import Region, RegionVersion
from shared_apps.regions.validators import known_codes_reset, validate_region_code

BEFORE = dt.date(2015, 9, 1)  # 宁乡县 430124 was still valid
AFTER = dt.date(2018, 9, 1)  # it became 宁乡市 430182 in 2017


def refusal(code: str, on: dt.date | None = None) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate_region_code(code, on=on)
    return caught.value


# -- the table ---------------------------------------------------------------------------


def test_history_holds_every_current_code_and_the_former_ones(public: None) -> None:
    assert RegionVersion.objects.filter(valid_until__isnull=True).count() == Region.objects.count()
    assert RegionVersion.objects.filter(valid_until__isnull=False).count() > 3000
    old = RegionVersion.objects.get(code="430124000000")
    assert (old.name, old.level, old.valid_from, old.valid_until, old.replaced_by) == (
        "宁乡县",
        3,
        dt.date(1983, 1, 1),
        dt.date(2017, 12, 31),
        "430182000000",
    )
    new = RegionVersion.objects.get(code="430182000000")
    assert (new.name, new.valid_from, new.valid_until) == ("宁乡市", dt.date(2017, 1, 1), None)
    # a township of an earlier table: valid as long as its county, then the township of
    # the same name under the county's successor
    town = RegionVersion.objects.get(code="430124101000")
    assert (town.name, town.level, town.valid_until, town.replaced_by) == (
        "道林镇",
        4,
        dt.date(2017, 12, 31),
        "430182101000",
    )
    # merged into a neighbour, not renamed: the neighbour is named
    assert RegionVersion.objects.get(code="110103000000").replaced_by == "110101000000"
    # a successor that was itself replaced later is followed to today's code
    assert RegionVersion.objects.get(code="432324000000").replaced_by == "430182000000"
    # no former code is in today's table, and every successor is a current code
    assert not Region.objects.filter(
        code__in=RegionVersion.objects.filter(valid_until__isnull=False).values("code")
    ).exists()
    successors = RegionVersion.objects.exclude(replaced_by="").values("replaced_by")
    assert not RegionVersion.objects.filter(code__in=successors, valid_until__isnull=False).exists()


def test_loading_again_changes_no_version(public: None) -> None:
    from shared_apps.regions.services import regions_load

    before = list(RegionVersion.objects.order_by("code").values_list())
    regions_load()
    assert list(RegionVersion.objects.order_by("code").values_list()) == before


@pytest.fixture
def reset_after() -> Iterator[None]:
    yield
    known_codes_reset()


def test_a_code_a_newer_table_drops_is_closed_and_refused_for_new_records(
    public: None, reset_after: None
) -> None:
    from shared_apps.regions.services import _versions_load

    # given: a newer table without 古港镇 (rolled back with the test's transaction)
    current = {
        code: (name, level)
        for code, name, level in Region.objects.values_list("code", "name", "level")
        if code != "430181108000"
    }
    _versions_load(current, as_of=dt.date(2026, 12, 31))
    known_codes_reset()
    # then: its version is closed at the table's date, the Region row stays
    assert RegionVersion.objects.get(code="430181108000").valid_until == dt.date(2026, 12, 31)
    assert Region.objects.filter(code="430181108000").exists()
    error = refusal("430181108201")
    assert error.code == "region_former"
    assert error.messages[0] == (
        "行政区划代码的前9位“430181108”（古港镇）已不在现行区划表中（2026年仍在使用），"
        "请改用现行的行政区划代码。"
    )
    assert validate_region_code("430181108201", on=dt.date(2026, 3, 1)) == "430181108201"


# -- the validator -----------------------------------------------------------------------


@pytest.mark.parametrize("on", [None, dt.date(1990, 1, 1), BEFORE, AFTER])
def test_a_current_code_is_accepted_whatever_the_date(public: None, on: dt.date | None) -> None:
    assert validate_region_code("430182000000", on=on) == "430182000000"
    assert validate_region_code("430181108201", on=on) == "430181108201"


def test_a_former_code_is_refused_for_a_new_record_naming_its_replacement(public: None) -> None:
    error = refusal("430124000000")
    assert error.code == "region_former"
    assert error.messages[0] == (
        "行政区划代码“430124000000”（宁乡县）已于2017年撤销，"
        "现为“430182000000”（宁乡市），请改用新代码。"
    )


def test_a_former_code_is_accepted_on_a_record_from_when_it_was_valid(public: None) -> None:
    assert validate_region_code("430124000000", on=BEFORE) == "430124000000"
    # the year of the change still counts (the history has years only)
    assert validate_region_code("430124000000", on=dt.date(2017, 9, 1)) == "430124000000"


def test_a_former_code_is_refused_on_a_record_from_after_it_was_abolished(public: None) -> None:
    error = refusal("430124000000", on=AFTER)
    assert error.code == "region_former"
    assert "现为“430182000000”（宁乡市）" in error.messages[0]


def test_a_village_of_a_former_township(public: None) -> None:
    # 道林镇 430124101 of 宁乡县 is 430182101 of 宁乡市
    assert validate_region_code("430124101201", on=BEFORE) == "430124101201"
    assert refusal("430124101201").messages[0] == (
        "行政区划代码的前9位“430124101”（道林镇）已不在现行区划表中（2017年仍在使用），"
        "现为“430182101”（道林镇），请改用新代码。"
    )
    assert refusal("430124101201", on=AFTER).code == "region_former"
    assert refusal("430124101400", on=BEFORE).code == "region_village"
    # 偕乐桥镇 430124108 has no successor of its own: its county's is named
    assert refusal("430124108201").messages[0] == (
        "行政区划代码的前9位“430124108”（偕乐桥镇）已不在现行区划表中（2017年仍在使用），"
        "所属县级区划现为“430182”（宁乡市），请改用新代码。"
    )


def test_a_township_no_table_lists_under_a_former_county(public: None) -> None:
    # only the GB/T 10114 ranges can be checked: 150 is a town number no table has
    assert validate_region_code("430124150201", on=BEFORE) == "430124150201"
    assert refusal("430124150201").messages[0] == (
        "行政区划代码的前6位“430124”（宁乡县）已于2017年撤销，"
        "现为“430182”（宁乡市），请改用新代码。"
    )
    assert refusal("430124150201", on=AFTER).code == "region_former"
    assert "第7–9位“700”" in refusal("430124700201", on=BEFORE).messages[0]
    assert refusal("430124150400", on=BEFORE).code == "region_village"


def test_a_merged_code_names_the_neighbour_it_went_to(public: None) -> None:
    assert refusal("110103000000").messages[0] == (
        "行政区划代码“110103000000”（崇文区）已于2010年撤销，"
        "现为“110101000000”（东城区），请改用新代码。"
    )
    assert validate_region_code("110103000000", on=dt.date(2008, 9, 1)) == "110103000000"


def test_a_former_code_without_a_known_successor(public: None) -> None:
    former = RegionVersion.objects.filter(
        valid_until__isnull=False, replaced_by="", level__lte=3
    ).first()
    assert former is not None
    message = refusal(former.code).messages[0]
    assert message.endswith("请改用现行的行政区划代码。")
    assert f"“{former.code}”（{former.name}）已于{former.valid_until.year}年撤销" in message  # type: ignore[union-attr]


@pytest.mark.parametrize("on", [None, BEFORE])
def test_an_unknown_code_is_refused_as_before(public: None, on: dt.date | None) -> None:
    assert refusal("439999000000", on=on).code == "region_unknown"
    assert refusal("430181999201", on=on).code == "region_unknown"
    assert refusal("439999108201", on=on).code == "region_unknown"


# -- the sources, on small inputs ---------------------------------------------------------

LOC = """\
# comment
43 province="湖南省"
  0000 county="湖南省"
  0100 county="长沙市"
  0101 county="[1983-]市辖区"
  0124 county="[1983-2017]宁乡县"
  0182 county="[2017-]宁乡市"
  0190 county="[-1983]甲县,[1984-1990]乙县"
  0191 county="[-1983]丙县,[1990-]丁县"
  0192 county="[1983-1995]东区,[1996-2000]芙蓉区"
  0193 county="[-1999]浏阳县"
"""
EVENTS = """\
# comment
430124\t2017\t430182\t撤县设市\t宁乡县
430190\t1983\t430124\t同名改码\t甲县
430190\t1990\t430182\t撤销\t乙县
"""
TOWNSHIPS = """\
# comment
430124101\t道林镇\t2016
430124108\t偕乐桥镇\t2016
430181199\t某乡\t2016
439900100\t无县镇\t2016
"""
CURRENT = {
    "430000000000": ("湖南省", 1),
    "430100000000": ("长沙市", 2),
    "430182000000": ("宁乡市", 3),
    "430191000000": ("丁县", 3),
    "430181000000": ("浏阳市", 3),
    "430181108000": ("古港镇", 4),
    "430182101000": ("道林镇", 4),
}


def test_loc_dat_spans() -> None:
    spans = history.stdnum_spans(LOC)
    assert "430101" not in spans  # 市辖区 is a statistical grouping, no division
    assert spans["430124"] == history.CodeSpan("430124", "宁乡县", 1983, 2017)
    assert spans["430000"] == history.CodeSpan("430000", "湖南省", None, None)
    # contiguous names make one run; a code given again after a gap starts anew
    assert spans["430190"] == history.CodeSpan("430190", "乙县", None, 1990)
    assert spans["430191"] == history.CodeSpan("430191", "丁县", 1990, None)
    assert spans["430192"] == history.CodeSpan("430192", "芙蓉区", 1983, 2000)


def test_versions_follow_the_events_then_the_name() -> None:
    rows = history.versions(CURRENT, history.stdnum_spans(LOC), history.replacement_events(EVENTS))
    by_code = {r.code: r for r in rows}
    assert set(by_code) == set(CURRENT) | {
        "430124000000",
        "430190000000",
        "430192000000",
        "430193000000",
    }
    assert by_code["430124000000"] == history.Version(
        "430124000000", "宁乡县", 3, dt.date(1983, 1, 1), dt.date(2017, 12, 31), "430182000000"
    )
    # the event at the end of the code's run is taken (1990, not 1983)
    assert by_code["430190000000"].replaced_by == "430182000000"
    assert by_code["430190000000"].name == "乙县"
    # no event and no unique name: none is named
    assert by_code["430192000000"].replaced_by == ""
    # no event: the only current county of that name stem in the province
    assert by_code["430193000000"].replaced_by == "430181000000"
    assert by_code["430182000000"].valid_from == dt.date(2017, 1, 1)
    assert by_code["430181108000"] == history.Version("430181108000", "古港镇", 4, None, None, "")
