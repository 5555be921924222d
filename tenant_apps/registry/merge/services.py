"""合并重复学籍 inside one school (issue 19 point 6): two records of the same child become
one, and the merge can be undone exactly until the survivor changes again.

One transaction: the survivor takes the chosen value field by field; the family set chosen
survives on it (the other set is kept on the tombstone, so nothing is lost); the merged
record's history entries are re-pointed to the survivor, so both histories show there; every
other row hanging off the merged record (marks, photos, whatever later apps add; found as
facade/move.py finds them) is moved to the survivor, except where a unique constraint
refuses it because the survivor already has that row (the same course and term, a current
photo): the survivor keeps its own and the other row is set aside in the snapshot. The
merged record stays as a read-only tombstone (DELETED, `merged_into` = the survivor); its
index entry is removed and the survivor's re-keyed with the chosen identity.

`StudentMerge.snapshot` holds every row as it was (all columns, the last-change times too)
and what moved, so undo writes exactly that back. Undo is refused once the survivor has
changed (its updated_at differs from the one the merge left).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.utils import timezone

from common.actor import Actor
from common.exceptions import ApplicationError
from shared_apps.student_index.services import (
    index_entries_dump,
    index_entries_restore,
    index_remove,
    index_upsert,
)
from tenant_apps.registry.facade.move import LOCAL_COLUMNS, checkpoint, related_models, stays
from tenant_apps.registry.merge.problems import (
    problem_state_after,
    problems_settle,
    problems_unsettle,
)
from tenant_apps.registry.models import FamilyMember, Student, StudentEvent, StudentMerge
from tenant_apps.registry.students.services import current_school, index_record

SURVIVOR = "survivor"
MERGED = "merged"
SIDES = (SURVIVOR, MERGED)

# Columns that are the record's own bookkeeping, not a value of the child to choose: the
# survivor keeps its identifier, states and national number (the tombstone keeps its own).
NOT_CHOSEN = LOCAL_COLUMNS | {
    "identifier",
    "audit_state",
    "national_number",
    "number_kind",
    "name_initials",  # follows 姓名
    "deleted_reason",
    "submitted_by",
    "merged_into",
}
# Family slots are moved out of the way by this much while two sets swap owners (the unique
# (student, slot) constraint holds after every statement).
SLOT_SHIFT = 100

MSG_SAME = "请选择两条不同的学籍记录。"
MSG_NOT_FOUND = "未找到要合并的学籍记录，可能已被删除或转走。"
MSG_GONE = "学籍“{name}”已删除或已合并，不能再合并。"
MSG_CHOICE_FIELD = "未知的字段：{key}。"
MSG_CHOICE_SIDE = "字段“{label}”请选择保留哪一条记录的值。"
MSG_FAMILY = "请选择保留哪一条记录的家庭成员。"
MSG_ID_BIRTH = "合并后的“身份证件号”与“出生日期”不一致，请选择同一条记录的身份证件号和出生日期。"
MSG_ID_SEX = "合并后的“身份证件号”与“性别”不一致，请选择同一条记录的身份证件号和性别。"
MSG_UNDO_NOT_FOUND = "未找到该合并记录。"
MSG_UNDO_DONE = "该合并已于{at}撤销，不能重复撤销。"
MSG_UNDO_ACROSS = "该合并涉及两所学校，请在教育局的合并页面撤销。"
MSG_UNDO_CHANGED = "合并之后保留的学籍“{name}”已有修改，不能再撤销合并。"


@dataclass(frozen=True)
class MergeField:
    key: str  # the Student attname
    label: str


@dataclass(frozen=True)
class MergeDone:
    merge_id: int
    survivor_uuid: uuid.UUID
    merged_uuid: uuid.UUID
    moved: dict[str, int]  # model label → rows moved to the survivor
    set_aside: dict[str, int]  # model label → rows the survivor already had (kept in snapshot)


def merge_fields() -> list[MergeField]:
    """The Student columns chosen field by field, in the model's order."""
    return [
        MergeField(f.attname, str(f.verbose_name))
        for f in Student._meta.concrete_fields
        if f.name not in NOT_CHOSEN and f.attname not in NOT_CHOSEN
    ]


