"""The bureau dashboard (issue 16): exact figures of every breakdown on hand-made
SchoolCount rows, the scope of each kind of officer, drill-down to the class, the
monthly snapshot, exports, the PDF report and the API.

The live counts are written here directly (every SchoolCount row of the test world is
first removed inside the test's transaction): this suite tests what the dashboard reads
and how it counts, not how the counts are kept (that is student_index's suite).

The cells, hand-made (stage primary everywhere; sex 1 男, 2 女; ethnicity 01 汉族, 03 回族):

    school  year sex eth status audit            n   flags
    A       2024  1  01  01     registered      10   left_behind 3, boarding 2, only_child 4
    A       2024  2  01  01     registered       8   left_behind 1
    A       2023  1  03  01     registered       5   disability 1
    A       2024  2  01  01     county_pending   2   left_behind 2 (not 在读: not counted)
    A       2023  1  01  02     registered       1   (休学)
    A       2024  1  01  01     draft            1
    A       2024  2  01  01     deleted          4   (counted nowhere)
    B       2024  2  01  01     registered       6   migrant_child 2
    B       2022  1  01  10     registered       1   (转学（转出）)
    B       2022  1  01  01     registered       3
    C       2024  1  01  01     registered       7   needs_aid 7
    C       2024  2  01  01     problem          2

Hence, by hand, for 浏阳市 (A + B):
    在读 A: 男 10+5 = 15, 女 8, 23; 未注册 2+1 = 3.   B: 男 3, 女 6, 9; 未注册 0.
    在读 total 男 18, 女 14, 32; 未注册 3.
    grades: 2024 男 10, 女 8+6 = 14, 24, 未注册 3; 2023 男 5, 5; 2022 男 3, 3.
    status: 在读 18/14/32; 休学 1/0/1; 转学（转出） 1/0/1; 待教育局审核 0/2/2; 待提交 1/0/1.
    ethnicity: 汉族 男 10+3 = 13, 女 14, 27; 回族 男 5, 5.
    flags (在读 only): 留守 3/1/4, 随迁 0/2/2, 残疾 1/0/1, 寄宿 2/0/2, 独生 4/0/4, 资助 0, 一补 0.
and for 宁乡市 (C): 在读 男 7, 7; 未注册 女 2 (问题学籍); 需要申请资助 7/0/7.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from conftest import PASSWORD, World, login

TOWN_A = "430181001"  # 淮川街道 (浏阳市)
TOWN_B = "430181002"
LIUYANG, NINGXIANG = "430181", "430182"

CELLS: list[tuple[str, int, str, str, str, str, int, dict[str, int]]] = [
    (
        "a",
        2024,
        "1",
        "01",
        "01",
        "registered",
        10,
        {"left_behind": 3, "boarding": 2, "only_child": 4},
    ),
    ("a", 2024, "2", "01", "01", "registered", 8, {"left_behind": 1}),
    ("a", 2023, "1", "03", "01", "registered", 5, {"disability": 1}),
    ("a", 2024, "2", "01", "01", "county_pending", 2, {"left_behind": 2}),
    ("a", 2023, "1", "01", "02", "registered", 1, {}),
    ("a", 2024, "1", "01", "01", "draft", 1, {}),
    ("a", 2024, "2", "01", "01", "deleted", 4, {}),
    ("b", 2024, "2", "01", "01", "registered", 6, {"migrant_child": 2}),
    ("b", 2022, "1", "01", "10", "registered", 1, {}),
    ("b", 2022, "1", "01", "01", "registered", 3, {}),
    ("c", 2024, "1", "01", "01", "registered", 7, {"needs_aid": 7}),
    ("c", 2024, "2", "01", "01", "problem", 2, {}),
]


def _grade(entry_year: int, today: dt.date | None = None) -> str:
    """The grade's name as a person would say it today (school year from 1 September)."""
    today = today or timezone.localdate()
    year = today.year if today.month >= 9 else today.year - 1
    names = ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"]
    index = year - entry_year
    cohort = f"小学{entry_year}级"
    return f"{names[index]}（{cohort}）" if 0 <= index < 6 else cohort


