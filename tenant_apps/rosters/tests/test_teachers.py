"""The teacher-training platform's export into the teacher records (issue 18 point 5, with
points 6 and 8): its own layout read and mapped onto the teacher fields, every seeded
fault found with its exact count by the teacher record's own rules, the diff's three
kinds exact, confirmation applying them through the teacher services with 全体教师
following, a failure leaving records, accounts and staged rows as before, a second
upload finding no differences."""

from __future__ import annotations

import codecs
from collections import Counter
from collections.abc import Iterator

import pytest
from django.db import connection

from common.actor import Actor
from common.exceptions import ApplicationError
from conftest import World
from tenant_apps.rosters import services, teachers
from tenant_apps.rosters.models import RosterSource, RosterUpload, StagedRow
from tenant_apps.rosters.tests.teacher_file import (
    EXPECTED,
    FAULTS,
    SPECS,
    export_xlsx,
    records_seed,
)
from tenants.context import school_context

pytestmark = pytest.mark.django_db
ROWS = 17 + FAULTS["repeated"]  # T001–T010, T101–T107, T001 again


@pytest.fixture
def school_a(world: World) -> Iterator[World]:
    with school_context(world.a.schema):
        records_seed(_actor(world))
        yield world
    connection.set_schema_to_public()


def _actor(world: World) -> Actor:
    return Actor(username="admin", name="管理员", schema=world.a.schema)


def _admin() -> object:
    from accounts.models import User

    return User.objects.get(username="admin")


def _stage(world: World, *, fixed: bool = False, name: str = "师训平台导出.xlsx") -> RosterUpload:
    return services.upload_stage(
        kind=RosterSource.Kind.TEACHERS,
        filename=name,
        data=export_xlsx(fixed=fixed),
        actor=_actor(world),
    )


def _kinds(upload: RosterUpload) -> Counter[str]:
    """Rows per error kind (a row counted once per kind)."""
    out: Counter[str] = Counter()
    for row in upload.rows.filter(state=StagedRow.State.INVALID):
        out.update({e["kind"] for e in row.errors})
    return out


def _row(upload: RosterUpload, staff_no: str) -> StagedRow:
    """The staged row of a teacher by the export's staff number cell (column 6)."""
    return next(r for r in upload.rows.order_by("row_no") if r.raw[5] == staff_no)


def _correct(world: World, upload: RosterUpload) -> None:
    """What the registrar types in the grid for the faulty rows."""
    fixes = {
        "T101": {"id_number": SPECS["T101"].id_number},
        "T102": {"id_number": SPECS["T102"].id_number},
        "T104": {"birth_date": SPECS["T104"].birth.strftime("%Y-%m-%d")},
        "T105": {"sex": SPECS["T105"].sex},
        "T107": {"id_number": SPECS["T107"].id_number},
    }
    for staff_no, values in fixes.items():
        row = services.row_update(
            row_id=_row(upload, staff_no).pk, values=values, actor=_actor(world)
        )
        assert row.state == StagedRow.State.READY, (staff_no, row.errors)


def test_the_layout_is_found_and_mapped_onto_the_teacher_fields(school_a: World) -> None:
    upload = _stage(school_a)
    assert upload.header_row == 2  # under the title row
    mapping = dict(zip(upload.headers, upload.counts["mapping"], strict=True))
    # The merged 基本信息 heading over 姓名, 性别, 证件号码 and 出生日期.
    assert mapping["基本信息姓名"] == "name"
    assert mapping["基本信息性别"] == "sex"
    assert mapping["基本信息证件号码"] == "id_number"
    assert mapping["基本信息出生日期"] == "birth_date"
    assert mapping["教师编号"] == "staff_no"
    assert mapping["学科"] == "subject"
    assert mapping["职称"] == "title"
    assert mapping["手机号码"] == "phone"
    assert mapping["学段"] == ""
    assert mapping["序号"] == ""
    notes = " ".join(upload.notes)
    assert "表头在第2行" in notes
    assert f"已略过{FAULTS['blank']}个空行" in notes
    assert "合并单元格" in notes
    # Saved for the source: the next export starts from it.
    source = RosterSource.objects.get(kind=RosterSource.Kind.TEACHERS)
    assert source.mapping["教师编号"] == "staff_no"


