"""Staging a nutrition roster (issue 18 points 1, 2 and 6): its own layout read and mapped,
every seeded fault found with its exact count, classes matched or created, corrections,
全部转学籍系统 through the import's own 查重 into drafts and 问题学籍, a second upload
finding the rows already promoted, and a failed promotion leaving everything as before."""

from __future__ import annotations

import codecs
from collections import Counter
from collections.abc import Iterator

import pytest
from django.db import connection

from common.actor import Actor
from common.exceptions import ApplicationError
from conftest import World
from tenant_apps.registry.models import ImportBatch, ProblemRecord, SchoolClass, Student
from tenant_apps.rosters import services
from tenant_apps.rosters.models import RosterSource, RosterUpload, StagedRow
from tenant_apps.rosters.tests.roster_file import DEFAULTS, FAULTS, roster_xlsx
from tenants.context import school_context

pytestmark = pytest.mark.django_db
N = 60
START = 31000  # valid_row seqs no other test registers


@pytest.fixture
def school_a(world: World) -> Iterator[World]:
    with school_context(world.a.schema):
        yield world
    connection.set_schema_to_public()


def _actor(world: World) -> Actor:
    return Actor(username="registrar", name="学籍员", schema=world.a.schema)


def _kinds(upload: RosterUpload) -> Counter[str]:
    """Rows per error kind (a row counted once per kind)."""
    out: Counter[str] = Counter()
    for row in upload.rows.filter(state=StagedRow.State.INVALID):
        out.update({e["kind"] for e in row.errors})
    return out


def _staged(world: World) -> RosterUpload:
    upload = services.upload_stage(
        kind=RosterSource.Kind.NUTRITION,
        filename="营养改善计划名册.xlsx",
        data=roster_xlsx(N, START),
        actor=_actor(world),
    )
    services.mapping_save(
        upload_id=str(upload.pk),
        mapping=upload.counts["mapping"],
        defaults=DEFAULTS,
        actor=_actor(world),
    )
    upload.refresh_from_db()
    return upload


def test_the_layout_is_found_and_mapped_from_the_header_names(school_a: World) -> None:
    upload = services.upload_stage(
        kind=RosterSource.Kind.NUTRITION,
        filename="营养改善计划名册.xlsx",
        data=roster_xlsx(N, START),
        actor=_actor(school_a),
    )
    assert upload.header_row == 2  # under the title row
    mapping = dict(zip(upload.headers, upload.counts["mapping"], strict=True))
    assert mapping["学生姓名"] == "name"
    assert mapping["身份证号码"] == "id_number"
    assert mapping["出生年月日"] == "birth_date"
    assert mapping["年级"] == "roster_grade"
    assert mapping["班级"] == "roster_class"
    # The merged 家长信息 heading over 姓名 and 联系电话.
    assert mapping["家长信息姓名"] == "m1_name"
    assert mapping["家长信息联系电话"] == "m1_phone"
    assert mapping["联系电话"] == "phone"
    assert mapping["户籍所在地"] == "household_region"
    assert mapping["备注"] == ""
    notes = " ".join(upload.notes)
    assert "表头在第2行" in notes
    assert f"已略过{FAULTS['blank']}个空行" in notes
    assert "合并单元格" in notes
    # The mapping is the source's now: a column renamed by hand keeps its choice.
    source = RosterSource.objects.get(kind=RosterSource.Kind.NUTRITION)
    assert source.mapping["家长信息姓名"] == "m1_name"


def test_every_seeded_fault_is_reported_with_its_exact_count(school_a: World) -> None:
    upload = _staged(school_a)
    states = Counter(upload.rows.values_list("state", flat=True))
    assert states[StagedRow.State.REPEATED] == FAULTS["repeated"]
    kinds = _kinds(upload)
    assert kinds["id_number_as_number"] == FAULTS["id_as_number"]
    assert kinds["class_unmatched"] == FAULTS["class_missing"]
    assert kinds["required"] == FAULTS["sex_missing"]
    invalid = FAULTS["id_as_number"] + FAULTS["class_missing"] + FAULTS["sex_missing"]
    assert states[StagedRow.State.INVALID] == invalid
    assert states[StagedRow.State.READY] == N - invalid
    assert upload.counts["ready"] == N - invalid
    # Dates as Excel serials and as text are normalised, and the row says so.
    birth_changes = [
        n for row in upload.rows.all() for n in row.normalised if n["key"] == "birth_date"
    ]
    assert len(birth_changes) == FAULTS["date_serial"] + FAULTS["date_text"]
    assert all(len(n["after"]) == 8 and n["after"].isdigit() for n in birth_changes)
    # Lost digits are said, never guessed.
    lost = [
        e for row in upload.rows.all() for e in row.errors if e["kind"] == "id_number_as_number"
    ]
    assert all("文本" in e["message"] for e in lost)
    repeated = upload.rows.filter(state=StagedRow.State.REPEATED).first()
    assert repeated is not None
    assert "完全相同" in repeated.note