@pytest.fixture
def counts(world: World, public: None) -> dict[str, int]:
    """The cells above as SchoolCount rows; schools A and B placed in two townships."""
    from shared_apps.student_index.models import SchoolCount
    from tenants.models import School

    SchoolCount.objects.all().delete()
    School.objects.filter(pk=world.a.id).update(location_code=TOWN_A + "000")
    School.objects.filter(pk=world.b.id).update(location_code=TOWN_B + "000")
    ids = {"a": world.a.id, "b": world.b.id, "c": world.c.id}
    for key, year, sex, eth, status, audit, n, flags in CELLS:
        SchoolCount.objects.create(
            school_id=ids[key],
            stage="primary",
            entry_year=year,
            sex=sex,
            ethnicity=eth,
            status=status,
            audit_state=audit,
            students=n,
            **flags,
        )
    return ids


def _user(username: str) -> Any:
    from accounts.models import User

    return User.objects.get(username=username)


@pytest.fixture
def city_officer(public: None) -> str:
    """An officer of 长沙市 (430100): both test counties are under it."""
    from accounts.models import User
    from accounts.services import user_create

    user_create(
        username="changsha",
        full_name="长沙学籍",
        roles=["bureau_registrar"],
        region_id="430100000000",
    )
    user = User.objects.get(username="changsha")
    user.set_password(PASSWORD)
    user.must_change_password = False
    user.save()
    return "changsha"


def _tables(scope: Any) -> tuple[Any, dict[str, Any]]:
    from shared_apps.bureau.dashboard.selectors import dashboard

    totals, tables = dashboard(scope)
    return totals, {t.key: t for t in tables}


def _rows(table: Any) -> list[tuple[str, list[Any]]]:
    return [(r.label, r.values) for r in table.rows]


def _town(code: str) -> str:
    from shared_apps.regions.models import Region

    return Region.objects.get(code=code + "000").name


def test_county_officer_figures_are_exact(world: World, counts: dict[str, int]) -> None:
    from shared_apps.bureau.dashboard.selectors import scope_for

    scope = scope_for(_user(world.bureau_user))
    assert scope is not None
    assert scope.level == "region"
    assert not scope.multi_county
    assert {s.name for s in scope.schools} == {world.a.name, world.b.name}
    totals, t = _tables(scope)
    assert (totals.schools, totals.male, totals.female, totals.in_school, totals.pending) == (
        2,
        18,
        14,
        32,
        3,
    )
    assert list(t) == [
        "townships",
        "schools",
        "stages",
        "grades",
        "sexes",
        "status",
        "ethnicities",
        "flags",
        "trend",
    ]
    assert _rows(t["townships"]) == [
        (_town(TOWN_A), [15, 8, 23, 3]),
        (_town(TOWN_B), [3, 6, 9, 0]),
    ]
    assert _rows(t["schools"]) == [(world.a.name, [15, 8, 23, 3]), (world.b.name, [3, 6, 9, 0])]
    assert t["schools"].columns == ["男", "女", "在读合计", "未注册"]
    assert _rows(t["stages"]) == [("小学", [18, 14, 32, 3])]
    assert _rows(t["grades"]) == [
        (_grade(2024), [10, 14, 24, 3]),
        (_grade(2023), [5, 0, 5, 0]),
        (_grade(2022), [3, 0, 3, 0]),
    ]
    assert _rows(t["sexes"]) == [("男", [18]), ("女", [14])]
    status = dict(_rows(t["status"]))
    assert status["在读"] == [18, 14, 32]
    assert status["休学"] == [1, 0, 1]
    assert status["转学（转出）"] == [1, 0, 1]
    assert status["未注册：待教育局审核"] == [0, 2, 2]
    assert status["未注册：待提交"] == [1, 0, 1]
    assert status["未注册：问题学籍"] == [0, 0, 0]
    assert status["毕业"] == [0, 0, 0]
    # every line is shown, zeros included, and the deleted records are on none
    assert sum(v[2] for v in status.values()) == 32 + 1 + 1 + 2 + 1
    assert _rows(t["ethnicities"]) == [("汉族", [13, 14, 27]), ("回族", [5, 0, 5])]
    assert _rows(t["flags"]) == [
        ("留守儿童", [3, 1, 4]),
        ("进城务工人员随迁子女", [0, 2, 2]),
        ("残疾/随班就读", [1, 0, 1]),
        ("寄宿（住校）", [2, 0, 2]),
        ("需要申请资助", [0, 0, 0]),
        ("享受一补", [0, 0, 0]),
        ("独生子女", [4, 0, 4]),
    ]
    # the trend's last row is today's live figure; earlier months have no snapshot
    trend = _rows(t["trend"])
    assert len(trend) == 12
    assert trend[-1][1] == [18, 14, 32, 3]
    assert trend[0][1] == [None, None, None, None]
    # every breakdown has its chart
    assert all(table.chart is not None for table in t.values())


