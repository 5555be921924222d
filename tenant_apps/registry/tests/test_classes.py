"""Grades and classes (issue 13 items 2, 3 and 7; domain.md §2.2, §3.1): grade rows with
derived names and 年级段长, the coming intake in one action, graduated grades read-only;
7-digit class numbers that must agree with the grade, class types per stage, 班主任 picked
from this school's users with the one-writer rule, delete refused with students, merge
within a grade with each student's history, copying last year's classes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from conftest import World
from tenants.context import school_context

pytestmark = pytest.mark.django_db

STAGES = ["primary"]


def _actor():
    from common.actor import Actor

    return Actor("admin", "管理员", connection.schema_name)


def _refused(call, field: str, *needles: str) -> str:
    """Run `call`; it must raise ApplicationError naming `field` with every needle."""
    from common.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as caught:
        call()
    exc = caught.value
    assert field in exc.extra, exc.extra
    for needle in needles:
        assert needle in exc.message, exc.message
    return exc.message


def _user(username: str, roles: list[str], name: str = "") -> None:
    from accounts.services import user_create

    user_create(username=username, full_name=name or f"老师{username}", roles=roles)


def _pupil(klass, seat: int, name: str):
    from tenant_apps.registry.models import Student

    return Student.objects.create(
        name=name,
        sex="1",
        birth_date=dt.date(2018, 3, seat),
        school_class=klass,
        number_in_class=seat,
        entry_year_month="202409",
    )


# -- grades -------------------------------------------------------------------------------


def test_grade_names_are_derived_from_the_school_year() -> None:
    from tenant_apps.registry.classes.services import grade_label, is_graduated, setup_year

    autumn = dt.date(2026, 10, 1)
    assert grade_label("primary", 2026, autumn) == "一年级"
    assert grade_label("primary", 2024, autumn) == "三年级"
    assert grade_label("junior", 2024, autumn) == "九年级"
    assert grade_label("senior", 2025, autumn) == "高二"
    assert grade_label("primary", 2020, autumn) == "已毕业"
    assert is_graduated("junior", 2023, autumn) is True
    assert grade_label("primary", 2027, autumn) == "即将入学"
    # From March the set-up prepares the intake of the coming September.
    assert setup_year(dt.date(2027, 2, 28)) == 2026
    assert setup_year(dt.date(2027, 3, 1)) == 2027


def test_the_coming_intake_is_one_action_and_only_once(world: World) -> None:
    from tenant_apps.registry.classes.services import grade_add_intake, setup_year

    with school_context(world.a.schema):
        grade = grade_add_intake(stage="primary", school_stages=STAGES, actor=_actor())
        assert (grade.stage, grade.entry_year, grade.name) == (
            "primary",
            setup_year(),
            f"小学{setup_year()}级",
        )
        _refused(
            lambda: grade_add_intake(stage="primary", school_stages=STAGES, actor=_actor()),
            "entry_year",
            "已存在",
        )
        # A stage the bureau did not give the school.
        _refused(
            lambda: grade_add_intake(stage="junior", school_stages=STAGES, actor=_actor()),
            "stage",
            "初中",
        )


def test_grades_cannot_be_made_in_the_future_or_already_graduated(world: World) -> None:
    from tenant_apps.registry.classes.services import grade_create, setup_year

    year = setup_year()
    with school_context(world.a.schema):
        _refused(
            lambda: grade_create(
                stage="primary", entry_year=year + 1, school_stages=STAGES, actor=_actor()
            ),
            "entry_year",
            str(year),
        )
        _refused(
            lambda: grade_create(
                stage="primary", entry_year=year - 8, school_stages=STAGES, actor=_actor()
            ),
            "entry_year",
            "已毕业",
        )


def test_grade_head_is_a_name_or_a_user_of_this_school(world: World) -> None:
    from tenant_apps.registry.classes.services import grade_create, grade_update, setup_year

    with school_context(world.b.schema):
        _user("b_only", ["class_teacher"])
    with school_context(world.a.schema):
        grade = grade_create(
            stage="primary", entry_year=setup_year() - 1, school_stages=STAGES, actor=_actor()
        )
        grade = grade_update(grade_id=grade.pk, head_name=" 张 老师 ", actor=_actor())
        assert (grade.head_name, grade.head_username) == ("张 老师", "")
        grade = grade_update(grade_id=grade.pk, head_username="teacher", actor=_actor())
        assert (grade.head_name, grade.head_username) == ("测试甲小学teacher", "teacher")
        _refused(
            lambda: grade_update(grade_id=grade.pk, head_username="b_only", actor=_actor()),
            "head_username",
            "年级段长",
            "b_only",
        )


def test_graduated_grades_stay_readable_but_not_writable(world: World) -> None:
    from common.exceptions import ApplicationError
    from tenant_apps.registry.classes.services import (
        class_add,
        class_create,
        grade_update,
        setup_year,
    )
    from tenant_apps.registry.models import Grade

    old = setup_year() - 7  # graduated from primary by now
    with school_context(world.a.schema):
        grade = Grade.objects.create(stage="primary", entry_year=old, head_name="旧段长")
        with pytest.raises(ApplicationError, match="已毕业"):
            grade_update(grade_id=grade.pk, head_name="新段长", actor=_actor())
        with pytest.raises(ApplicationError, match="已毕业"):
            class_add(grade_id=grade.pk, class_no=f"{old}101", actor=_actor())
        with pytest.raises(ApplicationError, match="已毕业"):
            class_create(stage="primary", entry_year=old, number=1)
        assert Grade.objects.get(pk=grade.pk).head_name == "旧段长"


def test_a_grade_with_classes_cannot_be_deleted(world: World) -> None:
    from common.exceptions import ApplicationError
    from tenant_apps.registry.classes.services import grade_delete
    from tenant_apps.registry.models import Grade

    with school_context(world.a.schema):
        grade, _ = Grade.objects.get_or_create(stage="primary", entry_year=2024)
        with pytest.raises(ApplicationError, match="还有 1 个班级"):
            grade_delete(grade_id=grade.pk, actor=_actor())
        assert Grade.objects.filter(pk=grade.pk).exists()


# -- adding classes: the class number and the grade ---------------------------------------


def _intake_grade():
    from tenant_apps.registry.classes.services import grade_add_intake

    return grade_add_intake(stage="primary", school_stages=STAGES, actor=_actor())


def test_a_class_is_added_by_grade_and_7_digit_number(world: World) -> None:
    from tenant_apps.registry.classes.services import class_add

    with school_context(world.a.schema):
        grade = _intake_grade()
        y = grade.entry_year
        klass = class_add(
            grade_id=grade.pk, class_no=f" {y}102 ", teacher_username="teacher", actor=_actor()
        )
        assert (klass.class_no, klass.name, klass.class_type, klass.teacher_username) == (
            f"{y}102",
            f"小学{y}级(02)班",
            "10",
            "teacher",
        )


@pytest.mark.parametrize(
    ("typed", "needle"),
    [
        ("20261", "7 位数字"),
        ("２０２６１０１x", "7 位数字"),
        ("{other}101", "前 4 位（入学年份）应为 {year}"),
        ("{year}201", "第 5 位（学段）应为 1（小学）"),
        ("{year}100", "01–99"),
    ],
    ids=["short", "not_digits", "year_disagrees", "stage_disagrees", "number_zero"],
)
def test_a_class_number_that_disagrees_with_the_grade_is_refused(
    world: World, typed: str, needle: str
) -> None:
    from tenant_apps.registry.classes.services import class_add
    from tenant_apps.registry.models import SchoolClass

    with school_context(world.a.schema):
        grade = _intake_grade()
        y = grade.entry_year
        number = typed.format(year=y, other=y - 1)
        _refused(
            lambda: class_add(grade_id=grade.pk, class_no=number, actor=_actor()),
            "class_no",
            "班级编号",
            needle.format(year=y),
        )
        assert not SchoolClass.objects.filter(entry_year=y).exists()


def test_a_duplicate_class_number_is_refused_naming_the_class(world: World) -> None:
    from tenant_apps.registry.classes.services import class_add, class_create
    from tenant_apps.registry.models import Grade

    with school_context(world.a.schema):
        _refused(
            lambda: class_create(stage="primary", entry_year=2024, number=1),
            "class_no",
            "2024101 已存在（小学2024级(01)班）",
        )
        grade, _ = Grade.objects.get_or_create(stage="primary", entry_year=2024)
        _refused(
            lambda: class_add(grade_id=grade.pk, class_no="2024101", actor=_actor()),
            "class_no",
            "已存在",
        )


def test_class_types_follow_the_stage_and_composite_years_need_a_composite_class(
    world: World,
) -> None:
    from tenant_apps.registry.classes.services import class_add, class_create

    with school_context(world.a.schema):
        grade = _intake_grade()
        y = grade.entry_year
        _refused(
            lambda: class_add(
                grade_id=grade.pk, class_no=f"{y}103", class_type="20", actor=_actor()
            ),
            "class_type",
            "普通初中班",
            "小学",
        )
        _refused(
            lambda: class_add(
                grade_id=grade.pk, class_no=f"{y}103", composite_years=[2024], actor=_actor()
            ),
            "composite_years",
            "只有复式班",
        )
        # A composite class (小学复式班) also teaching the existing 2024 grade.
        class_create(stage="primary", entry_year=2024, number=5)  # makes the 2024 grade row
        klass = class_add(
            grade_id=grade.pk,
            class_no=f"{y}104",
            class_type="12",
            composite_years=[2024],
            actor=_actor(),
        )
        assert (klass.class_type, klass.composite_years, klass.is_composite) == (
            "12",
            [2024],
            True,
        )


def test_the_class_teacher_comes_from_this_schools_users(world: World) -> None:
    from tenant_apps.registry.classes.services import class_add, class_update
    from tenant_apps.registry.models import SchoolClass

    with school_context(world.b.schema):
        _user("b_teacher", ["class_teacher"], "乙校老师")
    with school_context(world.a.schema):
        grade = _intake_grade()
        y = grade.entry_year
        message = _refused(
            lambda: class_add(
                grade_id=grade.pk,
                class_no=f"{y}101",
                teacher_username="b_teacher",
                actor=_actor(),
            ),
            "teacher_username",
            "班主任",
            "本校用户中没有“b_teacher”",
        )
        assert "乙校" not in message
        klass = SchoolClass.objects.get(class_no="2024101")
        _refused(
            lambda: class_update(
                class_id=klass.pk,
                class_type="10",
                teacher_username="b_teacher",
                actor=_actor(),
            ),
            "teacher_username",
            "班主任",
        )
        from accounts.models import User

        User.objects.filter(username="subject").update(is_active=False)
        _refused(
            lambda: class_update(
                class_id=klass.pk, class_type="10", teacher_username="subject", actor=_actor()
            ),
            "teacher_username",
            "已停用",
        )


def test_picking_a_class_teacher_clears_the_old_free_text_name(world: World) -> None:
    from tenant_apps.registry.classes.services import class_update
    from tenant_apps.registry.models import SchoolClass

    with school_context(world.a.schema):
        klass = SchoolClass.objects.get(class_no="2024101")
        SchoolClass.objects.filter(pk=klass.pk).update(legacy_teacher_name="王老师")
        klass = class_update(
            class_id=klass.pk, class_type="10", teacher_username="teacher", actor=_actor()
        )
        klass.refresh_from_db()
        assert (klass.teacher_username, klass.legacy_teacher_name) == ("teacher", "")


def test_a_second_ordinary_writer_cannot_become_class_teacher(world: World) -> None:
    """交叉授权: another ordinary user already writes the class through a class right."""
    from tenant_apps.registry.classes.services import class_update
    from tenant_apps.registry.models import ClassRight, SchoolClass

    with school_context(world.a.schema):
        _user("writer2", ["class_teacher"], "二号老师")
        klass = SchoolClass.objects.get(class_no="2024101")
        ClassRight.objects.create(user_username="writer2", school_class=klass, can_write=True)
        _refused(
            lambda: class_update(
                class_id=klass.pk, class_type="10", teacher_username="teacher", actor=_actor()
            ),
            "teacher_username",
            "二号老师（writer2）",
            "交叉授权",
        )
        # The writer himself may become the class teacher: still one writer.
        class_update(class_id=klass.pk, class_type="10", teacher_username="writer2", actor=_actor())
        # A read-only right of someone else is no second writer.
        ClassRight.objects.filter(user_username="writer2").delete()
        ClassRight.objects.create(user_username="teacher", school_class=klass, can_write=False)
        klass = class_update(
            class_id=klass.pk, class_type="10", teacher_username="teacher", actor=_actor()
        )
        assert SchoolClass.objects.get(pk=klass.pk).teacher_username == "teacher"


# -- delete, merge, copy -------------------------------------------------------------------


def test_a_class_with_students_cannot_be_deleted_an_empty_one_can(world: World) -> None:
    from common.exceptions import ApplicationError
    from tenant_apps.registry.classes.services import class_create, class_delete
    from tenant_apps.registry.models import SchoolClass

    with school_context(world.a.schema):
        full = SchoolClass.objects.get(class_no="2024101")
        with pytest.raises(ApplicationError, match="还有 1 名学生"):
            class_delete(class_id=full.pk, actor=_actor())
        empty = class_create(stage="primary", entry_year=2024, number=7)
        assert class_delete(class_id=empty.pk, actor=_actor()) == "小学2024级(07)班"
        assert not SchoolClass.objects.filter(pk=empty.pk).exists()
        assert SchoolClass.objects.filter(pk=full.pk).exists()


def test_merging_moves_students_and_records_it_on_each_history(world: World) -> None:
    from tenant_apps.registry.classes.services import class_create, class_merge
    from tenant_apps.registry.models import SchoolClass, Student, StudentEvent

    with school_context(world.a.schema):
        target = SchoolClass.objects.get(class_no="2024101")  # the sentinel sits in seat 1
        source = class_create(stage="primary", entry_year=2024, number=2)
        a, b = _pupil(source, 1, "甲同学"), _pupil(source, 2, "乙同学")
        merged = class_merge(source_id=source.pk, target_id=target.pk, actor=_actor())
        assert (merged.source, merged.target, merged.students) == (
            "小学2024级(02)班",
            "小学2024级(01)班",
            2,
        )
        assert not SchoolClass.objects.filter(pk=source.pk).exists()
        moved = {
            s.name: (s.school_class_id, s.number_in_class)
            for s in Student.objects.filter(pk__in=[a.pk, b.pk])
        }
        assert moved == {"甲同学": (target.pk, 2), "乙同学": (target.pk, 3)}
        events = list(
            StudentEvent.objects.filter(student__in=[a, b])
            .order_by("student_id")
            .values("action", "reason", "changes", "actor")
        )
        assert events == [
            {
                "action": "合并班级",
                "reason": "小学2024级(02)班并入小学2024级(01)班",
                "changes": {"class_no": ["2024102", "2024101"], "number_in_class": [1, 2]},
                "actor": "管理员（admin）",
            },
            {
                "action": "合并班级",
                "reason": "小学2024级(02)班并入小学2024级(01)班",
                "changes": {"class_no": ["2024102", "2024101"], "number_in_class": [2, 3]},
                "actor": "管理员（admin）",
            },
        ]


def test_merging_into_another_grade_is_refused_and_changes_nothing(world: World) -> None:
    from tenant_apps.registry.classes.services import class_create, class_merge
    from tenant_apps.registry.models import SchoolClass, StudentEvent

    with school_context(world.a.schema):
        source = SchoolClass.objects.get(class_no="2024101")
        other = class_create(stage="primary", entry_year=2025, number=1)
        _refused(
            lambda: class_merge(source_id=source.pk, target_id=other.pk, actor=_actor()),
            "target_id",
            "同一年级",
            "小学2024级",
            "小学2025级",
        )
        _refused(
            lambda: class_merge(source_id=source.pk, target_id=source.pk, actor=_actor()),
            "target_id",
        )
        assert source.students.count() == 1
        assert not StudentEvent.objects.filter(action="合并班级").exists()


def test_last_years_classes_are_copied_to_the_new_intake(world: World) -> None:
    from tenant_apps.registry.classes.services import (
        class_create,
        classes_copy_to_intake,
        setup_year,
    )
    from tenant_apps.registry.models import Grade, SchoolClass

    year = setup_year()
    with school_context(world.a.schema):
        _refused(
            lambda: classes_copy_to_intake(stage="primary", school_stages=STAGES, actor=_actor()),
            "stage",
            f"小学{year - 1}级没有班级",
        )
        class_create(stage="primary", entry_year=year - 1, number=1, teacher_username="teacher")
        class_create(stage="primary", entry_year=year - 1, number=2, class_type="11")
        class_create(stage="primary", entry_year=year, number=2)  # already there: skipped
        made = classes_copy_to_intake(stage="primary", school_stages=STAGES, actor=_actor())
        assert [(c.class_no, c.class_type, c.teacher_username) for c in made] == [
            (f"{year}101", "10", "")
        ]
        assert Grade.objects.filter(stage="primary", entry_year=year).exists()
        assert SchoolClass.objects.filter(entry_year=year).count() == 2
        _refused(
            lambda: classes_copy_to_intake(stage="primary", school_stages=STAGES, actor=_actor()),
            "stage",
            "已全部存在",
        )


def test_the_migration_maps_free_text_teachers_to_accounts(world: World) -> None:
    """Migration 0007: a unique full name becomes the 班主任, anything else stays shown."""
    import importlib

    from django.apps import apps

    from tenant_apps.registry.models import Grade, SchoolClass

    migration = importlib.import_module(
        "tenant_apps.registry.migrations.0007_grades_class_teachers"
    )
    with school_context(world.a.schema):
        _user("dup1", ["class_teacher"], "同名老师")
        _user("dup2", ["class_teacher"], "同名老师")
        one = SchoolClass.objects.create(
            stage="primary",
            entry_year=2023,
            number=1,
            class_no="2023101",
            legacy_teacher_name="测试甲小学teacher",
        )
        two = SchoolClass.objects.create(
            stage="primary",
            entry_year=2023,
            number=2,
            class_no="2023102",
            legacy_teacher_name="同名老师",
        )
        three = SchoolClass.objects.create(
            stage="primary",
            entry_year=2023,
            number=3,
            class_no="2023103",
            legacy_teacher_name="外校老师",
        )
        migration.forwards(apps, None)
        got = {
            c.pk: (c.teacher_username, c.legacy_teacher_name)
            for c in SchoolClass.objects.filter(pk__in=[one.pk, two.pk, three.pk])
        }
        assert got == {
            one.pk: ("teacher", ""),
            two.pk: ("", "同名老师"),
            three.pk: ("", "外校老师"),
        }
        assert Grade.objects.filter(stage="primary", entry_year=2023).exists()