def test_classes_correction_promotion_duplicates_and_a_second_upload(school_a: World) -> None:
    actor = _actor(school_a)
    upload = _staged(school_a)
    # 三年级 2班 is no class of the school: the roster's class is created from it.
    match = upload.source.classes.get(class_text="2班")
    assert match.class_no == ""
    services.class_create_for(match_id=match.pk, actor=actor)
    match.refresh_from_db()
    assert match.class_no == "2024102"
    assert SchoolClass.objects.filter(class_no="2024102").exists()
    upload.refresh_from_db()
    assert _kinds(upload)["class_unmatched"] == 0
    # The registrar corrects a missing sex row by row.
    row = upload.rows.filter(state=StagedRow.State.INVALID, errors__0__kind="required").first()
    assert row is not None
    row = services.row_update(row_id=row.pk, values={"sex": "男"}, actor=actor)
    if row.state != StagedRow.State.READY:  # the pupil was a girl
        row = services.row_update(row_id=row.pk, values={"sex": "女"}, actor=actor)
    assert row.state == StagedRow.State.READY
    # One ready pupil is registered in school B already: 查重 refuses that row.
    upload.refresh_from_db()
    ready = list(upload.rows.filter(state=StagedRow.State.READY).order_by("row_no"))
    twin = ready[0]
    from tenant_apps.registry.students.services import student_register
    from tenant_apps.registry.tests.factories import valid_row

    seq = START + int(twin.raw[0]) - 1
    connection.set_schema_to_public()
    with school_context(school_a.b.schema):
        if not SchoolClass.objects.filter(class_no="2024101").exists():
            SchoolClass.objects.create(
                stage="primary", entry_year=2024, number=1, class_no="2024101"
            )
        student_register(
            raw=valid_row(seq=seq),
            actor=Actor(username="registrar", name="乙", schema=school_a.b.schema),
        )
    connection.set_schema_to_public()
    with school_context(school_a.a.schema):
        before = Student.objects.count()
        result = services.promote_all(upload_id=str(upload.pk), actor=actor)
        assert result.blocked == 1
        assert result.written == len(ready) - 1
        assert Student.objects.count() == before + result.written
        twin.refresh_from_db()
        assert twin.state == StagedRow.State.BLOCKED
        assert "测试乙小学" in twin.note
        # Written as the import writes: drafts, through an import batch of this school.
        batch = ImportBatch.objects.get(pk=result.batch_id)
        assert batch.state == ImportBatch.State.COMMITTED
        new = Student.objects.filter(name__in=[r.cells["name"] for r in ready[1:]])
        assert new.count() == result.written
        assert set(new.values_list("audit_state", flat=True)) <= {
            Student.Audit.DRAFT,
            Student.Audit.PROBLEM,
        }
        # Rows not ready stay staged with their reasons.
        left = upload.rows.filter(state=StagedRow.State.INVALID)
        assert left.count() == FAULTS["id_as_number"] + FAULTS["sex_missing"] - 1
        assert all(r.errors for r in left)
        # The ordinary path on from there: submit, school audit, county audit.
        from tenant_apps.registry.students.approval import (
            students_county_decide,
            students_school_decide,
            students_submit,
        )

        ids = list(new.filter(audit_state=Student.Audit.DRAFT).values_list("pk", flat=True))
        assert students_submit(student_ids=ids, actor=actor) == len(ids)
        assert set(Student.objects.filter(pk__in=ids).values_list("audit_state", flat=True)) == {
            Student.Audit.SCHOOL_PENDING
        }
        approver = Actor(username="approver", name="审核员", schema=school_a.a.schema)
        assert students_school_decide(
            student_ids=ids, approve=True, reason="", actor=approver
        ) == len(ids)
        bureau = Actor(username="liuyang", name="浏阳学籍", schema=school_a.a.schema)
        uuids = list(Student.objects.filter(pk__in=ids).values_list("identifier", flat=True))
        assert students_county_decide(
            student_uuids=uuids, approve=True, reason="", actor=bureau
        ) == len(ids)
        assert set(Student.objects.filter(pk__in=ids).values_list("audit_state", flat=True)) == {
            Student.Audit.REGISTERED
        }
        # The same roster uploaded again: every promoted pupil is found and said so.
        again = services.upload_stage(
            kind=RosterSource.Kind.NUTRITION,
            filename="营养改善计划名册（再次导出）.xlsx",
            data=roster_xlsx(N, START),
            actor=actor,
        )
        # The saved mapping and fixed values are reused: no mapping step this time.
        already = again.rows.filter(state=StagedRow.State.ALREADY)
        assert already.count() == result.written
        assert "已于" in already.first().note  # type: ignore[union-attr]
        assert again.counts["ready"] == 1  # the row 查重 refused is still refused by 查重 only


