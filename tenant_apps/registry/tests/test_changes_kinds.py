"""The class and grade changes and the restored record (issue 19 point 2): 调班 (the
school alone), 跳级 and 留级 (school + county, the pupil joins the cohort of the target
grade), 恢复入学资格 (退学 → 在读, school + county); each through every approver with
maker ≠ checker, its blockers, its history entry, the public index and the live counts;
a failure at the last step leaves nothing half-changed; a plain edit no longer moves a
registered pupil to another class or grade; the 异动 report counts the new kinds."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from PIL import Image

from common.actor import Actor
from conftest import SchoolRef, World, login
from tenant_apps.registry.tests.test_changes import Pupil, _pupil, _upload
from tenants.context import school_context

pytestmark = pytest.mark.django_db

SCHOOL_APPROVE = frozenset({"registry.approve"})
BUREAU = frozenset({"bureau.audit"})


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, format="PNG")
    return out.getvalue()


def _class(school: SchoolRef, stage: str, entry_year: int, number: int) -> int:
    from tenant_apps.registry.models import SchoolClass

    with school_context(school.schema):
        klass, _ = SchoolClass.objects.get_or_create(
            stage=stage,
            entry_year=entry_year,
            number=number,
            defaults={"class_no": SchoolClass.make_class_no(stage, entry_year, number)},
        )
    connection.set_schema_to_public()
    return klass.pk


def _record(school: SchoolRef, pupil: Pupil) -> dict[str, object]:
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import StatusChange, Student

    with school_context(school.schema):
        s = Student.objects.select_related("school_class").get(pk=pupil.pk)
        events = list(s.events.values_list("action", "changes"))
        states = list(
            StatusChange.objects.filter(student_id=pupil.pk).values_list("state", flat=True)
        )
        klass = (s.school_class.stage, s.school_class.entry_year, s.school_class.number)
    connection.set_schema_to_public()
    entry = IndexEntry.objects.get(student_uuid=pupil.uuid)
    return {
        "class": klass,
        "seat": s.number_in_class,
        "ym": s.entry_year_month,
        "status": s.status,
        "index": (entry.stage, entry.entry_year, entry.status),
        "events": events,
        "changes": states,
    }


def _counts(school: SchoolRef) -> dict[tuple[object, ...], tuple[int, ...]]:
    """The school's live counts, asserted equal to the recount of its records."""
    from shared_apps.student_index.live import school_cells
    from tenant_apps.registry.facade import live_cells

    truth = live_cells(schema_name=school.schema, school_id=school.id)
    connection.set_schema_to_public()
    found = school_cells(school_id=school.id)
    assert found == truth
    return found  # type: ignore[return-value]


def _sync(school: SchoolRef) -> None:
    from shared_apps.backups.index_resync import _index_resync

    _index_resync(school_id=school.id, schema=school.schema)
    connection.set_schema_to_public()


def _moved(before: dict, after: dict) -> dict:
    out = {}
    for cell in before.keys() | after.keys():
        old, new = before.get(cell), after.get(cell)
        n_old = old[0] if old else 0
        n_new = new[0] if new else 0
        if n_old != n_new:
            out[cell[:2] + cell[4:6]] = n_new - n_old  # (stage, year, status, audit)
    return out


def _submit(school: SchoolRef, pupil: Pupil, kind: str, target: int | None, **fields: object):
    from tenant_apps.registry.changes.services import ChangeInput, Upload, change_submit

    evidence = fields.pop("evidence", True)
    with school_context(school.schema):
        change = change_submit(
            student_id=pupil.pk,
            data=ChangeInput(
                kind=kind,
                change_date=timezone.localdate(),
                target_class_id=target,
                **fields,  # type: ignore[arg-type]
            ),
            uploads=[Upload("申请书.png", _png())] if evidence else [],
            actor=Actor("registrar", "学籍管理员", school.schema),
        )
    connection.set_schema_to_public()
    return change