# -- rows as JSON and back, without loss ------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()  # microseconds kept, unlike DjangoJSONEncoder
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(model: type[models.Model], **filters: Any) -> list[dict[str, Any]]:
    fields = [f.attname for f in model._meta.concrete_fields]
    qs = model._default_manager.filter(**filters).order_by("pk").values(*fields)
    return [{k: _plain(v) for k, v in row.items()} for row in qs]


def _python(model: type[models.Model], row: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for f in model._meta.concrete_fields:
        if f.attname in row:
            value = row[f.attname]
            out[f.attname] = value if isinstance(f, models.JSONField) else f.to_python(value)
    return out


def _insert_exact(model: type[models.Model], row: Mapping[str, Any]) -> None:
    """INSERT a row as it was, primary key and auto_now(_add) times included (save() and
    bulk_create would stamp new times)."""
    fields = list(model._meta.concrete_fields)
    values = _python(model, row)
    qn = connection.ops.quote_name
    columns = ", ".join(qn(str(f.column)) for f in fields)
    params = [f.get_db_prep_save(values.get(f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(model._meta.db_table)} ({columns}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})",
            params,
        )


def _restore_row(model: type[models.Model], row: Mapping[str, Any]) -> None:
    """UPDATE a row back to every value it had (QuerySet.update leaves auto_now alone)."""
    values = _python(model, row)
    pk = values.pop(model._meta.pk.attname)
    model._default_manager.filter(pk=pk).update(**values)


# -- what hangs off a student -------------------------------------------------------------


def _move_row(model: type[models.Model], pk: Any, fk: str, survivor_pk: int) -> bool:
    """Re-point one row to the survivor in its own savepoint; False when a unique
    constraint refuses it (the survivor has that row already: one mark per course and
    term, one current photo — conditional constraints included, which no Python check of
    Meta would evaluate the way PostgreSQL does)."""
    try:
        with transaction.atomic():
            model._default_manager.filter(pk=pk).update(**{fk: survivor_pk})
    except IntegrityError:
        return False
    return True


def _related_merge(survivor_pk: int, merged_pk: int) -> list[dict[str, Any]]:
    """Move every carried row of the merged record to the survivor; a row the survivor
    already has is deleted here and kept, whole, in the returned plan (the snapshot)."""
    plan = []
    for model, fk in related_models():
        if stays(model):
            continue  # the record's own audit artefacts stay with the tombstone
        theirs = _rows(model, **{fk: merged_pk})
        if not theirs:
            continue
        pk = model._meta.pk.attname
        moved: list[Any] = []
        aside: list[dict[str, Any]] = []
        for row in theirs:
            if _move_row(model, row[pk], fk, survivor_pk):
                moved.append(row[pk])
            else:
                aside.append(row)
        if aside:
            model._default_manager.filter(pk__in=[r[pk] for r in aside]).delete()
        plan.append({"label": model._meta.label_lower, "fk": fk, "moved": moved, "aside": aside})
    return plan


def _family_swap(a_pk: int, b_pk: int) -> None:
    """Exchange the family sets of two records, rows and ids kept."""
    FamilyMember.objects.filter(student_id=a_pk).update(slot=F("slot") + SLOT_SHIFT)
    FamilyMember.objects.filter(student_id=b_pk).update(student_id=a_pk)
    FamilyMember.objects.filter(student_id=a_pk, slot__gt=SLOT_SHIFT).update(
        student_id=b_pk, slot=F("slot") - SLOT_SHIFT
    )
    # The rows that came over from b still carry a's id now; the shifted ones went to b.


def _lock_pair(a: uuid.UUID, b: uuid.UUID) -> tuple[Student, Student]:
    found = {
        s.identifier: s
        for s in Student.objects.select_for_update()
        .select_related("school_class")
        .filter(identifier__in=[a, b])
        .order_by("pk")
    }
    if a not in found or b not in found:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    return found[a], found[b]


def note_of(student: Student) -> str:
    """How the history names the other record: its national number, never its ID."""
    return student.national_number or "无学籍号"


def _event(student_pk: int, actor: Actor, action: str, reason: str, changes: dict[str, Any]) -> int:
    return StudentEvent.objects.create(
        student_id=student_pk,
        actor=actor.label[:80],
        action=action,
        reason=reason[:300],
        changes=changes,
    ).pk


def choices_check(choices: Mapping[str, str], family_from: str) -> dict[str, MergeField]:
    """Refuse an unknown field or side; the fields by key."""
    fields = {f.key: f for f in merge_fields()}
    for key, side in choices.items():
        if key not in fields:
            raise ApplicationError(MSG_CHOICE_FIELD.format(key=key), code="invalid")
        if side not in SIDES:
            raise ApplicationError(
                MSG_CHOICE_SIDE.format(label=fields[key].label),
                code="invalid",
                extra={key: [MSG_CHOICE_SIDE.format(label=fields[key].label)]},
            )
    if family_from not in SIDES:
        raise ApplicationError(MSG_FAMILY, code="invalid", extra={"family_from": [MSG_FAMILY]})
    return fields


def identity_refuse(survivor: Student, taken: Mapping[str, Any]) -> None:
    """The survivor's resident ID number must still agree with its birth date and sex
    once the chosen values are combined (GB 11643 positions 7–14 and 17)."""

    def value(key: str) -> Any:
        return taken[key] if key in taken else getattr(survivor, key, None)

    number = str(value("id_number") or "")
    if str(value("id_type") or "1") != "1" or len(number) != 18 or not number[:17].isdigit():
        return
    birth = value("birth_date")
    if birth is not None and number[6:14] != f"{birth:%Y%m%d}":
        raise ApplicationError(MSG_ID_BIRTH, code="invalid", extra={"birth_date": [MSG_ID_BIRTH]})
    sex = "1" if int(number[16]) % 2 else "2"
    if str(value("sex") or "") not in ("", sex):
        raise ApplicationError(MSG_ID_SEX, code="invalid", extra={"sex": [MSG_ID_SEX]})


@transaction.atomic
def student_merge(
    *,
    survivor_uuid: uuid.UUID,
    merged_uuid: uuid.UUID,
    choices: Mapping[str, str],
    family_from: str,
    actor: Actor,
    reason: str = "",
) -> MergeDone:
    """Merge `merged_uuid` into `survivor_uuid` in the CURRENT school. `choices` maps a
    field of merge_fields() to "survivor" or "merged" (an omitted field keeps the
    survivor's value); `family_from` says whose family members survive."""
    if survivor_uuid == merged_uuid:
        raise ApplicationError(MSG_SAME, code="invalid")
    fields = choices_check(choices, family_from)
    survivor, merged = _lock_pair(survivor_uuid, merged_uuid)
    for s in (survivor, merged):
        if s.audit_state == Student.Audit.DELETED or s.merged_into is not None:
            raise ApplicationError(MSG_GONE.format(name=s.name), code="state")

    # Everything as it was, before any write.
    snapshot: dict[str, Any] = {
        SURVIVOR: _rows(Student, pk=survivor.pk)[0],
        MERGED: _rows(Student, pk=merged.pk)[0],
        "index": index_entries_dump(student_uuids=[survivor_uuid, merged_uuid]),
    }
    # 1. The survivor's values, field by field.
    taken = {k: getattr(merged, k) for k, side in choices.items() if side == MERGED}
    if "name" in taken:
        taken["name_initials"] = merged.name_initials
    identity_refuse(survivor, taken)
    changes = {
        fields[k].label if k in fields else k: [_plain(getattr(survivor, k)), _plain(v)]
        for k, v in taken.items()
        if getattr(survivor, k) != v and k in fields
    }
    # 2. The family set chosen survives on the survivor; the other stays on the tombstone.
    if family_from == MERGED:
        _family_swap(survivor.pk, merged.pk)
    # 3. Both histories on the survivor.
    event_ids = list(StudentEvent.objects.filter(student_id=merged.pk).values_list("pk", flat=True))
    StudentEvent.objects.filter(pk__in=event_ids).update(student_id=survivor.pk)
    # 4. Marks and every other carried row.
    related = _related_merge(survivor.pk, merged.pk)
    checkpoint("merge_after_rows")
    # 5. The tombstone; the problems the merge answers (merge/problems.py).
    now = timezone.now()
    tomb_reason = f"已合并至{survivor.name}（{survivor.national_number or '无学籍号'}）"
    settled = problems_settle(student_pk=merged.pk, reason=tomb_reason)
    settled += problems_settle(
        student_pk=survivor.pk, reason=f"重复记录已合并（{note_of(merged)}）", about=merged_uuid
    )
    taken |= problem_state_after(survivor)
    Student.objects.filter(pk=merged.pk).update(
        audit_state=Student.Audit.DELETED,
        merged_into=survivor_uuid,
        deleted_reason=tomb_reason[:200],
        updated_at=now,
    )
    Student.objects.filter(pk=survivor.pk).update(**taken, updated_at=now)
    note = reason.strip()
    merge_events = [
        _event(
            survivor.pk,
            actor,
            "合并学籍",
            note,
            {
                **changes,
                "merged_from": merged.national_number,
                "family_from": family_from,
            },
        ),
        _event(
            merged.pk,
            actor,
            "合并至",
            note,
            {"merged_into": survivor.national_number},
        ),
    ]
    snapshot.update(
        {
            "family_swapped": family_from == MERGED,
            "events": event_ids,
            "related": related,
            "merge_events": merge_events,
            "problems_settled": settled,
        }
    )
    # 6. The index: one entry, the survivor's, keyed by the chosen identity.
    index_remove(student_uuids=[merged_uuid])
    fresh = Student.objects.select_related("school_class").get(pk=survivor.pk)
    index_upsert(school_id=current_school().id, records=[index_record(fresh)])
    merge = StudentMerge.objects.create(
        survivor_uuid=survivor_uuid,
        merged_uuid=merged_uuid,
        choices={k: choices.get(k, SURVIVOR) for k in fields},
        family_from=family_from,
        snapshot=snapshot,
        survivor_updated_at=fresh.updated_at,
        actor=actor.label[:80],
    )
    checkpoint("merge_before_commit")
    return MergeDone(
        merge.pk,
        survivor_uuid,
        merged_uuid,
        {p["label"]: len(p["moved"]) for p in related} | {"registry.studentevent": len(event_ids)},
        {p["label"]: len(p["aside"]) for p in related if p["aside"]},
    )


@transaction.atomic
def student_merge_undo(*, merge_id: int, actor: Actor) -> StudentMerge:
    """Write back exactly what was there before the merge: both student rows, family,
    history, carried rows and index entries. Refused once the survivor has changed."""
    merge = StudentMerge.objects.select_for_update().filter(pk=merge_id).first()
    if merge is None:
        raise ApplicationError(MSG_UNDO_NOT_FOUND, code="not_found")
    if merge.undone_at is not None:
        at = timezone.localtime(merge.undone_at)
        raise ApplicationError(MSG_UNDO_DONE.format(at=f"{at:%Y-%m-%d %H:%M}"), code="state")
    survivor, merged = _lock_pair(merge.survivor_uuid, merge.merged_uuid)
    if survivor.updated_at != merge.survivor_updated_at:
        raise ApplicationError(MSG_UNDO_CHANGED.format(name=survivor.name), code="state")
    snap = merge.snapshot
    if "across" in snap:
        raise ApplicationError(MSG_UNDO_ACROSS, code="state")  # facade.merge undoes it
    StudentEvent.objects.filter(pk__in=snap["merge_events"]).delete()
    StudentEvent.objects.filter(pk__in=snap["events"]).update(student_id=merged.pk)
    from django.apps import apps

    for part in snap["related"]:
        model = apps.get_model(part["label"])
        model._default_manager.filter(pk__in=part["moved"]).update(**{part["fk"]: merged.pk})
        for row in part["aside"]:
            _insert_exact(model, row)
    if snap["family_swapped"]:
        _family_swap(survivor.pk, merged.pk)
    problems_unsettle(snap.get("problems_settled", []))
    _restore_row(Student, snap[SURVIVOR])
    _restore_row(Student, snap[MERGED])
    index_entries_restore(
        student_uuids=[merge.survivor_uuid, merge.merged_uuid], rows=snap["index"]
    )
    merge.undone_at = timezone.now()
    merge.undone_by = actor.label[:80]
    merge.save(update_fields=["undone_at", "undone_by"])
    checkpoint("merge_undo_before_commit")
    return merge
