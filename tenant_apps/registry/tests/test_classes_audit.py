"""Grade and class writes are audited (issue 13): one entry per grade or class in the
school's log, in the write's transaction, with before/after under Chinese labels (班级类型
and 班主任 as people read them), and no generic middleware entry beside it."""

from __future__ import annotations

import pytest
from django.db import connection

from conftest import World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db

STAGES = ["primary"]
TEACHER = "测试甲小学teacher（teacher）"


def _actor():
    from common.actor import Actor

    return Actor("admin", "管理员", connection.schema_name)


def _entries(object_type: str) -> list[dict[str, object]]:
    from accounts.models import AuditEntry

    return list(
        AuditEntry.objects.filter(action="write", object_type=object_type)  # type: ignore[arg-type]
        .order_by("pk")
        .values("username", "user_display", "object_id", "object_repr", "before", "after")
    )


def test_grade_writes_leave_entries_with_chinese_labels(world: World) -> None:
    from tenant_apps.registry.classes.services import (
        grade_add_intake,
        grade_delete,
        grade_update,
        setup_year,
    )

    year = setup_year()
    with school_context(world.a.schema):
        grade = grade_add_intake(stage="primary", school_stages=STAGES, actor=_actor())
        grade_update(grade_id=grade.pk, head_username="teacher", actor=_actor())
        grade_update(grade_id=grade.pk, head_name="赵段长", actor=_actor())
        grade_delete(grade_id=grade.pk, actor=_actor())
        entries = _entries("grade")
    name = f"小学{year}级"
    assert entries == [
        {
            "username": "admin",
            "user_display": "管理员",
            "object_id": str(grade.pk),
            "object_repr": f"{name}：新增年级",
            "before": {},
            "after": {"年级": name, "学段": "小学", "入学年份": str(year)},
        },
        {
            "username": "admin",
            "user_display": "管理员",
            "object_id": str(grade.pk),
            "object_repr": f"{name}：修改年级段长",
            "before": {"年级段长": ""},
            "after": {"年级段长": TEACHER},
        },
        {
            "username": "admin",
            "user_display": "管理员",
            "object_id": str(grade.pk),
            "object_repr": f"{name}：修改年级段长",
            "before": {"年级段长": TEACHER},
            "after": {"年级段长": "赵段长"},
        },
        {
            "username": "admin",
            "user_display": "管理员",
            "object_id": str(grade.pk),
            "object_repr": f"{name}：删除年级",
            "before": {"年级": name, "学段": "小学", "入学年份": str(year), "年级段长": "赵段长"},
            "after": {},
        },
    ]


def test_class_writes_leave_entries_with_before_and_after(world: World) -> None:
    from tenant_apps.registry.classes.services import (
        class_add,
        class_create,
        class_delete,
        class_merge,
        class_update,
        classes_copy_to_intake,
        grade_add_intake,
        setup_year,
    )
    from tenant_apps.registry.models import Student

    year = setup_year()
    with school_context(world.a.schema):
        grade = grade_add_intake(stage="primary", school_stages=STAGES, actor=_actor())
        one = class_add(
            grade_id=grade.pk, class_no=f"{year}101", teacher_username="teacher", actor=_actor()
        )
        two = class_add(grade_id=grade.pk, class_no=f"{year}102", actor=_actor())
        class_update(class_id=one.pk, class_type="11", teacher_username="teacher", actor=_actor())
        Student.objects.create(
            name="并班同学", sex="1", birth_date="2020-03-01", school_class=two,
            number_in_class=1, entry_year_month=f"{year}09",
        )  # fmt: skip
        class_merge(source_id=two.pk, target_id=one.pk, actor=_actor())
        three = class_add(grade_id=grade.pk, class_no=f"{year}103", actor=_actor())
        class_delete(class_id=three.pk, actor=_actor())
        entries = _entries("school_class")
    first, second = f"小学{year}级(01)班", f"小学{year}级(02)班"
    assert [(e["object_id"], e["object_repr"]) for e in entries] == [
        (str(one.pk), f"{first}：新增班级"),
        (str(two.pk), f"{second}：新增班级"),
        (str(one.pk), f"{first}：修改班级"),
        (str(two.pk), f"{second}并入{first}：合并班级"),
        (str(three.pk), f"小学{year}级(03)班：新增班级"),
        (str(three.pk), f"小学{year}级(03)班：删除班级"),
    ]
    created, _two, updated, merged, _three, deleted = entries
    assert created["before"] == {}
    assert created["after"] == {
        "班级编号": f"{year}101",
        "班级名称": first,
        "班级类型": "普通小学班",
        "班主任": TEACHER,
    }
    # An edit names only what changed (the 班主任 stayed).
    assert updated["before"] == {"班级类型": "普通小学班"}
    assert updated["after"] == {"班级类型": "少数民族小学班"}
    assert merged["before"] == {
        "班级编号": f"{year}102",
        "班级名称": second,
        "班级类型": "普通小学班",
        "学生数": "1",
    }
    assert merged["after"] == {"并入班级": f"{first}（{year}101）", "转入学生数": "1"}
    assert deleted["before"]["班级编号"] == f"{year}103"  # type: ignore[index]
    assert deleted["after"] == {}

    # Copying last year's classes: one entry per class made, naming where it came from.
    with school_context(world.a.schema):
        class_create(stage="primary", entry_year=year - 1, number=4, class_type="11")
        made = classes_copy_to_intake(stage="primary", school_stages=STAGES, actor=_actor())
        copied = _entries("school_class")[len(entries) :]
    assert [(e["object_id"], e["object_repr"]) for e in copied] == [
        (str(made[0].pk), f"小学{year}级(04)班：复制自小学{year - 1}级(04)班")
    ]
    assert copied[0]["after"]["班级类型"] == "少数民族小学班"  # type: ignore[index]


def test_a_page_write_is_one_entry_not_the_generic_one(world: World) -> None:
    from accounts.models import AuditEntry
    from tenant_apps.registry.classes.services import grade_add_intake, setup_year

    year = setup_year()
    with school_context(world.a.schema):
        grade = grade_add_intake(stage="primary", school_stages=STAGES, actor=_actor())
    admin = login(world.a.host, "admin")
    with school_context(world.a.schema):
        before = AuditEntry.objects.count()  # the login's entry counted
    response = admin.post(
        "/school/classes/new/",
        {"grade_id": str(grade.pk), "class_no": f"{year}105", "teacher_username": "teacher"},
    )
    connection.set_schema_to_public()
    assert response.status_code == 302
    with school_context(world.a.schema):
        made = list(AuditEntry.objects.order_by("pk").values()[before:])
    assert len(made) == 1, made
    entry = made[0]
    assert entry["object_type"] == "school_class"
    assert entry["path"] == "/school/classes/new/"
    assert entry["username"] == "admin"
    assert entry["after"]["班主任"] == TEACHER
    page = admin.get("/accounts/audit/").content.decode()
    connection.set_schema_to_public()
    assert f"小学{year}级(05)班：新增班级" in page
    assert "班主任" in page