def test_a_suspected_twin_is_written_as_a_problem_record(school_a: World) -> None:
    actor = _actor(school_a)
    upload = _staged(school_a)
    ready = upload.rows.filter(state=StagedRow.State.READY).order_by("row_no").first()
    assert ready is not None
    # Same name, sex and birth date as the sentinel-free pupil of A, no ID number: 疑似.
    from tenant_apps.registry.tests.factories import valid_row

    seq = START + int(ready.raw[0]) - 1
    twin = valid_row(seq=seq)
    from tenant_apps.registry.students.services import student_register

    twin["id_type"] = "其他"
    twin["id_number"] = ""
    connection.set_schema_to_public()
    with school_context(school_a.c.schema):
        if not SchoolClass.objects.filter(class_no="2024101").exists():
            SchoolClass.objects.create(
                stage="primary", entry_year=2024, number=1, class_no="2024101"
            )
        student_register(
            raw=twin, actor=Actor(username="registrar", name="丙", schema=school_a.c.schema)
        )
    connection.set_schema_to_public()
    with school_context(school_a.a.schema):
        result = services.promote_all(upload_id=str(upload.pk), actor=actor)
        assert result.suspected == 1
        ready.refresh_from_db()
        assert ready.state == StagedRow.State.PROMOTED
        assert "问题学籍" in ready.note
        student = Student.objects.get(name=ready.cells["name"])
        assert student.audit_state == Student.Audit.PROBLEM
        assert ProblemRecord.objects.filter(student=student).exists()


def test_a_failed_promotion_leaves_staged_rows_and_registry_as_before(school_a: World) -> None:
    upload = _staged(school_a)
    staged = list(upload.rows.order_by("pk").values_list("pk", "state", "note"))
    students = Student.objects.count()
    batches = ImportBatch.objects.count()
    # A real failure after the students are written: the staged rows' update is refused
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
        services.promote_all(upload_id=str(upload.pk), actor=_actor(school_a))
    assert Student.objects.count() == students
    assert ImportBatch.objects.count() == batches
    assert list(upload.rows.order_by("pk").values_list("pk", "state", "note")) == staged


def test_a_gbk_csv_behind_a_bom_is_read(school_a: World) -> None:
    text = (
        "学生姓名,性别,身份证号,出生日期,年级,班级\r\n张三,男,4.30181E+17,2018/3/1,三年级,1班\r\n"
    )
    data = codecs.BOM_UTF8 + text.encode("gbk")
    upload = services.upload_stage(
        kind=RosterSource.Kind.NUTRITION, filename="名册.csv", data=data, actor=_actor(school_a)
    )
    assert upload.headers[:2] == ["学生姓名", "性别"]
    assert any("GBK" in n and "BOM" in n for n in upload.notes)
    row = upload.rows.get()
    kinds = {e["kind"] for e in row.errors}
    assert "id_number_as_number" in kinds  # 4.30181E+17 as text: digits lost, said so
    assert any(n["key"] == "birth_date" and n["after"] == "20180301" for n in row.normalised)


def test_bad_uploads_are_refused_as_the_import_refuses_them(school_a: World) -> None:
    with pytest.raises(ApplicationError) as exc:
        services.upload_stage(
            kind=RosterSource.Kind.NUTRITION,
            filename="名册.xlsx",
            data=b"<html><body>not a workbook</body></html>",
            actor=_actor(school_a),
        )
    assert exc.value.message
    with pytest.raises(ApplicationError, match="没有找到表头"):
        services.upload_stage(
            kind=RosterSource.Kind.NUTRITION,
            filename="名册.csv",
            data="甲,乙\r\n1,2\r\n".encode(),
            actor=_actor(school_a),
        )
