"""Teacher records (教师信息管理, issue 13 items 4 and 7): the pupils' ID rule with the
field named, unique staff and ID numbers, the account linked by staff number,
deactivation keeping the record (and optionally disabling the account), every write
audited with the ID masked; the Excel import through the student importer's reader:
a dry run with every error named by row and field, unknown and misspelt headers,
missing required columns, and the two confirmation modes."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from openpyxl import Workbook, load_workbook
from stdnum.cn import ric

from conftest import World
from tenants.context import school_context

pytestmark = pytest.mark.django_db

HEADER = [
    "工号",
    "姓名",
    "性别",
    "身份证号",
    "联系电话",
    "任教学科",
    "职称",
    "用工形式",
    "任职状态",
]


def _id(birth: str = "19850315", seq: str = "011") -> str:
    """A resident ID with the right check character; an odd `seq` is a man's."""
    body = f"430181{birth}{seq}"
    return body + ric.calc_check_digit(body + "0")


def _wrong_check(number: str) -> tuple[str, str]:
    """The number with another last character, and the right one."""
    right = number[-1]
    return number[:-1] + ("1" if right != "1" else "2"), right


def _actor():
    from common.actor import Actor

    return Actor("admin", "管理员", connection.schema_name)


def _data(**over: str) -> dict[str, str]:
    base = {
        "staff_no": "T001",
        "name": "张老师",
        "sex": "男",
        "id_number": _id(),
        "phone": "13900001111",
        "subject": "数学",
        "title": "一级教师",
        "employment": "在编",
        "status": "",
    }
    return base | over


def _refused(call, field: str, message: str) -> None:
    from common.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as caught:
        call()
    assert message in caught.value.extra[field], caught.value.extra


def _xlsx(rows: list[list[object]], sheet: str = "教师信息") -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = sheet  # type: ignore[union-attr]
    for values in rows:
        ws.append(values)  # type: ignore[union-attr]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- one record ---------------------------------------------------------------------------


def test_a_teacher_is_stored_normalised_linked_to_the_account_and_audited(world: World) -> None:
    from accounts.models import AuditEntry, User
    from tenant_apps.registry.teachers.services import teacher_create

    with school_context(world.a.schema):
        given = _data(
            staff_no="ｔｅａｃｈｅｒ", id_number=_id().lower() + " ", phone="139 0000 1111"
        )
        teacher = teacher_create(data=given, actor=_actor())
        teacher.refresh_from_db()
        entry = AuditEntry.objects.filter(object_type="teacher").latest("id")
        account = User.objects.get(username="teacher")

        assert (teacher.staff_no, teacher.sex, teacher.title) == ("teacher", "1", "first")
        assert (teacher.employment, teacher.status) == ("established", "active")
        assert teacher.id_number == _id()
        assert teacher.phone == "13900001111"
        assert teacher.user == account
        assert entry.object_repr == "新增教师：张老师（teacher）"
        assert entry.after["身份证号"] == "4301**********" + _id()[-4:]
        assert entry.after["职称"] == "一级教师"
        assert _id() not in str(entry.after)


def test_a_wrong_check_character_is_refused_naming_the_field(world: World) -> None:
    from tenant_apps.registry.models import Teacher
    from tenant_apps.registry.teachers.services import teacher_create

    wrong, right = _wrong_check(_id())
    with school_context(world.a.schema):
        _refused(
            lambda: teacher_create(data=_data(id_number=wrong), actor=_actor()),
            "id_number",
            "身份证号校验位不符：号码中有录入错误，不一定在最后一位。请对照户口簿或身份证件逐位核对。",
        )
        assert Teacher.objects.filter(staff_no="T001").exists() is False