def test_every_seeded_fault_is_reported_with_its_exact_count(school_a: World) -> None:
    upload = _stage(school_a)
    states = Counter(upload.rows.values_list("state", flat=True))
    assert sum(states.values()) == ROWS
    assert states[StagedRow.State.REPEATED] == FAULTS["repeated"]
    kinds = _kinds(upload)
    assert kinds["id_number_as_number"] == FAULTS["id_as_number"]
    assert kinds["id_birth_mismatch"] == FAULTS["birth_mismatch"]
    assert kinds["required"] == FAULTS["sex_missing"]
    assert kinds["duplicate"] == FAULTS["id_twice"]
    invalid = sum(FAULTS[k] for k in ("id_as_number", "birth_mismatch", "sex_missing", "id_twice"))
    assert states[StagedRow.State.INVALID] == invalid
    assert states[StagedRow.State.READY] == ROWS - FAULTS["repeated"] - invalid
    # Each message names the field, in Chinese.
    messages = {e["kind"]: e["message"] for r in upload.rows.all() for e in r.errors}
    assert "身份证号" in messages["id_number_as_number"]
    assert "文本" in messages["id_number_as_number"]
    assert "性别" in messages["required"]
    assert "第" in messages["duplicate"]
    assert "身份证号" in messages["duplicate"]
    # Dates as Excel serials and as text are read, and the row says so.
    births = [n for r in upload.rows.all() for n in r.normalised if n["key"] == "birth_date"]
    assert len(births) == FAULTS["date_serial"] + FAULTS["date_text"]
    assert _row(upload, "T004").cells["birth_date"] == SPECS["T004"].birth.strftime("%Y%m%d")
    # A row without a staff number takes the record's, by ID number, and says so.
    t003 = next(r for r in upload.rows.all() if r.cells.get("name") == SPECS["T003"].name)
    assert t003.state == StagedRow.State.READY
    assert t003.cells["staff_no"] == "T003"
    assert [n["after"] for n in t003.normalised if n["key"] == "staff_no"] == ["T003"]


def test_the_diff_holds_its_three_kinds_exactly(school_a: World) -> None:
    upload = _stage(school_a)
    diff = teachers.teacher_diff(upload)
    assert diff.invalid == 5
    # Before the corrections: the faulty new rows are not new yet.
    assert {i.staff_no for i in diff.new} == {"T103", "T106"}
    assert {i.staff_no for i in diff.changed} == {"T002", "T009"}
    assert [i.staff_no for i in diff.gone] == ["T011"]
    _correct(school_a, upload)
    diff = teachers.teacher_diff(upload)
    assert diff.counts == EXPECTED
    assert diff.invalid == 0
    assert {i.staff_no for i in diff.new} == {f"T10{n}" for n in range(1, 8)}
    t002 = next(i for i in diff.changed if i.staff_no == "T002")
    # Field by field, the phone masked as lists show it.
    assert {c.key: (c.before, c.after) for c in t002.changes} == {
        "phone": ("139****0002", "137****0002"),
        "subject": (SPECS["T002"].subject, "信息科技"),
    }
    t009 = next(i for i in diff.changed if i.staff_no == "T009")
    assert t009.returns
    assert [(c.key, c.after) for c in t009.changes] == [("status", "在职")]