def _school_approve(school: SchoolRef, change_id: int, username: str = "approver"):
    from shared_apps.transfers.services import CaseActor
    from tenant_apps.registry.changes.services import change_school_decide

    with school_context(school.schema):
        change = change_school_decide(
            change_id=change_id,
            approve=True,
            reason="同意",
            actor=Actor(username, "学籍主管", school.schema),
            case_actor=CaseActor(username, school.schema, None, SCHOOL_APPROVE),
        )
    connection.set_schema_to_public()
    return change


def _bureau_approve(case_id) -> None:
    from shared_apps.transfers.services import CaseActor, case_decide

    case_decide(
        case_id=case_id,
        actor=CaseActor("liuyang", "public", "430181000000", BUREAU),
        approve=True,
    )
    connection.set_schema_to_public()


# -- 调班: the school alone ----------------------------------------------------------------


def test_class_change_takes_effect_on_the_school_approval_alone(world: World) -> None:
    from shared_apps.transfers.models import Case

    _sync(world.a)
    pupil = _pupil(world.a.schema, "调班甲")  # 小学2024级(09)班, no seat
    target = _class(world.a, "primary", 2024, 1)  # the world's class, the sentinel on seat 1
    before_counts = _counts(world.a)
    registrar = login(world.a.host, "registrar")
    response = registrar.post(
        "/api/v1/status-changes/",
        {
            "student_id": str(pupil.uuid),
            "kind": "CLASS_CHANGE",
            "change_date": timezone.localdate().isoformat(),
            "reason_code": "01",
            "target_class_id": target,
        },
    )
    connection.set_schema_to_public()
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["from_class_name"], body["to_class_name"]) == (
        "小学2024级(09)班",
        "小学2024级(01)班",
    )
    case = Case.objects.get(pk=body["case_id"])
    assert [s["owner"] for s in case.chain] == ["school"], "no county step for 调班"
    assert case.payload["to_class"] == "小学2024级(01)班"
    assert _record(world.a, pupil)["class"] == ("primary", 2024, 9), "nothing before approval"

    approver = login(world.a.host, "approver")
    page = approver.post(
        f"/registry/changes/{body['id']}/decide/", {"decision": "approve"}, follow=True
    )
    connection.set_schema_to_public()
    assert "学校审核已通过，该学籍异动已生效" in page.content.decode()
    after = _record(world.a, pupil)
    assert after["class"] == ("primary", 2024, 1)
    assert after["seat"] == 2, "seated after the class's last number"
    assert after["ym"] == "202409", "the grade, hence the cohort, stays"
    assert after["status"] == "01"
    assert after["index"] == ("primary", 2024, "01")
    assert after["changes"] == ["done"]
    done = [c for a, c in after["events"] if a == "学籍异动生效：调班"]  # type: ignore[attr-defined]
    assert done == [{"class_no": ["2024109", "2024101"], "number_in_class": [None, 2]}]
    assert Case.objects.get(pk=body["case_id"]).state == "done"
    assert _moved(before_counts, _counts(world.a)) == {}, "same grade, same cell"


def test_class_change_maker_is_never_the_checker(world: World) -> None:
    from common.exceptions import ApplicationError
    from shared_apps.transfers.services import CaseActor
    from tenant_apps.registry.changes.services import change_school_decide

    pupil = _pupil(world.a.schema, "调班自审")
    target = _class(world.a, "primary", 2024, 1)
    change = _submit(world.a, pupil, "CLASS_CHANGE", target, reason_code="02", evidence=False)
    both = frozenset({"registry.edit", "registry.approve"})
    with school_context(world.a.schema), pytest.raises(ApplicationError) as exc:
        change_school_decide(
            change_id=change.pk,
            approve=True,
            reason="",
            actor=Actor("registrar", "兼任", world.a.schema),
            case_actor=CaseActor("registrar", world.a.schema, None, both),
        )
    assert exc.value.code == "maker_checker"
    connection.set_schema_to_public()
    assert _record(world.a, pupil)["class"] == ("primary", 2024, 9)
    assert _record(world.a, pupil)["changes"] == ["open"]


