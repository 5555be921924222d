"""合并重复学籍 in one school (issue 19 point 6): the survivor takes the chosen values, both
histories, the chosen family and the marks; the tombstone points to it; the index keeps one
entry and the live counts stay exact; undo restores every row exactly, and is refused once
the survivor has changed; an injected failure leaves nothing half-done."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from conftest import SchoolRef, World
from shared_apps.transfers.tests.helpers import Made, actor, make_student
from tenant_apps.registry.tests.factories import resident_id
from tenants.context import school_context

pytestmark = pytest.mark.django_db

BIRTH = dt.date(2018, 3, 1)


def _sync(school: SchoolRef) -> None:
    from shared_apps.backups.index_resync import _index_resync

    _index_resync(school_id=school.id, schema=school.schema)
    connection.set_schema_to_public()


def _counts_exact(school: SchoolRef) -> None:
    from shared_apps.student_index.live import school_cells
    from tenant_apps.registry.facade import live_cells

    truth = live_cells(schema_name=school.schema, school_id=school.id)
    connection.set_schema_to_public()
    assert school_cells(school_id=school.id) == truth


def _dump(school: SchoolRef, made: list[Made]) -> dict[str, Any]:
    """Every row of both records and what hangs off them, every column, plus their index
    entries (as test_rollover's _snapshot)."""
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.grades.models import Mark
    from tenant_apps.registry.models import FamilyMember, ProblemRecord, Student, StudentEvent

    uuids = [m.identifier for m in made]
    with school_context(school.schema):
        students = {s["id"]: s for s in Student.objects.filter(identifier__in=uuids).values()}
        ids = list(students)
        out: dict[str, Any] = {
            "students": students,
            "family": list(FamilyMember.objects.filter(student_id__in=ids).order_by("pk").values()),
            "events": list(StudentEvent.objects.filter(student_id__in=ids).order_by("pk").values()),
            "marks": list(Mark.objects.filter(student_id__in=ids).order_by("pk").values()),
            "problems": list(
                ProblemRecord.objects.filter(student_id__in=ids).order_by("pk").values()
            ),
        }
    connection.set_schema_to_public()
    out["index"] = list(IndexEntry.objects.filter(student_uuid__in=uuids).order_by("pk").values())
    return out


def _pair(school: SchoolRef) -> tuple[Made, Made]:
    survivor = make_student(
        school.schema, school.id, name="合并测试甲", id_number=resident_id(BIRTH, 11)
    )
    merged = make_student(
        school.schema,
        school.id,
        name="合并测试乙",
        id_number=resident_id(BIRTH, 13),
        own_course_code="M901",
    )
    connection.set_schema_to_public()
    return survivor, merged


@pytest.fixture
def a(world: World) -> SchoolRef:
    _sync(world.a)
    return world.a


def _merge(school: SchoolRef, survivor: Made, merged: Made, **over: Any) -> Any:
    from tenant_apps.registry.merge.services import student_merge

    kwargs: dict[str, Any] = {
        "survivor_uuid": survivor.identifier,
        "merged_uuid": merged.identifier,
        "choices": {"id_number": "merged", "name": "survivor"},
        "family_from": "merged",
        "actor": actor("county", school.schema),
        "reason": "同一学生重复建籍",
    } | over
    with school_context(school.schema):
        done = student_merge(**kwargs)
    connection.set_schema_to_public()
    return done


def test_merge_keeps_chosen_values_both_histories_marks_and_family(a: SchoolRef) -> None:
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.grades.models import Mark
    from tenant_apps.registry.models import FamilyMember, Student, StudentEvent, StudentMerge

    survivor, merged = _pair(a)
    _counts_exact(a)
    before = _dump(a, [survivor, merged])
    done = _merge(a, survivor, merged)
    assert done.moved["registry.studentevent"] == 2
    assert done.moved["grades.mark"] == 1  # the school course M901
    assert done.set_aside == {"grades.mark": 1}  # both had the national course's term mark

    with school_context(a.schema):
        s = Student.objects.get(identifier=survivor.identifier)
        t = Student.objects.get(identifier=merged.identifier)
        # Chosen field by field: the merged record's ID, the survivor's name.
        assert (s.name, s.id_number) == ("合并测试甲", merged.id_number)
        assert s.national_number == survivor.national_number
        assert s.audit_state == "registered"
        # The tombstone.
        assert t.audit_state == "deleted"
        assert t.merged_into == survivor.identifier
        assert t.deleted_reason == f"已合并至合并测试甲（{survivor.national_number}）"
        # Both histories on the survivor, plus the merge entry.
        actions = list(StudentEvent.objects.filter(student=s).values_list("action", flat=True))
        assert sorted(actions) == sorted(["新增", "教育局审核通过"] * 2 + ["合并学籍"])
        assert list(StudentEvent.objects.filter(student=t).values_list("action", flat=True)) == [
            "合并至"
        ]
        # The merged record's family members now belong to the survivor; its own stay
        # on the tombstone.
        assert list(FamilyMember.objects.filter(student=s).values_list("name", flat=True)) == [
            "家长乙"
        ]
        assert list(FamilyMember.objects.filter(student=t).values_list("name", flat=True)) == [
            "家长甲"
        ]
        # Marks: the survivor's own national mark, plus the school course mark moved over.
        marks = Mark.objects.filter(student=s).order_by("course__code")
        assert [m.course.code for m in marks][-1] == "M901"
        assert marks.count() == 2
        assert not Mark.objects.filter(student=t).exists()
        merge = StudentMerge.objects.get(pk=done.merge_id)
        assert merge.choices["id_number"] == "merged"
        assert merge.choices["name"] == "survivor"
    # One index entry, keyed by the chosen identity; counts exact.
    entries = IndexEntry.objects.filter(student_uuid__in=[survivor.identifier, merged.identifier])
    assert [e.student_uuid for e in entries] == [survivor.identifier]
    assert entries[0].id_hash == next(
        e["id_hash"] for e in before["index"] if e["student_uuid"] == merged.identifier
    )
    _counts_exact(a)


def test_undo_restores_exactly_what_was_there(a: SchoolRef) -> None:
    from tenant_apps.registry.merge.services import student_merge_undo
    from tenant_apps.registry.models import StudentMerge

    survivor, merged = _pair(a)
    before = _dump(a, [survivor, merged])
    done = _merge(a, survivor, merged)
    assert _dump(a, [survivor, merged]) != before
    with school_context(a.schema):
        student_merge_undo(merge_id=done.merge_id, actor=actor("county", a.schema))
        assert StudentMerge.objects.get(pk=done.merge_id).undone_at is not None
    connection.set_schema_to_public()
    assert _dump(a, [survivor, merged]) == before
    _counts_exact(a)


def _problem(schema: str, made: Made, kind: str, about: uuid.UUID) -> int:
    """An open 问题学籍 on `made` naming `about` as its other record (masked, as 查重 writes
    it), with the index flag it carries."""
    from shared_apps.student_index.services import index_set_state
    from tenant_apps.registry.models import ProblemRecord, Student

    with school_context(schema):
        pk = ProblemRecord.objects.create(
            student=Student.objects.get(identifier=made.identifier),
            kind=kind,
            others=[{"student_uuid": str(about), "name": "合*测", "school_name": "某校"}],
        ).pk
    connection.set_schema_to_public()
    index_set_state(student_uuids=[made.identifier], has_problem=True)
    return pk


def _problem_states(schema: str, pks: list[int]) -> list[tuple[str, str]]:
    from tenant_apps.registry.models import ProblemRecord

    with school_context(schema):
        rows = ProblemRecord.objects.filter(pk__in=pks).order_by("pk")
        out = [(p.state, p.resolution) for p in rows]
    connection.set_schema_to_public()
    return out


def test_the_merge_settles_the_problems_it_answers_and_undo_reopens_them(a: SchoolRef) -> None:
    """The tombstone's open problems and the survivor's duplicate problems about the
    merged record are resolved by the merge; a problem about a third record stays open;
    undo brings every row back exactly."""
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.merge.services import student_merge_undo

    survivor, merged = _pair(a)
    about_merged = _problem(a.schema, survivor, "suspected", merged.identifier)
    on_tombstone = _problem(a.schema, merged, "suspected", survivor.identifier)
    before = _dump(a, [survivor, merged])

    done = _merge(a, survivor, merged)
    assert _problem_states(a.schema, [about_merged, on_tombstone]) == [
        ("resolved", "合并"),
        ("resolved", "合并"),
    ]
    entry = IndexEntry.objects.get(student_uuid=survivor.identifier)
    assert entry.has_problem is False  # nothing left open on the survivor
    _counts_exact(a)

    with school_context(a.schema):
        student_merge_undo(merge_id=done.merge_id, actor=actor("county", a.schema))
    connection.set_schema_to_public()
    assert _dump(a, [survivor, merged]) == before


def test_a_problem_about_a_third_record_stays_open(a: SchoolRef) -> None:
    from shared_apps.student_index.models import IndexEntry

    survivor, merged = _pair(a)
    about_merged = _problem(a.schema, survivor, "duplicate", merged.identifier)
    about_third = _problem(a.schema, survivor, "suspected", uuid.uuid4())
    _merge(a, survivor, merged)
    assert _problem_states(a.schema, [about_merged, about_third]) == [
        ("resolved", "合并"),
        ("open", ""),
    ]
    assert IndexEntry.objects.get(student_uuid=survivor.identifier).has_problem is True


def test_undo_is_refused_once_the_survivor_changed(a: SchoolRef) -> None:
    from common.exceptions import ApplicationError
    from tenant_apps.registry.merge.services import student_merge_undo
    from tenant_apps.registry.models import Student

    survivor, merged = _pair(a)
    done = _merge(a, survivor, merged)
    with school_context(a.schema):
        s = Student.objects.get(identifier=survivor.identifier)
        s.phone = "13800000000"  # type: ignore[attr-defined]
        s.save()
        with pytest.raises(ApplicationError) as exc:
            student_merge_undo(merge_id=done.merge_id, actor=actor("county", a.schema))
        assert exc.value.message == "合并之后保留的学籍“合并测试甲”已有修改，不能再撤销合并。"
        # and a second undo of an undone merge is refused too
    connection.set_schema_to_public()


@pytest.mark.parametrize("point", ["merge_after_rows", "merge_before_commit"])
def test_an_injected_failure_leaves_nothing_half_done(a: SchoolRef, point: str) -> None:
    from tenant_apps.registry.facade.move import InjectedFailure
    from tenant_apps.registry.models import StudentMerge

    survivor, merged = _pair(a)
    before = _dump(a, [survivor, merged])
    with override_settings(TRANSFERS_FAIL_AT=point), pytest.raises(InjectedFailure):
        _merge(a, survivor, merged)
    connection.set_schema_to_public()
    assert _dump(a, [survivor, merged]) == before
    with school_context(a.schema):
        assert not StudentMerge.objects.filter(merged_uuid=merged.identifier).exists()
    connection.set_schema_to_public()
    _counts_exact(a)


def test_bad_choices_and_a_tombstone_are_refused(a: SchoolRef) -> None:
    from common.exceptions import ApplicationError

    survivor, merged = _pair(a)
    with pytest.raises(ApplicationError) as exc:
        _merge(a, survivor, merged, choices={"name": "both"})
    assert exc.value.message == "字段“姓名”请选择保留哪一条记录的值。"
    connection.set_schema_to_public()
    with pytest.raises(ApplicationError) as exc:
        _merge(a, survivor, survivor)
    assert exc.value.message == "请选择两条不同的学籍记录。"
    connection.set_schema_to_public()
    # A combination that contradicts the resident ID number is refused, naming the fields.
    from tenant_apps.registry.models import Student

    with school_context(a.schema):
        Student.objects.filter(identifier=merged.identifier).update(sex="2")
    connection.set_schema_to_public()
    with pytest.raises(ApplicationError) as exc:
        _merge(a, survivor, merged, choices={"sex": "merged"})
    assert exc.value.message == (
        "合并后的“身份证件号”与“性别”不一致，请选择同一条记录的身份证件号和性别。"
    )
    connection.set_schema_to_public()
    with school_context(a.schema):
        Student.objects.filter(identifier=merged.identifier).update(sex="1")
    connection.set_schema_to_public()
    _merge(a, survivor, merged)
    other = make_student(a.schema, a.id, name="合并测试丙", id_number=resident_id(BIRTH, 15))
    connection.set_schema_to_public()
    with pytest.raises(ApplicationError) as exc:
        _merge(a, other, merged)
    assert exc.value.message == "学籍“合并测试乙”已删除或已合并，不能再合并。"
    connection.set_schema_to_public()


def test_unknown_uuid_is_not_found(a: SchoolRef) -> None:
    from common.exceptions import ApplicationError

    survivor, _ = _pair(a)
    ghost = Made(uuid.uuid4(), "无", "", "")
    with pytest.raises(ApplicationError) as exc:
        _merge(a, survivor, ghost)
    assert exc.value.code == "not_found"
    connection.set_schema_to_public()


def test_the_tombstone_page_points_to_the_survivor_and_offers_no_edit(
    a: SchoolRef, world: World
) -> None:
    from conftest import login

    survivor, merged = _pair(a)
    _merge(a, survivor, merged)
    client = login(a.host, "registrar")
    html = client.get(f"/registry/students/{merged.identifier}/").content.decode()
    assert "已由教育局合并，只读" in html
    assert f'href="/registry/students/{survivor.identifier}/"' in html
    assert f"已合并至合并测试甲（{survivor.national_number}）" in html
    assert f"/registry/students/{merged.identifier}/edit/" not in html


# -- across two schools -----------------------------------------------------------------


def _across_pair(world: World) -> tuple[Made, Made]:
    survivor = make_student(
        world.a.schema, world.a.id, name="合并测试丁", id_number=resident_id(BIRTH, 31)
    )
    merged = make_student(
        world.b.schema,
        world.b.id,
        name="合并测试戊",
        id_number=resident_id(BIRTH, 33),
        own_course_code="M902",
    )
    connection.set_schema_to_public()
    return survivor, merged


def _merge_across(world: World, survivor: Made, merged: Made) -> Any:
    from tenant_apps.registry.facade import merge_across

    done = merge_across(
        survivor_school_id=world.a.id,
        merged_school_id=world.b.id,
        survivor_uuid=survivor.identifier,
        merged_uuid=merged.identifier,
        choices={"id_number": "merged"},
        family_from="merged",
        actor=actor("county", "public"),
        reason="两校重复建籍",
    )
    connection.set_schema_to_public()
    return done


def test_merge_across_two_schools_and_its_exact_undo(world: World) -> None:
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.grades.models import Mark
    from tenant_apps.registry.facade import merge_undo
    from tenant_apps.registry.models import FamilyMember, Student, StudentEvent

    _sync(world.a)
    _sync(world.b)
    survivor, merged = _across_pair(world)
    about_merged = _problem(world.a.schema, survivor, "suspected", merged.identifier)
    on_tombstone = _problem(world.b.schema, merged, "suspected", survivor.identifier)
    before = (_dump(world.a, [survivor]), _dump(world.b, [merged]))
    done = _merge_across(world, survivor, merged)
    # Each school's side settles what the merge answers there.
    assert _problem_states(world.a.schema, [about_merged]) == [("resolved", "合并")]
    assert _problem_states(world.b.schema, [on_tombstone]) == [("resolved", "合并")]
    assert done.set_aside == {"grades.mark": 1}  # both have the national course's mark

    with school_context(world.a.schema):
        s = Student.objects.get(identifier=survivor.identifier)
        assert (s.name, s.id_number) == ("合并测试丁", merged.id_number)
        copied = StudentEvent.objects.filter(student=s, changes__copied_from=world.b.name)
        assert copied.count() == 2
        assert StudentEvent.objects.filter(student=s, action="合并学籍").count() == 1
        assert list(FamilyMember.objects.filter(student=s).values_list("name", flat=True)) == [
            "家长戊"
        ]
        assert (
            sorted(Mark.objects.filter(student=s).values_list("course__code", flat=True))[-1]
            == "M902"
        )
        assert Mark.objects.filter(student=s).count() == 2
    with school_context(world.b.schema):
        t = Student.objects.get(identifier=merged.identifier)
        assert (t.audit_state, t.merged_into) == ("deleted", survivor.identifier)
        assert t.deleted_reason == (
            f"已合并至{world.a.name}的合并测试丁（{survivor.national_number}）"
        )
        # The merged record's school keeps its rows on the tombstone.
        assert Mark.objects.filter(student=t).count() == 2
    connection.set_schema_to_public()
    uuids = [survivor.identifier, merged.identifier]
    assert list(
        IndexEntry.objects.filter(student_uuid__in=uuids).values_list("student_uuid", "school_id")
    ) == [(survivor.identifier, world.a.id)]
    _counts_exact(world.a)
    _counts_exact(world.b)

    merge_undo(schema_name=world.a.schema, merge_id=done.merge_id, actor=actor("county", "public"))
    connection.set_schema_to_public()
    assert (_dump(world.a, [survivor]), _dump(world.b, [merged])) == before
    _counts_exact(world.a)
    _counts_exact(world.b)


@pytest.mark.parametrize("point", ["merge_after_survivor_write", "merge_after_tombstone"])
def test_an_injected_failure_across_schools_leaves_both_as_they_were(
    world: World, point: str
) -> None:
    from django.db import transaction

    from tenant_apps.registry.facade.move import InjectedFailure

    survivor, merged = _across_pair(world)
    before = (_dump(world.a, [survivor]), _dump(world.b, [merged]))
    with (
        override_settings(TRANSFERS_FAIL_AT=point),
        pytest.raises(InjectedFailure),
        transaction.atomic(),
    ):
        _merge_across(world, survivor, merged)
    connection.set_schema_to_public()
    assert (_dump(world.a, [survivor]), _dump(world.b, [merged])) == before


def _current_photo(schema: str, made: Made, key: str) -> None:
    from tenant_apps.registry.models import Student, StudentPhoto

    with school_context(schema):
        StudentPhoto.objects.create(
            student=Student.objects.get(identifier=made.identifier),
            status="current",
            source="upload",
            file_key=key,
            bytes=1,
            created_by="registrar",
        )
    connection.set_schema_to_public()


def test_both_current_photos_the_survivor_keeps_its_own_and_undo_brings_the_other_back(
    a: SchoolRef,
) -> None:
    from tenant_apps.registry.merge.services import student_merge_undo
    from tenant_apps.registry.models import StudentPhoto

    survivor, merged = _pair(a)
    _current_photo(a.schema, survivor, "photos/s.jpg")
    _current_photo(a.schema, merged, "photos/m.jpg")
    with school_context(a.schema):
        before = list(StudentPhoto.objects.order_by("pk").values())
    connection.set_schema_to_public()
    done = _merge(a, survivor, merged)
    assert done.set_aside == {"grades.mark": 1, "registry.studentphoto": 1}
    with school_context(a.schema):
        current = StudentPhoto.objects.filter(
            student__identifier=survivor.identifier, status="current"
        )
        assert list(current.values_list("file_key", flat=True)) == ["photos/s.jpg"]
        student_merge_undo(merge_id=done.merge_id, actor=actor("county", a.schema))
        assert list(StudentPhoto.objects.order_by("pk").values()) == before
    connection.set_schema_to_public()