def test_confirmation_applies_the_diff_and_all_teachers_follows(school_a: World) -> None:
    from accounts.groups import default_group_members
    from accounts.models import AuditEntry, User
    from tenant_apps.registry.models.teachers import Teacher, TeacherStatus

    upload = _stage(school_a)
    # Not while a row is still to be corrected: its teacher would be taken for gone.
    with pytest.raises(ApplicationError, match="待修改"):
        teachers.teachers_apply(
            upload_id=str(upload.pk),
            fingerprint=teachers.teacher_diff(upload).fingerprint,
            open_accounts=True,
            actor=_actor(school_a),
        )
    _correct(school_a, upload)
    diff = teachers.teacher_diff(upload)
    # Not a diff other than the one shown.
    with pytest.raises(ApplicationError, match="重新查看差异"):
        teachers.teachers_apply(
            upload_id=str(upload.pk), fingerprint="x", open_accounts=True, actor=_actor(school_a)
        )
    members_before = set(default_group_members().values_list("username", flat=True))
    assert "T011" in members_before
    audits = AuditEntry.objects.count()
    result = teachers.teachers_apply(
        upload_id=str(upload.pk),
        fingerprint=diff.fingerprint,
        open_accounts=True,
        actor=_actor(school_a),
        actor_user=_admin(),  # type: ignore[arg-type]
    )
    assert (result.new, result.changed, result.gone) == (7, 2, 1)
    # 新增: records with accounts of the role 全体教师, linked, one-time passwords.
    assert sorted(a.username for a in result.accounts) == [f"T10{n}" for n in range(1, 8)]
    assert all(a.password for a in result.accounts)
    for n in range(1, 8):
        teacher = Teacher.objects.get(staff_no=f"T10{n}")
        assert teacher.id_number == SPECS[f"T10{n}"].id_number
        assert teacher.user is not None
        assert teacher.user.username == f"T10{n}"
        assert teacher.user.must_change_password
        assert teacher.title == "first"  # 中小学一级教师, the platform's full name
    # 变更: field by field; T009 back to 在职.
    t002 = Teacher.objects.get(staff_no="T002")
    assert (t002.phone, t002.subject) == ("13700000002", "信息科技")
    assert Teacher.objects.get(staff_no="T009").status == TeacherStatus.ACTIVE
    # 离开: 离职 with the reason, the account disabled.
    t011 = Teacher.objects.get(staff_no="T011")
    assert (t011.status, t011.status_note) == (TeacherStatus.LEFT, teachers.NOTE_GONE)
    assert not User.objects.get(username="T011").is_active
    # 全体教师 follows: the new ones in, the gone one out, nobody else changed.
    members = set(default_group_members().values_list("username", flat=True))
    assert members == (members_before - {"T011"}) | {f"T10{n}" for n in range(1, 8)}
    # T012, long gone, stays as it was.
    assert Teacher.objects.get(staff_no="T012").status_note == "调离"
    # Audited as the services audit, and the confirmation itself.
    entries = AuditEntry.objects.order_by("id")[audits:]
    reprs = [e.object_repr for e in entries]
    assert sum(r.startswith("新增教师") for r in reprs) == 7
    assert sum(r.startswith("为师训平台名单新增教师开通账号") for r in reprs) == 7
    assert any(r.startswith("修改教师：") and "T002" in r for r in reprs)
    assert any(r.startswith("教师离职") and "T011" in r for r in reprs)
    assert any("确认师训平台名单，新增7人、变更2人、离开1人" in r for r in reprs)
    assert all(SPECS["T101"].id_number not in str(e.after) for e in entries)
    # The staged rows are applied; the upload cannot be confirmed twice.
    upload.refresh_from_db()
    assert upload.counts["applied"]["new"] == 7
    assert upload.rows.filter(state=StagedRow.State.READY).count() == 0
    with pytest.raises(ApplicationError, match="确认过"):
        teachers.teachers_apply(
            upload_id=str(upload.pk),
            fingerprint=diff.fingerprint,
            open_accounts=True,
            actor=_actor(school_a),
        )
    # The platform's next export, the same teachers: no differences.
    again = _stage(school_a, fixed=True, name="师训平台导出（再次）.xlsx")
    assert again.counts["states"].get(StagedRow.State.INVALID, 0) == 0
    second = teachers.teacher_diff(again)
    assert second.empty, second.counts
    with pytest.raises(ApplicationError, match="没有需要确认的差异"):
        teachers.teachers_apply(
            upload_id=str(again.pk),
            fingerprint=second.fingerprint,
            open_accounts=True,
            actor=_actor(school_a),
        )