# -- 跳级 / 留级: school and county, the cohort follows ------------------------------------


@pytest.mark.parametrize(
    ("kind", "year", "fields", "label"),
    [
        ("SKIP_GRADE", 2023, {"reason_text": "学业优异，经评估可跳级"}, "跳级"),
        ("REPEAT_GRADE", 2025, {"reason_code": "02"}, "留级"),
    ],
    ids=["跳级", "留级"],
)
def test_grade_change_needs_school_and_county_and_moves_the_cohort(
    world: World, kind: str, year: int, fields: dict[str, str], label: str
) -> None:
    from shared_apps.transfers.models import Case

    _sync(world.a)
    pupil = _pupil(world.a.schema, f"{label}乙")  # 小学2024级
    target = _class(world.a, "primary", year, 3)
    before_counts = _counts(world.a)
    change = _submit(world.a, pupil, kind, target, **fields)
    case = Case.objects.get(pk=change.case_id)
    assert [s["owner"] for s in case.chain] == ["school", "bureau"]

    # maker ≠ checker: the applicant cannot take the school step
    from common.exceptions import ApplicationError

    with pytest.raises(ApplicationError):
        _school_approve(world.a, change.pk, username="registrar")
    connection.set_schema_to_public()
    _school_approve(world.a, change.pk)
    assert Case.objects.get(pk=change.case_id).step == 1
    assert _record(world.a, pupil)["class"] == ("primary", 2024, 9), "the county decides"
    assert _moved(before_counts, _counts(world.a)) == {}

    _bureau_approve(change.case_id)
    after = _record(world.a, pupil)
    assert after["class"] == ("primary", year, 3)
    assert after["seat"] == 1
    assert after["ym"] == f"{year}09", "入学年月 follows the cohort of the target grade"
    assert after["status"] == "01"
    assert after["index"] == ("primary", year, "01")
    done = [c for a, c in after["events"] if a == f"学籍异动生效：{label}"]  # type: ignore[attr-defined]
    assert done == [
        {
            "class_no": ["2024109", f"{year}103"],
            "number_in_class": [None, 1],
            "entry_year_month": ["202409", f"{year}09"],
        }
    ]
    actions = [a for a, _ in after["events"]]  # type: ignore[attr-defined]
    assert f"学籍异动学校审核通过：{label}" in actions
    assert _moved(before_counts, _counts(world.a)) == {
        ("primary", 2024, "01", "registered"): -1,
        ("primary", year, "01", "registered"): 1,
    }


@pytest.mark.parametrize("point", ["change_after_student_write", "change_before_index"])
def test_a_failure_at_the_last_step_leaves_nothing_half_changed(world: World, point: str) -> None:
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.facade import InjectedFailure

    _sync(world.a)
    pupil = _pupil(world.a.schema, "故障丙")
    target = _class(world.a, "primary", 2023, 3)
    change = _submit(world.a, pupil, "SKIP_GRADE", target, reason_text="评估通过")
    _school_approve(world.a, change.pk)
    before, before_counts = _record(world.a, pupil), _counts(world.a)
    with override_settings(TRANSFERS_FAIL_AT=point), pytest.raises(InjectedFailure):
        _bureau_approve(change.case_id)
    connection.set_schema_to_public()
    assert _record(world.a, pupil) == before
    assert _counts(world.a) == before_counts
    case = Case.objects.get(pk=change.case_id)
    assert (case.state, case.step) == ("open", 1)
    # the same approval later succeeds: nothing was left behind
    _bureau_approve(change.case_id)
    assert _record(world.a, pupil)["class"] == ("primary", 2023, 3)


# -- 恢复入学资格 -------------------------------------------------------------------------