def test_the_id_number_must_agree_with_the_sex_and_have_a_real_birth_date(world: World) -> None:
    from tenant_apps.registry.teachers.services import teacher_clean, teacher_create

    with school_context(world.a.schema):
        _refused(
            lambda: teacher_create(data=_data(sex="女"), actor=_actor()),
            "id_number",
            "身份证号第17位表示男性，与性别“女”不一致。",
        )
        _, errors = teacher_clean(_data(id_number=_id(birth="19851332")))
        assert errors["id_number"][0] == "身份证号第7–14位“19851332”不是有效的出生日期。"
        _, errors = teacher_clean(_data(id_number="43018119850315"))
        assert errors["id_number"] == ["身份证号应为18位：前17位为数字，最后1位为数字或X。"]
        # Excel turned the column into numbers: the last digits are gone
        _, errors = teacher_clean(_data() | {"id_number": 4.30181198503150e17})
        assert "被Excel当作数字保存" in errors["id_number"][0]


def test_required_fields_choices_and_phone_are_named(world: World) -> None:
    from tenant_apps.registry.teachers.services import teacher_clean

    with school_context(world.a.schema):
        _, errors = teacher_clean(
            _data(staff_no="", name="张 老师", sex="未知", title="特级", phone="12345")
        )
    assert errors["staff_no"] == ["工号为必填项，不能为空。"]
    assert errors["name"] == ["姓名中间不能有空格。"]
    assert errors["sex"] == ["性别“未知”不是有效的值，请填写：男、女。"]
    assert errors["title"] == [
        "职称“特级”不是有效的值，请填写：正高级教师、高级教师、一级教师、二级教师、三级教师、未评职称。"
    ]
    assert errors["phone"][0].startswith("联系电话“12345”不是有效的电话号码")


def test_staff_number_and_id_number_are_unique_in_the_school_only(world: World) -> None:
    from tenant_apps.registry.teachers.services import teacher_create

    with school_context(world.a.schema):
        teacher_create(data=_data(), actor=_actor())
        _refused(
            lambda: teacher_create(data=_data(id_number=_id(seq="013")), actor=_actor()),
            "staff_no",
            "工号：T001 已有教师记录（张老师）。",
        )
        _refused(
            lambda: teacher_create(data=_data(staff_no="T002"), actor=_actor()),
            "id_number",
            "身份证号：与工号 T001 的教师记录重复。",
        )
    # another school keeps its own numbers
    with school_context(world.b.schema):
        assert teacher_create(data=_data(), actor=_actor()).staff_no == "T001"


def test_an_edit_audits_only_what_changed_and_relinks_the_account(world: World) -> None:
    from accounts.models import AuditEntry, User
    from tenant_apps.registry.teachers.services import teacher_create, teacher_update

    with school_context(world.a.schema):
        teacher = teacher_create(data=_data(staff_no="X9"), actor=_actor())
        assert teacher.user is None
        teacher_update(
            teacher_id=teacher.pk,
            data=_data(staff_no="subject", subject="语文"),
            actor=_actor(),
        )
        teacher.refresh_from_db()
        entry = AuditEntry.objects.filter(object_type="teacher").latest("id")

        assert teacher.user == User.objects.get(username="subject")
        assert entry.before == {"工号": "X9", "任教学科": "数学"}
        assert entry.after == {"工号": "subject", "任教学科": "语文"}


def test_deactivating_keeps_the_record_and_can_disable_the_account(world: World) -> None:
    from accounts.models import User
    from tenant_apps.registry.teachers.services import (
        teacher_create,
        teacher_deactivate,
        teacher_list,
        teacher_reactivate,
    )

    with school_context(world.a.schema):
        teacher = teacher_create(data=_data(staff_no="staff"), actor=_actor())
        _refused(
            lambda: teacher_deactivate(teacher_id=teacher.pk, status="active", actor=_actor()),
            "status",
            "离职原因：请选择“离职”“退休”或“调出”。",
        )
        teacher_deactivate(
            teacher_id=teacher.pk,
            status="left",
            note="调往外省",
            disable_account=True,
            actor=_actor(),
        )
        teacher.refresh_from_db()
        assert (teacher.status, teacher.status_note) == ("left", "调往外省")
        assert teacher.status_since is not None
        assert User.objects.get(username="staff").is_active is False
        assert [t.staff_no for t in teacher_list()] == []
        assert [t.staff_no for t in teacher_list(status="all")] == ["staff"]
        assert [t.staff_no for t in teacher_list(q="张", status="left")] == ["staff"]
        _refused(
            lambda: teacher_deactivate(teacher_id=teacher.pk, status="retired", actor=_actor()),
            "status",
            "该教师已是“离职”状态。",
        )
        teacher_reactivate(teacher_id=teacher.pk, actor=_actor())
        assert [t.staff_no for t in teacher_list(q="数学")] == ["staff"]
        # the account stays disabled until an administrator enables it
        assert User.objects.get(username="staff").is_active is False


