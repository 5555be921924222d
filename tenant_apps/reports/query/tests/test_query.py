"""综合查询 (issue 15 point 3): every operator kind, family-member, history, status-line
and marks filters with exact results on a fixture built here; forged definitions refused
with a message; class-teacher scope in results, API and export; masking in page, export
and API; the audit of exports; saved queries per user and per school.

The fixture, in school A (which already holds the sentinel 哨兵甲乙: class 2024101, male,
born 2018-03-01, a draft record, no ethnicity, no family, no marks):

| name | class   | sex | born       | record       | ethnicity | only child | address    | km  |
| 张一 | 2024107 | 男  | 2017-05-01 | 注册·在读    | 汉族      | 是         | 集里街道1号 | 1.5 |
| 李二 | 2024107 | 女  | 2017-09-10 | 注册·在读    | 回族      | 否         | 淮川街道2号 | 3.0 |
| 王三 | 2023108 | 男  | 2016-02-03 | 注册·毕业    | 汉族      | 是         | 集里街道3号 |     |
| 赵四 | 2023108 | 女  | 2016-12-12 | 注册·转出    | 汉族      | (空)       |            |     |
| 钱五 | 2023108 | 男  | 2016-06-06 | 待提交·在读  | 蒙古族    | 否         |            |     |
| 孙六 | 2024107 | 男  | 2017-01-01 | 已删除       | 汉族      | 是         |            |     |

Family: 张一 父亲 张大 (浏阳医院, 13700003333) and 母亲 刘红 (集里小学); 李二 母亲 王芳
(浏阳医院); 王三 祖父母; 孙六 父亲 (浏阳医院). History: 王三 休学 2025-03-01 and 复学
2025-06-01 (已生效); 李二 休学 2025-04-15 (未通过); 赵四 休学 2024-10-01 (已生效).
Marks: 张一 语文 2025-2026/1 优秀 95 and 2024-2025/2 良好 85; 李二 语文 2025-2026/1 合格 70;
钱五 语文 2025-2026/1 良好 80; 王三 数学 2024-2025/2 不合格 50.
The class teacher "teacher" has class 2024107.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook

from conftest import PASSWORD, SENTINEL_STUDENT, World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db

ZHANG_ID = "430181201705010011"
ZHANG_PHONE = "13800001111"
LI_ID = "430181201709100022"


@dataclass(frozen=True)
class Fixture:
    x: int  # class 2024107, the class teacher's
    y: int  # class 2023108


def _user(username: str, roles: list[str], extra: list[str] | None = None) -> None:
    from accounts.models import User
    from accounts.services import user_create

    user_create(username=username, full_name=f"用户{username}", roles=roles)
    user = User.objects.get(username=username)
    user.set_password(PASSWORD)
    user.must_change_password = False
    user.extra_rights = extra or []
    user.save()


@pytest.fixture
def fx(world: World) -> Fixture:
    from tenant_apps.grades.models import Course, Mark
    from tenant_apps.registry.models import FamilyMember, SchoolClass, StatusChange, Student

    A, S = Student.Audit, Student.Status
    with school_context(world.a.schema):
        x = SchoolClass.objects.create(
            stage="primary", entry_year=2024, number=7, class_no="2024107"
        )
        x.teacher_username = "teacher"
        x.save()
        y = SchoolClass.objects.create(
            stage="primary", entry_year=2023, number=8, class_no="2023108"
        )

        def pupil(name: str, klass: Any, n: int, sex: str, born: str, **kw: Any) -> Any:
            return Student.objects.create(
                name=name,
                sex=sex,
                birth_date=dt.date.fromisoformat(born),
                school_class=klass,
                number_in_class=n,
                entry_year_month="202409",
                **kw,
            )

        reg = {"audit_state": A.REGISTERED}
        zhang = pupil(
            "张一", x, 1, "1", "2017-05-01", **reg, ethnicity="01", only_child=True,
            id_number=ZHANG_ID, phone=ZHANG_PHONE, current_address="集里街道1号",
            distance_km="1.5",
        )  # fmt: skip
        li = pupil(
            "李二", x, 2, "2", "2017-09-10", **reg, ethnicity="03", only_child=False,
            id_number=LI_ID, phone="13900002222", current_address="淮川街道2号",
            distance_km="3.0",
        )  # fmt: skip
        wang = pupil(
            "王三", y, 1, "1", "2016-02-03", **reg, status=S.GRADUATED, ethnicity="01",
            only_child=True, current_address="集里街道3号",
        )  # fmt: skip
        zhao = pupil("赵四", y, 2, "2", "2016-12-12", **reg, status=S.TRANSFERRED_OUT,
                     ethnicity="01")  # fmt: skip
        qian = pupil("钱五", y, 3, "1", "2016-06-06", ethnicity="02", only_child=False)
        sun = pupil("孙六", x, 3, "1", "2017-01-01", audit_state=A.DELETED, ethnicity="01",
                    only_child=True)  # fmt: skip

        def member(student: Any, slot: int, name: str, relation: str, employer: str = "",
                   phone: str = "") -> None:  # fmt: skip
            FamilyMember.objects.create(
                student=student, slot=slot, name=name, relation=relation, employer=employer,
                phone=phone,
            )  # fmt: skip

        member(zhang, 1, "张大", "1", "浏阳医院", "13700003333")
        member(zhang, 2, "刘红", "2", "集里小学")
        member(li, 1, "王芳", "2", "浏阳医院")
        member(wang, 1, "王爷爷", "3")
        member(sun, 1, "孙大", "1", "浏阳医院")

        def change(student: Any, kind: str, day: str, state: str = "done") -> None:
            StatusChange.objects.create(
                student=student, kind=kind, change_date=dt.date.fromisoformat(day),
                from_status="01", to_status="02", state=state, created_by="registrar",
            )  # fmt: skip

        change(wang, "SUSPEND", "2025-03-01")
        change(wang, "RESUME", "2025-06-01")
        change(li, "SUSPEND", "2025-04-15", "rejected")
        change(zhao, "SUSPEND", "2024-10-01")

        chinese, maths = Course.objects.get(code="13"), Course.objects.get(code="14")

        def mark(student: Any, course: Any, year: str, term: int, level: int, score: str) -> None:
            Mark.objects.create(
                student=student, course=course, school_year=year, term=term, level=level,
                score=score, entered_by="registrar", entered_at=timezone.now(),
            )  # fmt: skip

        mark(zhang, chinese, "2025-2026", 1, 4, "95")
        mark(zhang, chinese, "2024-2025", 2, 3, "85")
        mark(li, chinese, "2025-2026", 1, 2, "70")
        mark(qian, chinese, "2025-2026", 1, 3, "80")
        mark(wang, maths, "2024-2025", 2, 1, "50")
        return Fixture(x=x.pk, y=y.pk)


def _names(world: World, *conds: dict[str, Any], match: str = "all", **kw: Any) -> list[str]:
    """The names a definition finds, in result order, as a 查看学籍 reader (whole school)."""
    from tenant_apps.reports.query.definition import from_json, validate
    from tenant_apps.reports.query.selectors import query_choices, query_students

    with school_context(world.a.schema):
        choices = query_choices(scope=None)
        d = validate(from_json({"conditions": list(conds), "match": match, **kw}), choices)
        return [s.name for s in query_students(d, scope=None, choices=choices)]


def _set(world: World, *conds: dict[str, Any], match: str = "all") -> set[str]:
    names = _names(world, *conds, match=match)
    assert len(names) == len(set(names)), "a student matches once, whatever joins"
    return set(names)


# -- operators of each kind ------------------------------------------------------------


def test_code_fields_pick_from_their_code_table(world: World, fx: Fixture) -> None:
    assert _set(world, {"field": "s.sex", "op": "in", "values": ["2"]}) == {"李二", "赵四"}
    assert _set(world, {"field": "s.ethnicity", "op": "not_in", "values": ["01"]}) == {
        "李二",
        "钱五",
        SENTINEL_STUDENT,  # no ethnicity recorded: not 汉族 either
    }
    assert _set(world, {"field": "s.ethnicity", "op": "empty"}) == {SENTINEL_STUDENT}
    assert _set(world, {"field": "s.class_no", "op": "in", "values": [str(fx.y)]}) == {
        "王三",
        "赵四",
        "钱五",
    }
    assert _set(world, {"field": "s.grade", "op": "in", "values": ["primary:2023"]}) == {
        "王三",
        "赵四",
        "钱五",
    }


def test_dates_are_between_inclusive_bounds(world: World, fx: Fixture) -> None:
    both = {"field": "s.birth_date", "op": "between", "low": "2017-05-01", "high": "2017-09-10"}
    assert _set(world, both) == {"张一", "李二"}  # 孙六 (2017-01-01) is deleted anyway
    assert _set(world, {"field": "s.birth_date", "op": "between", "low": "2017-06-01"}) == {
        "李二",
        SENTINEL_STUDENT,
    }
    assert _set(world, {"field": "s.birth_date", "op": "between", "high": "2016-06-06"}) == {
        "王三",
        "钱五",
    }


def test_yes_no_fields(world: World, fx: Fixture) -> None:
    field = "s.only_child"
    assert _set(world, {"field": field, "op": "is", "values": ["1"]}) == {"张一", "王三"}
    assert _set(world, {"field": field, "op": "is", "values": ["0"]}) == {"李二", "钱五"}
    assert _set(world, {"field": field, "op": "empty"}) == {"赵四", SENTINEL_STUDENT}


def test_text_numbers_and_masked_identifiers(world: World, fx: Fixture) -> None:
    addr = "s.current_address"
    assert _set(world, {"field": addr, "op": "contains", "values": ["集里"]}) == {"张一", "王三"}
    assert _set(world, {"field": addr, "op": "equals", "values": ["淮川街道2号"]}) == {"李二"}
    assert _set(world, {"field": "s.id_number", "op": "equals", "values": [ZHANG_ID]}) == {"张一"}
    assert _set(world, {"field": "s.distance_km", "op": "between", "low": "1", "high": "2"}) == {
        "张一"
    }
    assert _set(world, {"field": "s.distance_km", "op": "between", "low": "2"}) == {"李二"}


def test_family_members_match_when_any_member_does(world: World, fx: Fixture) -> None:
    hospital = {"field": "m.employer", "op": "contains", "values": ["浏阳医院"]}
    assert _set(world, hospital) == {"张一", "李二"}  # 孙六's father: a deleted record
    assert _set(world, {"field": "m.relation", "op": "in", "values": ["3"]}) == {"王三"}
    # 张一's mother (slot 2) matches as well as a first member would
    assert _set(world, {"field": "m.name", "op": "equals", "values": ["刘红"]}) == {"张一"}


def test_status_lines_find_the_archives(world: World, fx: Fixture) -> None:
    line = "line"
    assert _set(world, {"field": line, "op": "in", "values": ["status_07", "status_10"]}) == {
        "王三",
        "赵四",
    }
    assert _set(world, {"field": line, "op": "in", "values": ["in_school"]}) == {"张一", "李二"}
    assert _set(world, {"field": line, "op": "in", "values": ["audit_draft"]}) == {
        "钱五",
        SENTINEL_STUDENT,
    }


def test_history_finds_effective_changes_of_a_kind_between_dates(world: World, fx: Fixture) -> None:
    in_2025 = {"low": "2025-01-01", "high": "2025-12-31"}
    suspend = {"field": "history", "op": "between", "values": ["SUSPEND"]}
    # 李二's 休学 of 2025 was rejected; 赵四's was in 2024
    assert _set(world, suspend | in_2025) == {"王三"}
    assert _set(world, suspend | {"low": "2024-01-01"}) == {"王三", "赵四"}
    assert _set(world, {"field": "history", "op": "between", "values": ["RESUME"]} | in_2025) == {
        "王三"
    }
    assert _set(world, {"field": "history", "op": "between", "low": "2024-09-01"}) == {
        "王三",
        "赵四",
    }


def test_marks_by_course_term_level_and_score(world: World, fx: Fixture) -> None:
    chinese = {"field": "marks", "course": "13"}
    assert _set(world, chinese | {"op": "level_gte", "values": ["3"]}) == {"张一", "钱五"}
    assert _set(world, chinese | {"op": "level_gte", "values": ["4"], "term": "2024-2025-2"}) == (
        set()
    )
    assert _set(world, chinese | {"op": "level_eq", "values": ["3"], "term": "2024-2025-2"}) == {
        "张一"
    }
    assert _set(world, chinese | {"op": "level_lte", "values": ["2"]}) == {"李二"}
    assert _set(world, chinese | {"op": "score_between", "low": "70", "high": "80"}) == {
        "李二",
        "钱五",
    }
    maths = {"field": "marks", "course": "14", "op": "level_eq", "values": ["1"]}
    assert _set(world, maths) == {"王三"}


def test_filters_combine_with_and_or_any(world: World, fx: Fixture) -> None:
    boys = {"field": "s.sex", "op": "in", "values": ["1"]}
    in_school = {"field": "line", "op": "in", "values": ["in_school"]}
    hospital = {"field": "m.employer", "op": "contains", "values": ["浏阳医院"]}
    assert _set(world, boys, in_school, hospital) == {"张一"}
    girls = {"field": "s.sex", "op": "in", "values": ["2"]}
    failed = {"field": "marks", "course": "14", "op": "level_eq", "values": ["1"]}
    assert _set(world, girls, failed, match="any") == {"李二", "赵四", "王三"}


def test_results_sort_by_a_column(world: World, fx: Fixture) -> None:
    in_school = {"field": "line", "op": "in", "values": ["in_school"]}
    assert _names(world, in_school, sort="birth_date", desc=True) == ["李二", "张一"]
    assert _names(world, in_school, sort="birth_date") == ["张一", "李二"]
    y = {"field": "s.class_no", "op": "in", "values": [str(fx.y)]}
    assert _names(world, y, sort="name", desc=True) == sorted(["王三", "赵四", "钱五"])[::-1]


# -- forged and invalid definitions ------------------------------------------------------


def _page(client: Any, params: list[tuple[str, str]]) -> Any:
    response = client.get("/reports/query/?" + urlencode(params))
    connection.set_schema_to_public()
    return response


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([("f0", "s.evil"), ("o0", "in"), ("v0", "1")], "第1个条件的字段无法识别"),
        ([("f0", "s.sex"), ("o0", "regex"), ("v0", "1")], "条件“性别”不支持所选的比较方式"),
        ([("f0", "s.sex"), ("o0", "in"), ("v0", "9")], "条件“性别”的取值不在可选范围内"),
        ([("f0", "s.birth_date"), ("o0", "between"), ("lo0", "2017-13-01")], "“出生日期”的日期"),
        (
            [
                ("f0", "s.birth_date"),
                ("o0", "between"),
                ("lo0", "2018-01-01"),
                ("hi0", "2017-01-01"),
            ],
            "“出生日期”的起始日期晚于截止日期",
        ),
        ([("f0", "s.id_number"), ("o0", "contains"), ("v0", "2017")], "“身份证件号”不支持"),
        ([("f0", "s.distance_km"), ("o0", "between"), ("lo0", "x")], "“上下学距离”的取值应为数字"),
        ([("f0", "marks"), ("o0", "level_gte"), ("v0", "3")], "条件“成绩”请选择课程"),
        ([("f0", "marks"), ("o0", "level_gte"), ("v0", "3"), ("c0", "13"), ("t0", "x")], "学期"),
        ([("col", "password")], "所选的列中有无法识别的列"),
        ([("sort", "m1_name")], "排序列无法识别"),
        ([("f0", "history"), ("o0", "between"), ("v0", "EVIL"), ("lo0", "2025-01-01")], "异动"),
    ],
)
def test_forged_or_invalid_filters_are_refused_with_a_message(
    world: World, fx: Fixture, params: list[tuple[str, str]], message: str
) -> None:
    response = _page(login(world.a.host, "registrar"), params)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert "q-results" not in body, "a refused definition does not run"


def test_the_api_refuses_a_forged_definition_with_400(world: World, fx: Fixture) -> None:
    client = login(world.a.host, "registrar")
    for definition in (
        {"conditions": [{"field": "s.evil", "op": "in", "values": ["1"]}]},
        {"conditions": "nonsense"},
        {"conditions": [{"field": "s.sex", "op": "in", "values": ["1"]}], "columns": ["x"]},
        "not an object",
    ):
        response = client.post(
            "/api/v1/reports/query/", {"definition": definition}, content_type="application/json"
        )
        connection.set_schema_to_public()
        assert response.status_code == 400, definition
        assert response.json()["error"]["message"]


# -- pages: results, pagination, masking, scope ------------------------------------------


def test_the_page_runs_a_query_with_chosen_columns_and_masks(world: World, fx: Fixture) -> None:
    params = [
        ("f0", "line"), ("o0", "in"), ("v0", "in_school"),
        ("col", "name"), ("col", "id_number"), ("col", "phone"), ("col", "m1_phone"),
        ("col", "m1_name"), ("sort", "name"),
    ]  # fmt: skip
    response = _page(login(world.a.host, "registrar"), params)
    body = response.content.decode()
    assert response.status_code == 200
    assert "共 2 名学生" in body
    assert "4301**********0011" in body
    assert ZHANG_ID not in body
    assert "138****1111" in body
    assert ZHANG_PHONE not in body
    assert "137****3333" in body
    assert "13700003333" not in body
    assert "张大" in body
    assert "王芳" in body
    assert "钱五" not in body


def test_results_are_paged_by_30(world: World, fx: Fixture) -> None:
    from tenant_apps.registry.models import SchoolClass, Student

    with school_context(world.a.schema):
        klass = SchoolClass.objects.get(pk=fx.x)
        Student.objects.bulk_create(
            Student(
                name=f"批量{n:02d}", sex="1", birth_date=dt.date(2017, 1, 1), school_class=klass,
                number_in_class=10 + n, entry_year_month="202409",
            )
            for n in range(31)
        )  # fmt: skip
    client = login(world.a.host, "registrar")
    params = [("f0", "s.name"), ("o0", "contains"), ("v0", "批量"), ("sort", "name")]
    first = _page(client, params).content.decode()
    second = _page(client, [*params, ("page", "2")]).content.decode()
    assert "共 31 名学生" in first
    assert "第 1 / 2 页" in first
    assert "批量29" in first
    assert "批量30" not in first
    assert "批量30" in second
    assert "批量00" not in second


def test_a_class_teacher_finds_only_own_classes(world: World, fx: Fixture) -> None:
    client = login(world.a.host, "teacher")
    body = _page(client, [("col", "name")]).content.decode()
    assert "共 2 名学生" in body
    assert "张一" in body
    assert "李二" in body
    assert "王三" not in body
    assert SENTINEL_STUDENT not in body
    # another class, forged into the URL, is no choice of theirs
    forged = _page(client, [("f0", "s.class_no"), ("o0", "in"), ("v0", str(fx.y))])
    assert "条件“班级”的取值不在可选范围内" in forged.content.decode()
    api = client.post(
        "/api/v1/reports/query/",
        {"definition": {"columns": ["name"]}},
        content_type="application/json",
    )
    assert api.status_code == 200
    assert api.json()["count"] == 2
    assert {r["name"] for r in api.json()["results"]} == {"张一", "李二"}


def _sheet(data: bytes) -> list[tuple[Any, ...]]:
    ws = load_workbook(io.BytesIO(data)).active
    assert ws is not None
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def test_a_class_teacher_with_print_rights_exports_own_classes_only(
    world: World, fx: Fixture
) -> None:
    from accounts.models import User

    with school_context(world.a.schema):
        user = User.objects.get(username="teacher")
        user.extra_rights = ["reports.print"]
        user.save()
    client = login(world.a.host, "teacher")
    response = client.get("/reports/query/export/?" + urlencode([("col", "name"), ("col", "sex")]))
    connection.set_schema_to_public()
    assert response.status_code == 200
    assert _sheet(response.content) == [("姓名", "性别"), ("张一", "男"), ("李二", "女")]


def test_export_needs_print_or_data_rights(world: World, fx: Fixture) -> None:
    for username, status in (("principal", 403), ("teacher", 403), ("registrar", 200)):
        response = login(world.a.host, username).get("/reports/query/export/")
        connection.set_schema_to_public()
        assert response.status_code == status, username
    with school_context(world.a.schema):
        _user("dataonly", [], ["data.manage", "registry.view"])
    response = login(world.a.host, "dataonly").get("/reports/query/export/")
    assert response.status_code == 200


def _audits(world: World) -> list[Any]:
    from accounts.models import AuditEntry

    with school_context(world.a.schema):
        return list(AuditEntry.objects.filter(action__startswith="read.export").order_by("-id")[:1])


def test_export_is_masked_unless_full_and_audited(world: World, fx: Fixture) -> None:
    client = login(world.a.host, "registrar")
    params = [("f0", "s.sex"), ("o0", "in"), ("v0", "1"), ("col", "name"), ("col", "id_number"),
              ("col", "phone"), ("sort", "name")]  # fmt: skip
    masked = client.get("/reports/query/export/?" + urlencode(params))
    connection.set_schema_to_public()
    rows = _sheet(masked.content)
    assert rows[0] == ("姓名", "身份证件号", "联系电话")
    # 男, not deleted: 张一, 王三, 钱五 and the sentinel (sorted by name)
    assert sorted(r[0] for r in rows[1:]) == sorted(["张一", "王三", "钱五", SENTINEL_STUDENT])
    zhang = next(r for r in rows if r[0] == "张一")
    assert zhang == ("张一", "4301**********0011", "138****1111")
    (entry,) = _audits(world)
    assert entry.action == "read.export"
    assert entry.username == "registrar"
    assert entry.after["rows"] == 4
    assert entry.after["filters"]["conditions"] == [{"field": "s.sex", "op": "in", "values": ["1"]}]

    full = client.get("/reports/query/export/?" + urlencode([*params, ("full", "1")]))
    connection.set_schema_to_public()
    assert ("张一", ZHANG_ID, ZHANG_PHONE) in _sheet(full.content)
    (entry,) = _audits(world)
    assert entry.action == "read.export.full"
    assert entry.after["rows"] == 4


def test_full_numbers_need_a_registry_view_right(world: World, fx: Fixture) -> None:
    from tenant_apps.registry.models import ClassRight

    with school_context(world.a.schema):
        # 打印中心 and 查询统计, a read right on class 2024107, but no 查看学籍 of any kind
        _user("printer", [], ["reports.print", "stats.view"])
        ClassRight.objects.create(user_username="printer", school_class_id=fx.x)
    client = login(world.a.host, "printer")
    response = client.get("/reports/query/export/?full=1&col=name&col=id_number")
    connection.set_schema_to_public()
    assert _sheet(response.content) == [
        ("姓名", "身份证件号"),
        ("张一", "4301**********0011"),
        ("李二", "4301**********0022"),
    ]
    (entry,) = _audits(world)
    assert entry.action == "read.export", "full was not granted, so not recorded as full"


def test_the_api_masks_and_audits_like_the_pages(world: World, fx: Fixture) -> None:
    client = login(world.a.host, "registrar")
    definition = {
        "conditions": [{"field": "s.id_number", "op": "equals", "values": [ZHANG_ID]}],
        "columns": ["name", "id_number", "phone"],
    }
    run = client.post(
        "/api/v1/reports/query/", {"definition": definition}, content_type="application/json"
    )
    connection.set_schema_to_public()
    assert run.json()["results"] == [
        {"name": "张一", "id_number": "4301**********0011", "phone": "138****1111"}
    ]
    assert ZHANG_ID not in run.content.decode()
    export = client.post(
        "/api/v1/reports/query/export/",
        {"definition": definition, "full": True},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert _sheet(export.content) == [
        ("姓名", "身份证件号", "联系电话"),
        ("张一", ZHANG_ID, ZHANG_PHONE),
    ]
    (entry,) = _audits(world)
    assert entry.action == "read.export.full"
    assert entry.after["rows"] == 1


def test_print_page_lists_every_row_and_is_audited(world: World, fx: Fixture) -> None:
    client = login(world.a.host, "registrar")
    params = [("f0", "line"), ("o0", "in"), ("v0", "status_07"), ("v0", "status_10"),
              ("col", "name"), ("col", "id_number")]  # fmt: skip
    response = client.get("/reports/query/print/?" + urlencode(params))
    connection.set_schema_to_public()
    body = response.content.decode()
    assert response.status_code == 200
    assert "王三" in body
    assert "赵四" in body
    assert "张一" not in body
    assert "@media print" not in body  # the print rules live in the static stylesheet
    assert "reports-query.css" in body
    (entry,) = _audits(world)
    assert entry.after["rows"] == 2
    assert entry.after["source"] == "reports.query.print"


# -- saved queries -------------------------------------------------------------------------


def _save(client: Any, name: str, params: list[tuple[str, str]]) -> str:
    response = client.post("/reports/query/saved/", {"name": name, "params": urlencode(params)})
    connection.set_schema_to_public()
    assert response.status_code == 302
    return str(response["Location"]).rstrip("/").split("/")[-1]


def test_saved_queries_round_trip_and_stay_their_owners(world: World, fx: Fixture) -> None:
    mine = login(world.a.host, "registrar")
    params = [("f0", "s.sex"), ("o0", "in"), ("v0", "2"), ("col", "name")]
    query_id = _save(mine, "女生名单", params)
    opened = mine.get(f"/reports/query/saved/{query_id}/")
    connection.set_schema_to_public()
    assert opened.status_code == 302
    page = mine.get(opened["Location"])
    connection.set_schema_to_public()
    assert "共 2 名学生" in page.content.decode()
    assert "女生名单" in page.content.decode()

    theirs = login(world.a.host, "admin")
    for method, url, data in (
        ("get", f"/reports/query/saved/{query_id}/", None),
        ("post", f"/reports/query/saved/{query_id}/rename/", {"name": "我的"}),
        ("post", f"/reports/query/saved/{query_id}/delete/", None),
        ("get", f"/api/v1/reports/query/saved/{query_id}/", None),
        ("delete", f"/api/v1/reports/query/saved/{query_id}/", None),
    ):
        response = getattr(theirs, method)(url, data) if data else getattr(theirs, method)(url)
        connection.set_schema_to_public()
        assert response.status_code == 404, (method, url)
    listing = theirs.get("/api/v1/reports/query/saved/")
    connection.set_schema_to_public()
    assert listing.json() == []

    renamed = mine.post(f"/reports/query/saved/{query_id}/rename/", {"name": "女生"})
    connection.set_schema_to_public()
    assert renamed.status_code == 302
    api = mine.get("/api/v1/reports/query/saved/")
    connection.set_schema_to_public()
    (saved,) = api.json()
    assert saved["name"] == "女生"
    assert saved["definition"]["conditions"] == [{"field": "s.sex", "op": "in", "values": ["2"]}]
    mine.post(f"/reports/query/saved/{query_id}/delete/")
    connection.set_schema_to_public()
    assert mine.get("/api/v1/reports/query/saved/").json() == []


def test_saved_query_api_crud(world: World, fx: Fixture) -> None:
    client = login(world.a.host, "registrar")
    definition = {"conditions": [{"field": "line", "op": "in", "values": ["status_07"]}]}
    created = client.post(
        "/api/v1/reports/query/saved/",
        {"name": "毕业生", "definition": definition},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert created.status_code == 201
    query_id = created.json()["id"]
    patched = client.patch(
        f"/api/v1/reports/query/saved/{query_id}/",
        json.dumps({"name": "历届毕业生"}),
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert patched.json()["name"] == "历届毕业生"
    forged = client.patch(
        f"/api/v1/reports/query/saved/{query_id}/",
        json.dumps({"definition": {"conditions": [{"field": "nope", "op": "in"}]}}),
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert forged.status_code == 400
    gone = client.delete(f"/api/v1/reports/query/saved/{query_id}/")
    connection.set_schema_to_public()
    assert gone.status_code == 204


def test_another_schools_saved_query_is_not_found(world: World, fx: Fixture) -> None:
    a_client = login(world.a.host, "registrar")
    query_id = _save(a_client, "甲校查询", [("col", "name")])
    b_client = login(world.b.host, "registrar")  # same username, another school
    for url in (f"/reports/query/saved/{query_id}/", f"/api/v1/reports/query/saved/{query_id}/"):
        response = b_client.get(url)
        connection.set_schema_to_public()
        assert response.status_code == 404, url
    assert b_client.get("/api/v1/reports/query/saved/").json() == []