def test_other_county_sees_only_its_own(world: World, counts: dict[str, int]) -> None:
    from shared_apps.bureau.dashboard.selectors import scope_for

    user = _user(world.other_bureau_user)
    scope = scope_for(user)
    assert scope is not None
    assert [s.name for s in scope.schools] == [world.c.name]
    totals, t = _tables(scope)
    assert (totals.male, totals.female, totals.in_school, totals.pending) == (7, 0, 7, 2)
    assert _rows(t["schools"]) == [(world.c.name, [7, 0, 7, 2])]
    assert dict(_rows(t["flags"]))["需要申请资助"] == [7, 0, 7]
    assert dict(_rows(t["status"]))["未注册：问题学籍"] == [0, 2, 2]
    # 浏阳市, its townships and its schools are not 宁乡市's to open
    assert scope_for(user, county=LIUYANG) is None
    assert scope_for(user, township=TOWN_A) is None
    assert scope_for(user, school_id=world.a.id) is None
    assert scope_for(user, school_id=world.a.id, stage="primary", entry_year=2024) is None


def test_city_officer_sees_both_counties_with_a_county_column(
    world: World, counts: dict[str, int], city_officer: str
) -> None:
    from shared_apps.bureau.dashboard.selectors import scope_for

    user = _user(city_officer)
    scope = scope_for(user)
    assert scope is not None
    assert scope.multi_county
    totals, t = _tables(scope)
    assert (totals.schools, totals.male, totals.female, totals.in_school, totals.pending) == (
        3,
        25,
        14,
        39,
        5,
    )
    assert list(t)[:2] == ["counties", "schools"]
    assert _rows(t["counties"]) == [("浏阳市", [18, 14, 32, 3]), ("宁乡市", [7, 0, 7, 2])]
    assert t["schools"].columns == ["县（市、区）", "男", "女", "在读合计", "未注册"]
    assert _rows(t["schools"]) == [
        (world.a.name, ["浏阳市", 15, 8, 23, 3]),
        (world.b.name, ["浏阳市", 3, 6, 9, 0]),
        (world.c.name, ["宁乡市", 7, 0, 7, 2]),
    ]
    # drilling into one county gives that county's townships
    county = scope_for(user, county=LIUYANG)
    assert county is not None
    _, ct = _tables(county)
    assert _rows(ct["townships"]) == [
        (_town(TOWN_A), [15, 8, 23, 3]),
        (_town(TOWN_B), [3, 6, 9, 0]),
    ]
    # a county outside 长沙市 is not the city's
    assert scope_for(user, county="430281") is None


