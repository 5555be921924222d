"""教师信息管理 on a school's host (issue 13 items 4 and 7): the list with search and
masked ID numbers, add and edit with the Chinese message next to the field, 离职 and
恢复, template download, upload → dry-run report → confirmation, export; the API's
answers masked; nothing of one school's teachers on another's host."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from openpyxl import Workbook, load_workbook
from stdnum.cn import ric

from conftest import World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db

HEADER = ["工号", "姓名", "性别", "身份证号", "联系电话", "任教学科"]


def _id(seq: str = "011") -> str:
    body = f"43018119850315{seq}"
    return body + ric.calc_check_digit(body + "0")


def _form(**over: str) -> dict[str, str]:
    base = {
        "staff_no": "T001",
        "name": "张老师",
        "sex": "1",
        "id_number": _id(),
        "phone": "13900001111",
        "subject": "数学",
        "title": "first",
        "employment": "established",
        "status": "active",
    }
    return base | over


def _post(client, path: str, data: dict | None = None):
    response = client.post(path, data or {})
    connection.set_schema_to_public()
    return response


def _get(client, path: str, data: dict | None = None):
    response = client.get(path, data or {})
    connection.set_schema_to_public()
    return response


def _xlsx(rows: list[list[object]]) -> io.BytesIO:
    book = Workbook()
    ws = book.active
    ws.title = "教师信息"  # type: ignore[union-attr]
    for values in rows:
        ws.append(values)  # type: ignore[union-attr]
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "teachers.xlsx"
    return out


def test_the_page_adds_searches_edits_and_deactivates_a_teacher(world: World) -> None:
    from accounts.models import User
    from tenant_apps.registry.models import Teacher

    admin = login(world.a.host, "admin")
    wrong = _id()[:-1] + ("1" if _id()[-1] != "1" else "2")
    refused = _post(admin, "/school/teachers/new/", _form(id_number=wrong))
    assert refused.status_code == 200
    assert "身份证号校验位不符：号码中有录入错误，不一定在最后一位。" in refused.content.decode()

    created = _post(admin, "/school/teachers/new/", _form(staff_no="teacher"))
    assert created.status_code == 302
    page = _get(admin, "/school/teachers/", {"q": "张"}).content.decode()
    assert "张老师" in page
    assert "4301**********" + _id()[-4:] in page
    assert _id() not in page
    assert "已关联" in page
    assert "<td>张老师</td>" not in _get(admin, "/school/teachers/", {"q": "李"}).content.decode()

    with school_context(world.a.schema):
        teacher = Teacher.objects.get(staff_no="teacher")
    edit = _get(admin, f"/school/teachers/{teacher.pk}/").content.decode()
    assert "确认离职" in edit
    assert (
        _post(
            admin, f"/school/teachers/{teacher.pk}/", _form(staff_no="teacher", subject="语文")
        ).status_code
        == 302
    )
    deactivated = _post(
        admin,
        f"/school/teachers/{teacher.pk}/deactivate/",
        {"status": "retired", "note": "", "disable_account": "1"},
    )
    assert deactivated.status_code == 302
    with school_context(world.a.schema):
        teacher.refresh_from_db()
        assert (teacher.subject, teacher.status) == ("语文", "retired")
        assert User.objects.get(username="teacher").is_active is False
    cell = "<td>张老师</td>"  # the list's row, not the flash message above it
    assert cell not in _get(admin, "/school/teachers/").content.decode()
    assert cell in _get(admin, "/school/teachers/", {"status": "all"}).content.decode()
    _post(admin, f"/school/teachers/{teacher.pk}/reactivate/")
    assert cell in _get(admin, "/school/teachers/").content.decode()


def test_upload_shows_the_report_and_confirmation_writes_the_valid_rows(world: World) -> None:
    from tenant_apps.registry.models import Teacher

    registrar = login(world.a.host, "registrar")
    template = _get(registrar, "/api/v1/school/teachers/template/")
    assert template.status_code == 200
    headers = [c.value for c in load_workbook(io.BytesIO(template.content))["教师信息"][1]]
    assert headers[:6] == HEADER

    upload = _xlsx(
        [
            [*HEADER, "备注"],
            ["T301", "李老师", "女", _id("022"), "", "语文", ""],
            ["T302", "王老师", "女", _id("021"), "", "", ""],
        ]
    )
    report = _post(registrar, "/school/teachers/import/", {"file": upload})
    body = report.content.decode()
    assert report.status_code == 200
    assert "教师导入校验报告" in body
    assert "第 7 列“备注”" in body
    assert "身份证号第17位表示男性，与性别“女”不一致。" in body
    with school_context(world.a.schema):
        assert Teacher.objects.filter(staff_no__startswith="T30").count() == 0

    # unknown columns need the acknowledgement: the page says so and keeps the file
    again = _post(registrar, "/school/teachers/import/confirm/", {"mode": "valid_only"})
    assert again.status_code == 200
    assert "请勾选“我已知晓”后再确认导入" in again.content.decode()
    done = _post(
        registrar,
        "/school/teachers/import/confirm/",
        {"mode": "valid_only", "acknowledge_headers": "1"},
    )
    assert done.status_code == 302
    with school_context(world.a.schema):
        assert list(
            Teacher.objects.filter(staff_no__startswith="T30").values_list("staff_no", flat=True)
        ) == ["T301"]
    # the file was used up: a second confirmation finds nothing to import
    gone = _post(registrar, "/school/teachers/import/confirm/", {"mode": "valid_only"})
    assert gone.status_code == 302
    assert gone["Location"].endswith("/school/teachers/import/")

    missing = _post(
        registrar, "/school/teachers/import/", {"file": _xlsx([["工号", "姓名"], ["T9", "赵"]])}
    )
    assert "缺少必填列：性别" in missing.content.decode()

    export = _get(registrar, "/school/teachers/export/", {"status": "all"})
    assert export.status_code == 200
    rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(export.content)).active]  # type: ignore[union-attr]
    assert ["T301", "李老师", "女", "4301**********" + _id("022")[-4:]] == rows[1][:4]


def test_the_api_masks_and_names_the_field(world: World) -> None:
    admin = login(world.a.host, "admin")
    created = admin.post(
        "/api/v1/school/teachers/", _form(staff_no="A1", sex="男"), content_type="application/json"
    )
    connection.set_schema_to_public()
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["id_number"] == "4301**********" + _id()[-4:]
    assert body["phone"] == "139****1111"
    assert (body["sex"], body["title_label"], body["status_label"]) == ("1", "一级教师", "在职")

    twice = admin.post(
        "/api/v1/school/teachers/",
        _form(staff_no="A1", id_number=""),
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert twice.status_code == 400
    assert twice.json()["error"]["fields"]["staff_no"] == ["工号：A1 已有教师记录（张老师）。"]

    path = f"/api/v1/school/teachers/{body['id']}/"
    patched = admin.patch(path, {"subject": "英语"}, content_type="application/json")
    connection.set_schema_to_public()
    assert patched.json()["subject"] == "英语"
    left = admin.post(f"{path}deactivate/", {"status": "left"}, content_type="application/json")
    connection.set_schema_to_public()
    assert left.json()["status"] == "left"
    listed = admin.get("/api/v1/school/teachers/", {"status": "all", "q": "A1"})
    connection.set_schema_to_public()
    assert [t["staff_no"] for t in listed.json()["results"]] == ["A1"]
    assert listed.json()["count"] == 1
    assert _id() not in listed.content.decode()

    dry = admin.post(
        "/api/v1/school/teachers/import/",
        {"file": _xlsx([HEADER, ["A2", "钱老师", "男", _id("013"), "", ""]])},  # type: ignore[list-item]
    )
    connection.set_schema_to_public()
    assert dry.json()["counts"] == {"total": 1, "valid": 1, "invalid": 0}
    assert dry.json()["written"] == 0


def test_teachers_are_the_administrators_and_registrars_only(world: World) -> None:
    for username in ("teacher", "subject", "principal", "staff"):
        client = login(world.a.host, username)
        assert _get(client, "/school/teachers/").status_code == 403
        assert _get(client, "/api/v1/school/teachers/").status_code == 403


def test_one_schools_teachers_never_show_on_another_host(world: World) -> None:
    from common.actor import Actor
    from tenant_apps.registry.teachers.services import teacher_create

    with school_context(world.a.schema):
        teacher = teacher_create(
            data=_form(staff_no="ONLY-A", name="甲校独有"), actor=Actor("admin", "管理员", "a")
        )
    connection.set_schema_to_public()
    b_admin = login(world.b.host, "admin")
    assert "甲校独有" not in _get(b_admin, "/school/teachers/", {"status": "all"}).content.decode()
    assert "甲校独有" not in _get(b_admin, "/api/v1/school/teachers/").content.decode()
    # A's record id on B's host is someone else's or nobody's, never A's teacher
    other = _get(b_admin, f"/school/teachers/{teacher.pk}/")
    assert "甲校独有" not in other.content.decode()


def _many(world: World, n: int, subject: str = "语文") -> None:
    from common.actor import Actor
    from tenant_apps.registry.teachers.services import teacher_create

    with school_context(world.a.schema):
        for i in range(n):
            teacher_create(
                data={
                    "staff_no": f"P{i:03d}",
                    "name": f"分页{i:03d}",
                    "sex": "1",
                    "subject": subject,
                },
                actor=Actor("admin", "管理员", world.a.schema),
            )
    connection.set_schema_to_public()


def test_the_teacher_list_is_paged_keeping_search_and_filter(world: World) -> None:
    """More teachers than a page (30, as the student list): the pager's links carry the
    search and the status filter, and the second page lists the rest."""
    # given: 35 teachers of 语文 and 2 of 数学
    _many(world, 35)
    from common.actor import Actor
    from tenant_apps.registry.teachers.services import teacher_create

    with school_context(world.a.schema):
        for i in range(2):
            teacher_create(
                data={"staff_no": f"M{i}", "name": f"数学{i}", "sex": "2", "subject": "数学"},
                actor=Actor("admin", "管理员", world.a.schema),
            )
    connection.set_schema_to_public()
    admin = login(world.a.host, "admin")

    # when: the list is searched for 语文 among all statuses
    first = _get(admin, "/school/teachers/", {"q": "语文", "status": "all"}).content.decode()
    second = _get(
        admin, "/school/teachers/", {"q": "语文", "status": "all", "page": "2"}
    ).content.decode()

    # then
    assert first.count("分页0") == 30
    assert "数学0" not in first
    assert "第 1 / 2 页，共 35 条" in first
    assert 'href="?q=%E8%AF%AD%E6%96%87&amp;status=all&amp;page=2"' in first
    assert second.count("分页0") == 5
    assert "P034" in second
    assert "P000" not in second
    assert 'href="?q=%E8%AF%AD%E6%96%87&amp;status=all&amp;page=1"' in second


def test_the_teacher_api_list_is_paged_as_the_students(world: World) -> None:
    _many(world, 55)
    admin = login(world.a.host, "admin")
    first = admin.get("/api/v1/school/teachers/", {"q": "分页"})
    connection.set_schema_to_public()
    body = first.json()
    assert (body["count"], len(body["results"])) == (55, 50)
    assert "page=2" in body["next"]
    assert "q=%E5%88%86%E9%A1%B5" in body["next"]
    second = admin.get("/api/v1/school/teachers/", {"q": "分页", "page": "2"})
    connection.set_schema_to_public()
    assert [t["staff_no"] for t in second.json()["results"]] == [f"P{i:03d}" for i in range(50, 55)]