# -- import -------------------------------------------------------------------------------


def test_the_dry_run_names_every_error_by_row_and_field_and_writes_nothing(world: World) -> None:
    from tenant_apps.registry.models import Teacher
    from tenant_apps.registry.teachers.services import teacher_create
    from tenant_apps.registry.teachers.workbook import teachers_dry_run

    wrong, right = _wrong_check(_id(seq="021"))
    data = _xlsx(
        [
            [*HEADER[:-1], "任职状况"],  # 任职状态 misspelt: read as unknown
            ["T101", "李老师", "女", _id(seq="022"), "", "语文", "", "", "", "x"],
            ["T102", "王老师", "男", wrong, "", "", "", "", "", ""],
            ["T101", "赵老师", "男", "", "", "", "", "", "", ""],
            ["T001", "钱老师", "男", "", "", "", "特级", "", "", ""],
            ["T105", "", "女", _id(seq="022"), "", "", "", "", "", ""],
        ]
    )
    with school_context(world.a.schema):
        teacher_create(data=_data(), actor=_actor())
        report = teachers_dry_run(name="teachers.xlsx", data=data)
        assert Teacher.objects.count() == 1

    assert report.counts == {"total": 5, "valid": 1, "invalid": 4}
    assert [r for r, _ in report.rows] == [2]
    got = {(e["row"], e["header"], e["message"]) for e in report.errors}
    assert got == {
        (
            3,
            "身份证号",
            "身份证号校验位不符：号码中有录入错误，不一定在最后一位。请对照户口簿或身份证件逐位核对。",
        ),
        (4, "工号", "工号与本文件第 2 行重复。"),
        (5, "工号", "工号：T001 已有教师记录（张老师）。"),
        (
            5,
            "职称",
            "职称“特级”不是有效的值，请填写：正高级教师、高级教师、一级教师、二级教师、三级教师、未评职称。",
        ),
        (6, "姓名", "姓名为必填项，不能为空。"),
        (6, "身份证号", "身份证号与本文件第 2 行重复。"),
    }
    # the ID numbers in the report are masked, like every list
    assert all(len(e["value"]) < 18 or "*" in e["value"] for e in report.errors)
    assert report.headers_unknown == [{"column": 9, "header": "任职状况", "suggestion": "任职状态"}]


def test_a_file_missing_a_required_column_is_refused_naming_it(world: World) -> None:
    from common.exceptions import ApplicationError
    from tenant_apps.registry.teachers.workbook import teachers_dry_run

    with school_context(world.a.schema):
        with pytest.raises(ApplicationError) as missing:
            teachers_dry_run(name="t.xlsx", data=_xlsx([["工号", "姓名"], ["T1", "李老师"]]))
        with pytest.raises(ApplicationError) as misspelt:
            teachers_dry_run(
                name="t.csv", data="工号,教师姓名,性别\nT1,李老师,女\n".encode("utf-8-sig")
            )
        with pytest.raises(ApplicationError) as foreign:
            teachers_dry_run(name="t.xlsx", data=b"not a workbook at all")
    assert missing.value.extra == {"file": ["缺少必填列：性别"]}
    assert (
        misspelt.value.message == "缺少必填列：姓名（第2列“教师姓名”是否就是它？请改成模板的列名）"
    )
    assert "file" in foreign.value.extra