def test_operator_sees_everything(world: World, counts: dict[str, int]) -> None:
    from shared_apps.bureau.dashboard.selectors import scope_for

    scope = scope_for(_user(world.operator))
    assert scope is not None
    assert scope.multi_county
    totals, t = _tables(scope)
    assert (totals.in_school, totals.pending) == (39, 5)
    rows = dict(_rows(t["schools"]))
    assert rows[world.a.name] == ["浏阳市", 15, 8, 23, 3]
    assert rows[world.c.name] == ["宁乡市", 7, 0, 7, 2]
    assert dict(_rows(t["counties"]))["宁乡市"] == [7, 0, 7, 2]


def test_drill_down_township_school_grade_class(world: World, counts: dict[str, int]) -> None:
    from shared_apps.bureau.dashboard.selectors import scope_for
    from tenant_apps.registry.models import SchoolClass, Student
    from tenants.context import school_context

    user = _user(world.bureau_user)
    township = scope_for(user, township=TOWN_A)
    assert township is not None
    totals, t = _tables(township)
    assert totals.in_school == 23
    assert _rows(t["schools"]) == [(world.a.name, [15, 8, 23, 3])]
    school = scope_for(user, school_id=world.a.id)
    assert school is not None
    _, st = _tables(school)
    assert list(st) == ["grades", "sexes", "status", "ethnicities", "flags", "trend"]
    assert _rows(st["grades"]) == [(_grade(2024), [10, 8, 18, 3]), (_grade(2023), [5, 0, 5, 0])]
    assert st["grades"].rows[0].drill == ("grade", f"{world.a.id}:primary:2024")
    # The class level is read inside school A: two more pupils of the world's class, a
    # second class with one 在读 girl. The world's pupil is a draft (未注册).
    with school_context(world.a.schema):
        first = SchoolClass.objects.get(stage="primary", entry_year=2024, number=1)
        second = SchoolClass.objects.create(
            stage="primary",
            entry_year=2024,
            number=2,
            class_no=SchoolClass.make_class_no("primary", 2024, 2),
        )
        for klass, sex, number in ((first, "1", 2), (first, "2", 3), (second, "2", 1)):
            Student.objects.create(
                name=f"统计{number}{sex}",
                sex=sex,
                birth_date=dt.date(2018, 5, 1),
                birthplace="430181108000",
                household_region="430181108000",
                school_class=klass,
                number_in_class=number,
                entry_year_month="202409",
                audit_state="registered",
                status="01",
            )
        names = [first.name, second.name]
    connection.set_schema_to_public()
    grade = scope_for(user, school_id=world.a.id, stage="primary", entry_year=2024)
    assert grade is not None
    totals, gt = _tables(grade)
    assert _rows(gt["classes"]) == [(names[0], [1, 1, 2, 1]), (names[1], [0, 1, 1, 0])]
    assert (totals.male, totals.female, totals.in_school, totals.pending) == (1, 2, 3, 1)
    # an unknown stage or a missing year is no scope
    assert scope_for(user, school_id=world.a.id, stage="nursery", entry_year=2024) is None