def test_without_accounts_a_new_teacher_is_linked_to_the_account_of_his_staff_number(
    school_a: World,
) -> None:
    from accounts.roles import Role
    from accounts.services import user_create
    from tenant_apps.registry.models.teachers import Teacher

    user_create(username="T103", full_name=SPECS["T103"].name, roles=[Role.SUBJECT_TEACHER])
    upload = _stage(school_a, fixed=True)
    result = teachers.teachers_apply(
        upload_id=str(upload.pk),
        fingerprint=teachers.teacher_diff(upload).fingerprint,
        open_accounts=False,
        actor=_actor(school_a),
    )
    assert result.accounts == ()
    assert Teacher.objects.get(staff_no="T103").user.username == "T103"  # type: ignore[union-attr]
    assert Teacher.objects.get(staff_no="T101").user is None


def test_a_failed_confirmation_leaves_records_accounts_and_staged_rows_as_before(
    school_a: World,
) -> None:
    from accounts.models import AuditEntry, User
    from tenant_apps.registry.models.teachers import Teacher

    upload = _stage(school_a, fixed=True)
    diff = teachers.teacher_diff(upload)
    assert diff.counts == EXPECTED

    def snapshot() -> tuple[object, ...]:
        return (
            list(Teacher.objects.order_by("pk").values_list("staff_no", "phone", "status", "user")),
            list(User.objects.order_by("pk").values_list("username", "is_active")),
            AuditEntry.objects.count(),
            list(upload.rows.order_by("pk").values_list("pk", "state", "promoted_at")),
            RosterUpload.objects.get(pk=upload.pk).counts,
        )

    before = snapshot()
    # A real failure after every teacher is written: the staged rows' update is refused
    # by the database itself.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION rosters_refuse() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
            CREATE TRIGGER rosters_refuse BEFORE UPDATE OF promoted_at ON rosters_stagedrow
            FOR EACH ROW EXECUTE FUNCTION rosters_refuse();
            """
        )
    with pytest.raises(Exception, match="injected failure"):
        teachers.teachers_apply(
            upload_id=str(upload.pk),
            fingerprint=diff.fingerprint,
            open_accounts=True,
            actor=_actor(school_a),
        )
    assert snapshot() == before


def test_a_gbk_csv_behind_a_bom_is_read_with_the_teacher_rules(school_a: World) -> None:
    text = (
        "姓名,性别,证件号码,出生日期,教师编号,手机号码\r\n"
        "张三,男,4.30181E+17,1985/3/15,T201,13900001111\r\n"
        f"李四,{SPECS['T104'].sex},{SPECS['T104'].id_number},{SPECS['T104'].birth:%Y.%m.%d},T202,1390000\r\n"
    )
    data = codecs.BOM_UTF8 + text.encode("gbk")
    upload = services.upload_stage(
        kind=RosterSource.Kind.TEACHERS, filename="教师.csv", data=data, actor=_actor(school_a)
    )
    assert upload.headers[:3] == ["姓名", "性别", "证件号码"]
    assert any("GBK" in n and "BOM" in n for n in upload.notes)
    first, second = upload.rows.order_by("row_no")
    assert {e["kind"] for e in first.errors} == {"id_number_as_number"}
    assert any(n["key"] == "birth_date" and n["after"] == "19850315" for n in first.normalised)
    # A phone too short: the teacher record's own phone rule, the field named.
    assert [(e["key"], e["kind"]) for e in second.errors] == [("phone", "phone")]
    assert "联系电话" in second.errors[0]["message"]


def test_teacher_uploads_do_not_take_the_pupils_path(school_a: World) -> None:
    upload = _stage(school_a, fixed=True)
    with pytest.raises(ApplicationError, match="不转入学籍"):
        services.promote_all(upload_id=str(upload.pk), actor=_actor(school_a))
    # A teacher's ID number is no pupil "promoted before".
    from tenant_apps.rosters import selectors

    assert selectors.upload_get(upload.pk) is None
    assert selectors.upload_get(upload.pk, teachers=True) is not None
