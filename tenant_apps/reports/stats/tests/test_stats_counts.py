"""查询统计 (issue 15 points 1, 2, 10): exact counts on a fixture school built with every
status, every audit state and every flag, each asserted against a figure worked out by
hand from the fixture below; history read from dated snapshots; who may see it; the API
and the export give the page's numbers.

The fixture (school A, inside the test's transaction; A's world pupil is removed first):

    class  pupil  sex  audit / status       ethnicity  household  flags
    c1     p1     M    registered 在读         汉族 01    1          留守 (left_behind=1)
    c1     p2     F    registered 在读         回族 03    2          随迁, 独生
    c1     p3     M    registered 在读         汉族       1          残疾 (disability=1), 住校
    c2     p4     F    registered 在读         汉族       3          随班就读(inclusive=3) 资助 一补
    c2     p5     M    registered 在读         汉族       1          —
    c3     p6     F    registered 在读         汉族       1          住校, 独生
    c2     one registered pupil of 流失 (06); c3 one of every other non-在读 status,
           all with left_behind=2 (flags count 在读 pupils only, so these add nothing)
    c1 draft M, c2 school_pending F, c3 county_pending M, c1 problem F
    c1 a deleted record (registered 在读 before it was deleted): counted nowhere

c1 = 小学2024级(01)班, c2 = 小学2024级(02)班, c3 = 小学2023级(01)班.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from conftest import World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db

OTHER_STATUSES = ["02", "03", "07", "08", "10", "11", "13", "15", "99"]  # 06 is in c2


def _class(number: int, year: int):
    from tenant_apps.registry.models import SchoolClass

    found, _ = SchoolClass.objects.get_or_create(
        stage="primary",
        entry_year=year,
        number=number,
        defaults={"class_no": SchoolClass.make_class_no("primary", year, number)},
    )
    return found


def _pupil(klass, seq: int, sex: str, audit: str = "registered", status: str = "01", **kw: Any):
    from tenant_apps.registry.models import Student

    values: dict[str, Any] = {
        "ethnicity": "01",
        "household_type": "1",
        "left_behind": "0",
        "migrant_child": False,
        "disability": "0",
        "inclusive": "0",
        "attendance": "1",
        "needs_aid": False,
        "boarding_subsidy": False,
        "only_child": False,
    }
    values.update(kw)
    return Student.objects.create(
        name=f"统计{seq:02d}号",
        sex=sex,
        birth_date=dt.date(2017, 9, 1) + dt.timedelta(days=seq),
        school_class=klass,
        number_in_class=seq,
        entry_year_month="202409",
        audit_state=audit,
        status=status,
        **values,
    )


def _build() -> dict[str, Any]:
    from tenant_apps.registry.models import SchoolClass, Student

    Student.objects.all().delete()
    c1, c2, c3 = _class(1, 2024), _class(2, 2024), _class(1, 2023)
    assert SchoolClass.objects.count() == 3
    p: dict[str, Any] = {}
    p["p1"] = _pupil(c1, 1, "1", left_behind="1")
    p["p2"] = _pupil(
        c1, 2, "2", ethnicity="03", household_type="2", migrant_child=True, only_child=True
    )
    p["p3"] = _pupil(c1, 3, "1", disability="1", attendance="2")
    p["p4"] = _pupil(
        c2, 4, "2", household_type="3", inclusive="3", needs_aid=True, boarding_subsidy=True
    )
    p["p5"] = _pupil(c2, 5, "1")
    p["p6"] = _pupil(c3, 6, "2", attendance="2", only_child=True)
    p["06"] = _pupil(c2, 7, "1", status="06", left_behind="2")
    for i, status in enumerate(OTHER_STATUSES):
        p[status] = _pupil(c3, 10 + i, "1" if i % 2 else "2", status=status, left_behind="2")
    _pupil(c1, 30, "1", audit="draft")
    _pupil(c2, 31, "2", audit="school_pending")
    _pupil(c3, 32, "1", audit="county_pending")
    _pupil(c1, 33, "2", audit="problem")
    _pupil(c1, 34, "1", audit="deleted")
    return p


@pytest.fixture
def school(world: World):
    with school_context(world.a.schema):
        yield _build()


def _rows(table) -> dict[str, list]:
    return dict(table.rows)


def test_registry_counts_and_the_line_of_every_record(school) -> None:
    from tenant_apps.registry import counts
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.selectors import registry_counts

    assert registry_counts() == {"students": 6, "male": 3, "female": 3, "pending": 4, "classes": 3}
    found = counts.lines_count(Student.objects.all())
    expected = {"in_school": 6, **{f"status_{s}": 1 for s in ["06", *OTHER_STATUSES]}}
    expected.update(
        {"audit_draft": 1, "audit_school_pending": 1, "audit_county_pending": 1, "audit_problem": 1}
    )
    assert found == expected
    # flags_of and the FLAGS filters say the same thing, record by record
    for student in Student.objects.all():
        values = {f: getattr(student, f) for f in counts.FLAG_SOURCE_FIELDS}
        by_values = counts.flags_of(values)
        for flag in counts.FLAGS:
            by_query = Student.objects.filter(flag.where, pk=student.pk).exists()
            assert by_values[flag.key] == by_query, (student.name, flag.key)


def test_every_headcount_table_matches_the_hand_count(school) -> None:
    from tenant_apps.reports.stats import selectors as s

    now = s.Params()
    assert _rows(s.table_grade_sex(now)) == {"小学2023级": [0, 1, 1], "小学2024级": [3, 2, 5]}
    assert [r[0] for r in s.table_grade_sex(now).rows] == ["小学2023级", "小学2024级"]
    assert _rows(s.table_class_sex(now)) == {
        "小学2023级(01)班": [0, 1, 1],
        "小学2024级(01)班": [2, 1, 3],
        "小学2024级(02)班": [1, 1, 2],
    }
    # 横向对比: one grade's classes only
    assert _rows(s.table_class_sex(s.Params(grade="小学2024级"))) == {
        "小学2024级(01)班": [2, 1, 3],
        "小学2024级(02)班": [1, 1, 2],
    }
    status = _rows(s.table_status(now))
    assert status["在读"] == [3, 3, 6]
    assert status["流失"] == [1, 0, 1]
    # OTHER_STATUSES alternate F, M, F, ... in order
    for i, code in enumerate(OTHER_STATUSES):
        from tenant_apps.registry.models import Student

        label = Student.Status(code).label
        assert status[label] == ([1, 0, 1] if i % 2 else [0, 1, 1]), label
    assert status["未注册：待提交"] == [1, 0, 1]
    assert status["未注册：待学校审核"] == [0, 1, 1]
    assert status["未注册：待教育局审核"] == [1, 0, 1]
    assert status["未注册：问题学籍"] == [0, 1, 1]
    assert len(status) == 1 + 10 + 4  # 在读, the ten other statuses, four pending states
    assert _rows(s.table_ethnicity(now)) == {"汉族": [3, 2, 5], "回族": [0, 1, 1]}
    assert _rows(s.table_household(now)) == {
        "农业户口": [3, 1, 4],
        "非农业户口": [0, 1, 1],
        "居民户口": [0, 1, 1],
    }
    assert _rows(s.table_flags(now)) == {
        "留守儿童": [1, 0, 1],
        "进城务工人员随迁子女": [0, 1, 1],
        "残疾/随班就读": [1, 1, 2],
        "寄宿（住校）": [1, 1, 2],
        "需要申请资助": [0, 1, 1],
        "享受一补": [0, 1, 1],
        "独生子女": [0, 2, 2],
    }
    assert _rows(s.table_headcount(now)) == {
        "在读学生": [3, 3, 6],
        "未注册（不计入在读）": [2, 2, 4],
        "有在读学生的班级数": [None, None, 3],
    }


def _change(student, kind: str, day: dt.date, state: str = "done") -> None:
    from tenant_apps.registry.models import StatusChange

    StatusChange.objects.create(
        student=student,
        kind=kind,
        change_date=day,
        from_status="01",
        to_status=student.status,
        state=state,
        created_by="registrar",
    )


def test_attrition_and_changes_over_a_period(school) -> None:
    from tenant_apps.reports.stats import selectors as s

    _change(school["06"], "DROPOUT", dt.date(2026, 3, 10))
    _change(school["99"], "OTHER_LEAVE", dt.date(2026, 4, 1))
    _change(school["03"], "WITHDRAW", dt.date(2026, 3, 15))
    _change(school["15"], "DROPOUT", dt.date(2025, 12, 1))  # before the period
    _change(school["p1"], "DROPOUT", dt.date(2026, 5, 1), state="open")  # not approved
    period = s.Params(start=dt.date(2026, 1, 1), end=dt.date(2026, 6, 30))
    table = s.table_attrition(period)
    assert table.columns == ["流失（辍学）", "其他离校", "合计"]
    assert table.rows == [
        ("小学2023级（小计）", [0, 1, 1]),
        ("小学2023级(01)班", [0, 1, 1]),
        ("小学2024级（小计）", [1, 0, 1]),
        ("小学2024级(02)班", [1, 0, 1]),
        ("合计", [1, 1, 2]),
    ]
    assert sorted(p[0] for p in table.pupils) == [school["06"].name, school["99"].name]
    changes = _rows(s.table_changes(period))
    assert changes["流失（辍学）"] == [1]
    assert changes["其他离校"] == [1]
    assert changes["退学"] == [1]
    assert changes["休学"] == [0]
    assert changes["合计"] == [3]


def test_promotion_rate_follows_the_schools_definition(school) -> None:
    from tenant_apps.reports.stats import selectors as s
    from tenant_apps.reports.stats.services import promotion_settings_set

    # default: graduates = 毕业 + 结业 (one each, c3), promoted = 毕业
    assert s.table_promotion(s.Params()).rows == [("小学2023级", [2, 1, 50.0])]
    promotion_settings_set(cohort_statuses=["07"], promoted_statuses=["07"], updated_by="t")
    assert s.table_promotion(s.Params()).rows == [("小学2023级", [1, 1, 100.0])]


def test_history_is_read_from_the_snapshot_not_from_todays_rows(school) -> None:
    from tenant_apps.registry.models import Student
    from tenant_apps.reports.stats import selectors as s
    from tenant_apps.reports.stats.services import snapshot_take

    today = timezone.localdate()
    last_month = today - dt.timedelta(days=30)
    snapshot_take(date=last_month)
    # today p5 (c2, male) is suspended and a new pupil joins c3
    Student.objects.filter(pk=school["p5"].pk).update(status="02")
    _pupil(school["p6"].school_class, 40, "1")
    then = s.Params(date=last_month + dt.timedelta(days=3))  # latest snapshot on or before
    assert _rows(s.table_grade_sex(then)) == {"小学2023级": [0, 1, 1], "小学2024级": [3, 2, 5]}
    assert _rows(s.table_status(then))["在读"] == [3, 3, 6]
    assert s.table_grade_sex(then).source == "snapshot"
    now = s.Params()
    assert _rows(s.table_grade_sex(now)) == {"小学2023级": [1, 1, 2], "小学2024级": [2, 2, 4]}
    assert _rows(s.table_status(now))["在读"] == [3, 3, 6]
    assert _rows(s.table_status(now))["休学"] == [1, 1, 2]
    # every table reads the snapshot the same way it reads live counts
    for key in ("class_sex", "ethnicity", "household", "flags", "headcount"):
        build = s.TABLES[key].build
        taken = build(s.Params(date=last_month))
        assert taken.source == "snapshot"
    # before the first snapshot: said so, no figures
    early = s.table_grade_sex(s.Params(date=last_month - dt.timedelta(days=1)))
    assert early.source == "none"
    assert early.rows == []
    assert "没有统计快照" in early.note
    # 纵向对比: a year ago has no snapshot; the day of the snapshot reads it
    trend = _rows(s.table_trend(s.Params(date=last_month)))
    assert trend[f"{last_month:%Y-%m-%d}"] == [3, 3, 6, 4]
    year_ago = last_month.replace(year=last_month.year - 1)
    assert trend[f"{year_ago:%Y-%m-%d}"] == [None, None, None, None]


def test_pages_api_and_export_give_the_same_numbers(world: World, school) -> None:
    from accounts.models import AuditEntry

    connection.set_schema_to_public()
    principal = login(world.a.host, "principal")
    page = principal.get("/reports/stats/grade_sex/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "小学2024级" in html
    assert "data-chart" in html
    api = principal.get("/api/v1/reports/stats/grade_sex/").json()
    assert api["rows"] == [
        {"item": "小学2023级", "values": [0, 1, 1]},
        {"item": "小学2024级", "values": [3, 2, 5]},
    ]
    assert api["basis"] == "live"
    assert principal.get("/reports/").status_code == 200
    for key in ("headcount", "class_sex", "status", "ethnicity", "household", "flags"):
        assert principal.get(f"/reports/stats/{key}/").status_code == 200, key
        assert principal.get(f"/api/v1/reports/stats/{key}/").status_code == 200, key
    for key in ("trend", "attrition", "changes", "promotion"):
        assert principal.get(f"/reports/stats/{key}/").status_code == 200, key
        assert principal.get(f"/api/v1/reports/stats/{key}/").status_code == 200, key
    export = principal.get("/reports/stats/flags/export/?date=")
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    connection.set_schema_to_public()
    with school_context(world.a.schema):
        entry = AuditEntry.objects.filter(action="read.export", object_type="stats").latest("at")
        assert entry.object_id == "flags"
        assert entry.after["rows"] == 7


def test_a_class_teacher_sees_no_whole_school_statistics(world: World, school) -> None:
    """Decision: 查询统计 is whole-school; a class teacher (own classes only) has no
    STATS_VIEW by default and gets 403 on every page and API of it; a role holding
    查询统计 (the principal) gets in."""
    connection.set_schema_to_public()
    teacher = login(world.a.host, "teacher")
    for url in ("/reports/", "/reports/stats/grade_sex/", "/reports/stats/flags/export/"):
        assert teacher.get(url).status_code == 403, url
    assert teacher.get("/api/v1/reports/stats/class_sex/").status_code == 403
    assert teacher.post("/reports/stats/snapshot/").status_code == 403


def test_the_daily_snapshot_task_and_the_on_demand_one(world: World, school) -> None:
    from tenant_apps.reports.models import StatsSnapshot, StatsSnapshotRow
    from tenant_apps.reports.stats.tasks import stats_snapshot_daily

    # 20 live records: 6 在读, 10 of the other statuses, 4 not registered (the deleted
    # one is kept nowhere)
    assert stats_snapshot_daily() == 6 + 10 + 4
    assert StatsSnapshot.objects.get(date=timezone.localdate()).source == "daily"
    assert stats_snapshot_daily() == 20  # the same day again replaces it
    assert StatsSnapshot.objects.count() == 1
    # no personal data: only aggregated columns
    names = {f.name for f in StatsSnapshotRow._meta.get_fields()}
    assert not names & {"name", "id_number", "student", "phone", "birth_date"}
    connection.set_schema_to_public()
    principal = login(world.a.host, "principal")
    assert principal.post("/reports/stats/snapshot/").status_code == 302
    connection.set_schema_to_public()
    with school_context(world.a.schema):
        assert StatsSnapshot.objects.get(date=timezone.localdate()).source == "on_demand"
