"""`make run`'s demo data: one bureau, three schools including 古港镇完全小学, 300+
students with valid ID numbers and real township codes; loading twice changes nothing."""

from __future__ import annotations

from pathlib import Path

from django.db import connection
from stdnum.cn import ric

from tenants.context import school_context


def _counts() -> dict[str, int]:
    from accounts.models import User
    from shared_apps.regions.models import Bureau
    from tenant_apps.registry.models import SchoolClass, Student
    from tenants.models import School

    connection.set_schema_to_public()
    counts = {
        "bureaus": Bureau.objects.count(),
        "schools": School.objects.schools().count(),
        "public_users": User.objects.count(),
        "students": 0,
        "classes": 0,
        "staff": 0,
    }
    for demo_code in ("2143016965", "3143016966", "2143016967"):
        school = School.objects.get(code=demo_code)
        with school_context(school.schema_name):
            counts["students"] += Student.objects.count()
            counts["classes"] += SchoolClass.objects.count()
            counts["staff"] += User.objects.count()
            from tenant_apps.registry.models import Teacher

            counts["teachers"] = counts.get("teachers", 0) + Teacher.objects.count()
    connection.set_schema_to_public()
    return counts


def test_demo_loads_once_and_again_without_duplicates(public: None, tmp_path: Path) -> None:
    from demo.data import demo_load
    from shared_apps.regions.validators import validate_region_code
    from tenant_apps.registry.models import Student
    from tenants.models import School

    lines = demo_load(state_dir=tmp_path)
    first = _counts()
    demo_load(state_dir=tmp_path)
    assert _counts() == first
    assert first["students"] >= 300
    assert any("古港镇完全小学" in line for line in lines)
    # the printed logins say whom they open (role and name), as the README's table does
    by_user = {line.split()[0]: line for line in lines if line.startswith("  ")}
    assert by_user["A002"].endswith("学籍管理员 · 李建国")
    assert by_user["A004"].endswith("班主任、全体教师 · 王丽")
    assert by_user["lyjy01"].endswith("教育局学籍管理员、教育局学籍主管领导 · 刘学籍")
    assert by_user["admin"].endswith("平台运营人员 · 平台运营")
    class_teachers = [line for user, line in by_user.items() if user.startswith("T")]
    assert class_teachers, "the set-up's class teacher accounts are printed too"
    assert all("班主任、全体教师 · " in line for line in class_teachers)
    gugang = School.objects.get(code="2143016965")
    assert gugang.name == "古港镇完全小学"
    assert gugang.county_id == "430181000000"
    with school_context(gugang.schema_name):
        for student in Student.objects.all():
            assert ric.is_valid(student.id_number), student.id_number
            assert student.id_number[6:14] == student.birth_date.strftime("%Y%m%d")
            assert int(student.id_number[16]) % 2 == (1 if student.sex == "1" else 0)
            assert validate_region_code(student.household_region) == student.household_region  # type: ignore[attr-defined]
        states = set(Student.objects.values_list("audit_state", flat=True))
        registered = Student.objects.filter(audit_state="registered")
        assert {"registered", "county_pending", "school_pending", "draft"} <= states
        assert all(s.national_number == "G" + s.id_number for s in registered)
        assert all(s.family.count() == 2 for s in registered[:20])
    connection.set_schema_to_public()
    from shared_apps.student_index.models import IndexEntry

    with school_context(gugang.schema_name):
        students = Student.objects.count()
    connection.set_schema_to_public()
    assert IndexEntry.objects.filter(school=gugang).count() == students == 168
    assert (tmp_path / "demo-logins.txt").read_text().count("A002") == 3
    # Set-up done as a school would: profile reviewed, every class led by a 班主任 account
    # of the school, every grade with a head; the demo class teacher A004 keeps class 1.
    assert gugang.get_school_type_display() == "小学"
    assert [c.name for c in gugang.campuses.all()] == ["本部"]
    from accounts.models import User
    from tenant_apps.registry.models import Grade, SchoolClass

    with school_context(gugang.schema_name):
        users = set(User.objects.filter(is_active=True).values_list("username", flat=True))
        teachers = list(
            SchoolClass.objects.order_by("class_no").values_list("teacher_username", flat=True)
        )
        assert teachers
        assert set(teachers) <= users
        assert "A004" in teachers
        assert Grade.objects.count() == 6
        assert not Grade.objects.filter(head_name="").exists()
        assert User.objects.get(username="A005").has_right("grades.manage")  # via 教务处
        # 教师信息管理 is not empty: a record per account, linked, plus a lent and a
        # retired teacher without one; every ID number valid and agreeing with the sex
        from tenant_apps.registry.models import Teacher

        records = list(Teacher.objects.select_related("user"))
        assert {t.staff_no for t in records if t.user} == set(
            User.objects.values_list("username", flat=True)
        )
        assert {t.status for t in records if t.user is None} == {"lent", "retired"}
        for t in records:
            assert ric.is_valid(t.id_number), t.id_number
            assert int(t.id_number[16]) % 2 == (1 if t.sex == "1" else 0)
    connection.set_schema_to_public()