def test_restore_brings_a_withdrawn_pupil_back_into_a_class(world: World) -> None:
    pupil = _pupil(world.a.schema, "恢复丁", stage="senior", entry_year=2025, status="03")
    target = _class(world.a, "senior", 2026, 2)  # readmitted into 高一
    change = _submit(world.a, pupil, "RESTORE", target, reason_text="本人申请，学校同意接收")
    assert (change.from_status, change.to_status) == ("03", "01")
    _school_approve(world.a, change.pk)
    assert _record(world.a, pupil)["status"] == "03"
    _bureau_approve(change.case_id)
    after = _record(world.a, pupil)
    assert after["status"] == "01"
    assert after["class"] == ("senior", 2026, 2)
    assert after["ym"] == "202609"
    assert after["index"] == ("senior", 2026, "01")
    done = [c for a, c in after["events"] if a == "学籍异动生效：恢复入学资格"]  # type: ignore[attr-defined]
    assert done[0]["status"] == ["03", "01"]


# -- blockers and field rules -------------------------------------------------------------


def test_blockers_refuse_with_what_to_do(world: World) -> None:
    from tenant_apps.registry.changes.services import change_preview
    from tenant_apps.registry.models import Student

    only = _pupil(world.a.schema, "阻断戊", stage="junior", entry_year=2025)  # alone in its grade
    top = _pupil(world.a.schema, "阻断己", entry_year=2021)  # 六年级: no grade above
    first = _pupil(world.a.schema, "阻断庚", entry_year=2026)  # 一年级: no grade below
    away = _pupil(world.a.schema, "阻断辛", status="02")
    studying = _pupil(world.a.schema, "阻断壬")

    def codes(p: Pupil, kind: str) -> list[tuple[str, str]]:
        with school_context(world.a.schema):
            student = Student.objects.select_related("school_class").get(pk=p.pk)
            found = [(b.code, b.message) for b in change_preview(student, kind)]
        connection.set_schema_to_public()
        return found

    assert codes(only, "CLASS_CHANGE") == [
        ("no_target_class", "初中2025级没有其他班级，不能办理调班。")
    ]
    [(code, message)] = codes(top, "SKIP_GRADE")
    assert code == "no_target_grade"
    assert "小学2021级" in message
    assert [c for c, _ in codes(first, "REPEAT_GRADE")] == ["no_target_grade"]
    _class(world.a, "primary", 2025, 3)
    assert [c for c, _ in codes(away, "REPEAT_GRADE")] == ["wrong_status"]
    [(code, message)] = codes(studying, "RESTORE")
    assert code == "wrong_status"
    assert "不能办理恢复入学资格" in message


def test_field_rules_name_the_target_class_and_the_parents_application(world: World) -> None:
    from common.exceptions import ApplicationError

    pupil = _pupil(world.a.schema, "字段癸")
    other_grade = _class(world.a, "primary", 2023, 3)
    below = _class(world.a, "primary", 2025, 3)
    with pytest.raises(ApplicationError) as exc:
        _submit(world.a, pupil, "CLASS_CHANGE", other_grade, reason_code="01", evidence=False)
    assert exc.value.extra["target_class"] == [
        "所选班级“小学2023级(03)班”不能作为调班的转入班级：不在小学2024级；跨年级请办理跳级或留级。"
    ]
    with pytest.raises(ApplicationError) as exc:
        _submit(world.a, pupil, "SKIP_GRADE", below, reason_text="x")
    assert "须为高一个年级（小学2023级）的班级" in exc.value.extra["target_class"][0]
    with pytest.raises(ApplicationError) as exc:
        _submit(world.a, pupil, "SKIP_GRADE", None, reason_text="x")
    assert exc.value.extra["target_class"] == ["请选择转入班级。"]
    # 留级 in compulsory education: never on the school's order, the application is proof
    with pytest.raises(ApplicationError) as exc:
        _submit(world.a, pupil, "REPEAT_GRADE", below, reason_code="99", reason_text="成绩差")
    assert "学校不得责令学生留级" in exc.value.extra["reason_code"][0]
    with pytest.raises(ApplicationError) as exc:
        _submit(world.a, pupil, "REPEAT_GRADE", below, reason_code="01", evidence=False)
    assert "留级申请书" in exc.value.extra["files"][0]
    connection.set_schema_to_public()
    assert _record(world.a, pupil)["changes"] == []