def test_pages_drill_and_refuse_other_regions(
    world: World, counts: dict[str, int], bureau_host: str
) -> None:
    client = login(bureau_host, world.bureau_user)
    body = client.get("/bureau/dashboard/").content.decode()
    assert world.a.name in body
    assert world.b.name in body
    assert world.c.name not in body
    assert f'href="/bureau/dashboard/township/{TOWN_A}/"' in body
    assert f'href="/bureau/dashboard/school/{world.a.id}/"' in body
    assert "data-chart" in body
    # no internal identifier on the page
    assert world.a.schema not in body
    page = client.get(f"/bureau/dashboard/township/{TOWN_A}/").content.decode()
    assert world.a.name in page
    assert world.b.name not in page
    school = client.get(f"/bureau/dashboard/school/{world.a.id}/").content.decode()
    assert f'href="/bureau/dashboard/school/{world.a.id}/grade/primary/2024/"' in school
    assert f"/bureau/dashboard/school/{world.a.id}/stats/status/" in school
    grade = client.get(f"/bureau/dashboard/school/{world.a.id}/grade/primary/2024/")
    assert grade.status_code == 200
    assert "小学2024级(01)班" in grade.content.decode()
    for path in (
        f"/bureau/dashboard/county/{NINGXIANG}/",
        f"/bureau/dashboard/school/{world.c.id}/",
        f"/bureau/dashboard/school/{world.c.id}/grade/primary/2024/",
        f"/bureau/dashboard/school/{world.c.id}/stats/status/",
        "/bureau/dashboard/township/999999999/",
        "/bureau/dashboard/county/abc/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert world.c.name not in response.content.decode()


def test_school_stats_read_only_through_the_facade(
    world: World, counts: dict[str, int], bureau_host: str
) -> None:
    """The school's own 查询统计 (live, from its registry): the world's pupil of A is a
    draft, so 在读 is 0 and 未注册：待提交 is 1 (a boy)."""
    client = login(bureau_host, world.bureau_user)
    response = client.get(f"/bureau/dashboard/school/{world.a.id}/stats/status/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "未注册：待提交" in body
    api = client.get(f"/api/v1/dashboard/schools/{world.a.id}/stats/status/").json()
    rows = {r["item"]: r["values"] for r in api["rows"]}
    assert rows["在读"] == [0, 0, 0]
    assert rows["未注册：待提交"] == [1, 0, 1]
    assert api["school"] == world.a.name
    # the 流失 table keeps its counts but never the pupils' names
    attrition = client.get(f"/bureau/dashboard/school/{world.a.id}/stats/attrition/")
    assert attrition.status_code == 200
    assert client.post(f"/bureau/dashboard/school/{world.a.id}/stats/status/").status_code == 405
    other = login(bureau_host, world.other_bureau_user)
    assert other.get(f"/bureau/dashboard/school/{world.a.id}/stats/status/").status_code == 404
    assert other.get(f"/api/v1/dashboard/schools/{world.a.id}/stats/status/").status_code == 404


def test_api_is_scoped_like_the_pages(
    world: World, counts: dict[str, int], bureau_host: str, city_officer: str
) -> None:
    client = login(bureau_host, world.bureau_user)
    data = client.get("/api/v1/dashboard/schools/").json()
    assert data["level"] == "region"
    assert [(r["item"], r["values"]) for r in data["rows"]] == [
        (world.a.name, [15, 8, 23, 3]),
        (world.b.name, [3, 6, 9, 0]),
    ]
    grades = client.get(
        "/api/v1/dashboard/classes/",
        {"school": str(world.a.id), "stage": "primary", "entry_year": "2024"},
    )
    assert grades.status_code == 200
    assert grades.json()["rows"][0]["item"] == "小学2024级(01)班"
    other = login(bureau_host, world.other_bureau_user)
    mine = other.get("/api/v1/dashboard/schools/").json()
    assert [(r["item"], r["values"]) for r in mine["rows"]] == [(world.c.name, [7, 0, 7, 2])]
    for query in ({"county": LIUYANG}, {"township": TOWN_A}, {"school": world.a.id}):
        response = other.get("/api/v1/dashboard/sexes/", query)
        assert response.status_code == 404, query
    bad = other.get("/api/v1/dashboard/sexes/", {"school": "x"})
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "学校参数应为数字。"
    city = login(bureau_host, city_officer)
    counties = city.get("/api/v1/dashboard/counties/").json()
    assert [(r["item"], r["values"]) for r in counties["rows"]] == [
        ("浏阳市", [18, 14, 32, 3]),
        ("宁乡市", [7, 0, 7, 2]),
    ]
    # a county officer's page has no county table
    assert client.get("/api/v1/dashboard/counties/").status_code == 404
    anonymous = Client(HTTP_HOST=bureau_host)
    assert anonymous.get("/api/v1/dashboard/schools/").status_code == 401


def test_month_snapshot_is_idempotent_and_feeds_the_trend(
    world: World, counts: dict[str, int]
) -> None:
    from shared_apps.bureau.dashboard.selectors import scope_for
    from shared_apps.bureau.dashboard.services import month_snapshot_take
    from shared_apps.bureau.models import CountSnapshot, MonthCountyTotal, MonthTotal

    today = timezone.localdate()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    CountSnapshot.objects.all().delete()
    MonthTotal.objects.all().delete()
    MonthCountyTotal.objects.all().delete()
    first = month_snapshot_take(day=last_month + dt.timedelta(days=3))
    again = month_snapshot_take(day=last_month + dt.timedelta(days=9))
    assert first.month == again.month == last_month
    # 12 cells minus the deleted one; no two live cells share school, grade, sex and line.
    assert CountSnapshot.objects.filter(month=last_month).count() == 11
    a = MonthTotal.objects.get(month=last_month, school_id=world.a.id)
    assert (a.in_school_male, a.in_school_female, a.in_school, a.pending) == (15, 8, 23, 3)
    assert a.taken_on == last_month + dt.timedelta(days=9)
    assert MonthTotal.objects.filter(month=last_month).count() == 3
    county = MonthCountyTotal.objects.get(month=last_month, county_id="430181000000")
    assert (county.in_school_male, county.in_school_female, county.in_school) == (18, 14, 32)
    assert county.pending == 3
    scope = scope_for(_user(world.bureau_user))
    assert scope is not None
    _, t = _tables(scope)
    trend = _rows(t["trend"])
    assert trend[-2] == (f"{last_month:%Y-%m}", [18, 14, 32, 3])


def test_exports_and_report(world: World, counts: dict[str, int], bureau_host: str) -> None:
    client = login(bureau_host, world.bureau_user)
    response = client.get("/bureau/dashboard/schools/export/")
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[-3] == ["项目", "男", "女", "在读合计", "未注册"]
    assert rows[-2:] == [[world.a.name, 15, 8, 23, 3], [world.b.name, 3, 6, 9, 0]]
    grade = client.get("/bureau/dashboard/grades/export/", {"school": world.a.id})
    sheet = load_workbook(io.BytesIO(grade.content)).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[-2:] == [[_grade(2024), 10, 8, 18, 3], [_grade(2023), 5, 0, 5, 0]]
    other = login(bureau_host, world.other_bureau_user)
    assert other.get("/bureau/dashboard/schools/export/", {"county": LIUYANG}).status_code == 404
    bad = client.get("/bureau/dashboard/schools/export/", {"county": LIUYANG, "school": "1"})
    assert bad.status_code == 400
    assert "只能指定一个" in bad.content.decode()
    report = client.get("/bureau/dashboard/report/")
    assert report.status_code == 200
    assert report["Content-Type"] == "application/pdf"
    assert report.content.startswith(b"%PDF")
    assert b"NotoSansSC" in report.content  # the CJK font is embedded
    assert client.get("/bureau/dashboard/report/", {"month": "2026-13"}).status_code == 400
    old = client.get("/bureau/dashboard/report/", {"month": "2001-01"})
    assert old.status_code == 400
    assert "没有统计快照" in old.content.decode()


def test_report_rows_are_exact(world: World, counts: dict[str, int]) -> None:
    from shared_apps.bureau.dashboard.report import month_cells, report_rows
    from shared_apps.bureau.dashboard.selectors import scope_for

    scope = scope_for(_user(world.bureau_user))
    assert scope is not None
    month = timezone.localdate().replace(day=1)
    cells, source = month_cells(scope, month)
    assert "实时" in source
    rows = report_rows(scope, cells, month)
    assert rows[:3] == [
        ["【合计】", "", "", ""],
        ["在读学生", "18", "14", "32"],
        ["未注册（不计入在读）", "1", "2", "3"],
    ]
    assert [world.a.name, "15", "8", "23"] in rows
    assert ["休学", "1", "0", "1"] in rows


def test_the_menu_links_the_dashboard(world: World, db: None, bureau_host: str) -> None:
    client = login(bureau_host, world.bureau_user)
    assert 'href="/bureau/dashboard/"' in client.get("/").content.decode()


def _liuyang_totals(world: World) -> tuple[int, int, int, int]:
    from shared_apps.bureau.dashboard.selectors import scope_for

    scope = scope_for(_user(world.bureau_user))
    assert scope is not None
    totals, _ = _tables(scope)
    return (totals.male, totals.female, totals.in_school, totals.pending)


def test_rollups_follow_every_write_to_schoolcount(world: World, counts: dict[str, int]) -> None:
    """The county rollup and SchoolTotal are kept by triggers on SchoolCount: inserts (the
    fixture), an F() update, a delete, a school moved to another county; folding the
    deltas in changes no figure, and a rebuild finds nothing drifted."""
    from django.db.models import F

    from shared_apps.bureau.dashboard.selectors import scope_for
    from shared_apps.bureau.dashboard.services import rollup_fold, rollup_rebuild
    from shared_apps.bureau.models import CountyCount, CountyDelta, SchoolTotal
    from shared_apps.student_index.models import SchoolCount
    from tenants.models import School

    assert _liuyang_totals(world) == (18, 14, 32, 3)
    # two more 在读 boys of A's 2024 汉族 cell
    SchoolCount.objects.filter(
        school_id=world.a.id, entry_year=2024, sex="1", audit_state="registered"
    ).update(students=F("students") + 2)
    assert _liuyang_totals(world) == (20, 14, 34, 3)
    # A's draft boy is deleted outright (counted nowhere then)
    SchoolCount.objects.filter(school_id=world.a.id, audit_state="draft").delete()
    assert _liuyang_totals(world) == (20, 14, 34, 2)
    assert CountyDelta.objects.exists()
    assert rollup_fold() > 0
    assert not CountyDelta.objects.exists()
    assert _liuyang_totals(world) == (20, 14, 34, 2)
    a = SchoolTotal.objects.get(school_id=world.a.id)
    # A: 在读 boys 12 + 5, girls 8; 未注册 the county_pending girls 2 (the draft is gone)
    assert (a.in_school_male, a.in_school_female, a.in_school, a.pending) == (17, 8, 25, 2)
    # B moves to 宁乡市: its 9 在读 go with it
    School.objects.filter(pk=world.b.id).update(county_id="430182000000")
    scope = scope_for(_user(world.other_bureau_user))
    assert scope is not None
    totals, t = _tables(scope)
    assert (totals.male, totals.female, totals.in_school, totals.pending) == (10, 6, 16, 2)
    assert dict(_rows(t["grades"]))[_grade(2022)] == [3, 0, 3, 0]
    assert _liuyang_totals(world) == (17, 8, 25, 2)
    done = rollup_rebuild()
    assert done.drifted == 0
    assert _liuyang_totals(world) == (17, 8, 25, 2)
    # a corrupted cell is found and repaired by the nightly rebuild
    CountyCount.objects.filter(county_id="430181000000", audit_state="registered").update(
        students=F("students") + 100
    )
    repaired = rollup_rebuild()
    assert repaired.drifted > 0
    assert _liuyang_totals(world) == (17, 8, 25, 2)
    assert rollup_rebuild().drifted == 0


def test_the_triggers_count_by_the_registrys_rule() -> None:
    """Migration bureau 0003 writes registry.counts' rule out in SQL (a migration must not
    change with the code): it must be the registry's rule, or a new migration is due."""
    import importlib

    from tenant_apps.registry import facade

    migration = importlib.import_module("shared_apps.bureau.migrations.0003_dashboard")
    d = facade.count_definitions()
    assert (
        d.in_school_audit,
        d.in_school_status,
    ) == (migration.IN_SCHOOL_AUDIT, migration.IN_SCHOOL_STATUS)
    assert (d.male, d.female) == (migration.MALE, migration.FEMALE)
    assert set(migration.PENDING_STATES) == set(d.pending_states)
    flags = [f.strip() for f in migration.FLAGS.split(",")]
    assert flags == [f.key for f in d.flags]