def test_confirming_writes_the_valid_rows_or_refuses_all_or_nothing(world: World) -> None:
    from accounts.models import AuditEntry, User
    from common.exceptions import ApplicationError
    from tenant_apps.registry.models import Teacher
    from tenant_apps.registry.teachers.workbook import (
        MODE_ALL_OR_NOTHING,
        MODE_VALID_ONLY,
        teachers_import,
    )

    rows = [
        [*HEADER, "备注"],
        [
            "registrar",
            "李老师",
            "女",
            _id(seq="022"),
            "13900002222",
            "语文",
            "高级教师",
            "",
            "",
            "a",
        ],
        ["T202", "王老师", "男", _wrong_check(_id(seq="025"))[0], "", "", "", "", "借调", ""],
        ["T203", "赵老师", "男", "", "", "", "", "合同制", "借调", ""],
    ]
    data = _xlsx(rows)  # type: ignore[arg-type]
    with school_context(world.a.schema):
        with pytest.raises(ApplicationError) as all_refused:
            teachers_import(name="t.xlsx", data=data, mode=MODE_ALL_OR_NOTHING, actor=_actor())
        with pytest.raises(ApplicationError) as ack_needed:
            teachers_import(name="t.xlsx", data=data, mode=MODE_VALID_ONLY, actor=_actor())
        assert Teacher.objects.count() == 0
        report = teachers_import(
            name="t.xlsx",
            data=data,
            mode=MODE_VALID_ONLY,
            acknowledge_headers=True,
            actor=_actor(),
        )
        written = {t.staff_no: t for t in Teacher.objects.all()}
        entry = AuditEntry.objects.filter(object_type="teacher").latest("id")

        assert all_refused.value.message.startswith("有 1 行不能导入")
        assert ack_needed.value.code == "acknowledge_headers"
        assert "第10列“备注”" in ack_needed.value.message
        assert len(report.rows) == 2
        assert set(written) == {"registrar", "T203"}
        assert written["registrar"].user == User.objects.get(username="registrar")
        assert (written["T203"].employment, written["T203"].status) == ("contract", "lent")
        assert entry.object_repr == "导入教师 2 名（t.xlsx）"
        assert entry.after == {"工号": ["registrar", "T203"]}
        # the same file again: every row is already there
        with pytest.raises(ApplicationError) as repeated:
            teachers_import(
                name="t.xlsx",
                data=data,
                mode=MODE_VALID_ONLY,
                acknowledge_headers=True,
                actor=_actor(),
            )
        assert repeated.value.message == "文件中没有可导入的教师。"


def test_the_template_and_the_export_read_back(world: World) -> None:
    from tenant_apps.registry.teachers.services import teacher_create, teacher_list
    from tenant_apps.registry.teachers.workbook import (
        teacher_template,
        teachers_dry_run,
        teachers_export,
    )

    template = load_workbook(io.BytesIO(teacher_template()))
    ws = template["教师信息"]
    assert [c.value for c in ws[1]] == HEADER
    assert [c.font.color.rgb for c in ws[1][:3]] == ["FFFF0000"] * 3  # required: red
    assert ws[1][3].font.color is None
    notes = {r[0].value: r[1].value for r in template["填写说明"].iter_rows(min_row=2)}
    assert notes["职称"].startswith("选填。填写其中之一：正高级教师")  # type: ignore[union-attr]
    with school_context(world.a.schema):
        teacher_create(data=_data(), actor=_actor())
        exported = teachers_export(list(teacher_list()))
        # the empty template is a valid file with no rows
        assert teachers_dry_run(name="t.xlsx", data=teacher_template()).counts["total"] == 0
    row = [c.value for c in load_workbook(io.BytesIO(exported))["教师信息"][2]]
    assert row[:3] == ["T001", "张老师", "男"]
    assert row[3] == "4301**********" + _id()[-4:]
    assert row[6:9] == ["一级教师", "在编", "在职"]