def test_the_page_offers_the_target_classes_and_the_warning(world: World) -> None:
    pupil = _pupil(world.a.schema, "页面子")
    _class(world.a, "primary", 2025, 3)
    registrar = login(world.a.host, "registrar")
    html = registrar.get(
        f"/registry/students/{pupil.uuid}/changes/new/?kind=REPEAT_GRADE"
    ).content.decode()
    connection.set_schema_to_public()
    assert "转入班级" in html
    assert "小学2025级(03)班" in html
    assert "小学2024级(01)班" not in html, "only the grade below"
    assert "义务教育阶段学校不得责令学生留级" in html
    html = registrar.get(
        f"/registry/students/{pupil.uuid}/changes/new/?kind=CLASS_CHANGE"
    ).content.decode()
    connection.set_schema_to_public()
    assert "审核通过即生效，不需报教育局" in html
    assert "小学2024级(01)班" in html


# -- a plain edit no longer moves a pupil ----------------------------------------------------


def test_a_plain_edit_cannot_change_class_or_grade_of_a_registered_pupil(world: World) -> None:
    from common.exceptions import ApplicationError
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.services import student_register, student_update
    from tenant_apps.registry.tests.factories import valid_row

    _class(world.a, "primary", 2024, 2)
    _class(world.a, "primary", 2023, 1)
    actor = Actor("registrar", "学籍管理员", world.a.schema)
    with school_context(world.a.schema):
        draft = student_register(raw=valid_row(seq=31001), actor=actor)
        # a draft is still the school's own: any class
        moved = student_update(
            student_id=draft.pk, raw=valid_row(seq=31001, class_no="2024102"), actor=actor
        )
        assert moved.school_class.class_no == "2024102"
        Student.objects.filter(pk=draft.pk).update(audit_state="registered")
        with pytest.raises(ApplicationError) as exc:
            student_update(
                student_id=draft.pk, raw=valid_row(seq=31001, class_no="2024101"), actor=actor
            )
        assert "请办理“调班”" in exc.value.extra["class_no"][0]
        with pytest.raises(ApplicationError) as exc:
            student_update(
                student_id=draft.pk,
                raw=valid_row(
                    seq=31001, class_no="2023101", grade="小学2023级", entry_year_month="202309"
                ),
                actor=actor,
            )
        assert "请办理“跳级”" in exc.value.message
        assert Student.objects.get(pk=draft.pk).school_class.class_no == "2024102"
        # other fields still edit
        student_update(
            student_id=draft.pk,
            raw=valid_row(seq=31001, class_no="2024102", phone="13900000000"),
            actor=actor,
        )
    connection.set_schema_to_public()


# -- the report's counts ------------------------------------------------------------------


def test_the_change_report_counts_the_new_kinds(world: World) -> None:
    from tenant_apps.reports.stats.selectors import Params, table_changes

    pupil = _pupil(world.a.schema, "统计丑")
    change = _submit(
        world.a, pupil, "CLASS_CHANGE", _class(world.a, "primary", 2024, 1), reason_code="01"
    )
    _school_approve(world.a, change.pk)
    with school_context(world.a.schema):
        today = timezone.localdate()
        table = table_changes(Params(start=today - dt.timedelta(days=1), end=today))
    connection.set_schema_to_public()
    rows = dict(table.rows)
    assert rows["调班"] == [1]
    assert [rows["跳级"], rows["留级"], rows["恢复入学资格"]] == [[0], [0], [0]]
    assert rows["合计"] == [1]


def test_the_page_submission_sends_the_target_class(world: World) -> None:
    pupil = _pupil(world.a.schema, "页面寅")
    target = _class(world.a, "primary", 2023, 3)
    registrar = login(world.a.host, "registrar")
    response = registrar.post(
        f"/registry/students/{pupil.uuid}/changes/new/",
        {
            "kind": "SKIP_GRADE",
            "change_date": timezone.localdate().isoformat(),
            "reason_text": "学业优异",
            "target_class": str(target),
            "files": [_upload("申请书.png", _png())],
        },
    )
    connection.set_schema_to_public()
    assert response.status_code == 302, response.content.decode()[:2000]
    from tenant_apps.registry.models import StatusChange

    with school_context(world.a.schema):
        change = StatusChange.objects.get(student_id=pupil.pk)
        assert (change.kind, change.to_class_id) == ("SKIP_GRADE", target)
    connection.set_schema_to_public()


def test_restore_is_refused_when_the_person_studies_elsewhere_now(world: World) -> None:
    """One person, one live record: 恢复入学资格 stops while the same ID number is 在读
    in another school, and names that school."""
    from shared_apps.student_index.services import index_upsert
    from tenant_apps.registry.changes.services import change_preview
    from tenant_apps.registry.models import SchoolClass, Student
    from tenant_apps.registry.students.services import current_school, index_record

    id_number = "430181200901010014"
    pupil = _pupil(world.a.schema, "恢复卯", stage="senior", entry_year=2025, status="03")
    with school_context(world.a.schema):
        Student.objects.filter(pk=pupil.pk).update(id_number=id_number, id_type="1")
        withdrawn = Student.objects.select_related("school_class").get(pk=pupil.pk)
        index_upsert(school_id=current_school().id, records=[index_record(withdrawn)])
        assert change_preview(withdrawn, "RESTORE") == []
    connection.set_schema_to_public()
    with school_context(world.b.schema):
        klass = SchoolClass.objects.order_by("pk")[0]
        other = Student.objects.create(
            name="恢复卯",
            sex="1",
            birth_date=dt.date(2017, 10, 1),
            id_number=id_number,
            id_type="1",
            school_class=klass,
            entry_year_month="202409",
            audit_state="registered",
        )
        other = Student.objects.select_related("school_class").get(pk=other.pk)
        index_upsert(school_id=current_school().id, records=[index_record(other)])
    connection.set_schema_to_public()
    with school_context(world.a.schema):
        [blocker] = change_preview(withdrawn, "RESTORE")
    connection.set_schema_to_public()
    assert blocker.code == "registered_elsewhere"
    assert blocker.message == f"该学生已在{world.b.name}有在籍学籍，不能恢复入学资格。"


def test_the_bureau_case_page_names_both_classes(world: World) -> None:
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.changes.hooks import change_detail_lines

    pupil = _pupil(world.a.schema, "局页辰")
    change = _submit(
        world.a, pupil, "REPEAT_GRADE", _class(world.a, "primary", 2025, 3), reason_code="01"
    )
    lines = dict(change_detail_lines(Case.objects.get(pk=change.case_id)))
    connection.set_schema_to_public()
    assert lines["班级"] == "小学2024级(09)班 → 小学2025级(03)班"
    assert lines["异动类型"] == "留级"


def test_the_edit_page_shows_class_and_grade_fixed_for_a_registered_pupil(world: World) -> None:
    import re

    pupil = _pupil(world.a.schema, "编辑巳")
    registrar = login(world.a.host, "registrar")
    html = registrar.get(f"/registry/students/{pupil.uuid}/edit/").content.decode()
    connection.set_schema_to_public()
    select = re.search(r"<select[^>]*name=\"class_no\"[^>]*>", html)
    assert select is not None
    assert "disabled" in select.group(0)
    assert "已注册学生换班或换年级请办理学籍异动" in html
