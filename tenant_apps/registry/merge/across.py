"""合并重复学籍 across two schools: the school-side halves; registry.facade.merge runs
them in one transaction, switching schemas, with frozen values only in between.

The merged record's school keeps everything it had (籍随人走, as a transfer's sending
school does): its record becomes the tombstone, its rows stay on it. The survivor's
school receives copies — the history entries marked with the school they come from, the
marks and the other carried rows (related rows by natural key, as facade/move.py copies
them; a row a unique constraint refuses, because the survivor has it already, is not
copied), and the merged
record's family members when they are the ones chosen (the survivor's own are kept in the
snapshot). Undo deletes the copies and writes back the survivor's and the tombstone's
rows, the family and both index entries exactly.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.actor import Actor
from common.exceptions import ApplicationError
from shared_apps.student_index.services import index_entries_dump, index_remove, index_upsert
from tenant_apps.registry.facade.move import (
    RelatedExport,
    _export_related,
    _files_copy,
    _insert,
    _resolve_refs,
    related_models,
)
from tenant_apps.registry.merge.problems import (
    problem_state_after,
    problems_settle,
    problems_unsettle,
)
from tenant_apps.registry.merge.services import (
    MERGED,
    MSG_GONE,
    MSG_NOT_FOUND,
    MSG_UNDO_CHANGED,
    MSG_UNDO_DONE,
    MSG_UNDO_NOT_FOUND,
    SURVIVOR,
    MergeDone,
    _insert_exact,
    _plain,
    _restore_row,
    _rows,
    choices_check,
    identity_refuse,
)
from tenant_apps.registry.models import FamilyMember, Student, StudentEvent, StudentMerge
from tenant_apps.registry.students.services import current_school, index_record


@dataclass(frozen=True)
class MergedExport:
    """The merged record as read in its own school, plain values only."""

    identifier: uuid.UUID
    pk: int
    name: str
    national_number: str
    row: dict[str, Any]  # the whole Student row, JSON-safe (the snapshot)
    values: dict[str, Any]  # attname → value, for the fields the survivor may take
    family: tuple[dict[str, Any], ...]  # without id and student
    events: tuple[dict[str, Any], ...]  # without id and student
    related: tuple[RelatedExport, ...]


@dataclass(frozen=True)
class SurvivorUndo:
    """What the merged record's school must write back, read from the survivor's merge."""

    merged_uuid: uuid.UUID
    survivor_uuid: uuid.UUID
    merged_row: dict[str, Any]
    merged_events: tuple[int, ...]
    index: tuple[dict[str, Any], ...]


def merged_export(identifier: uuid.UUID) -> MergedExport:
    """Read and lock the merged record in the CURRENT (its own) school."""
    student = Student.objects.select_for_update().filter(identifier=identifier).first()
    if student is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if student.audit_state == Student.Audit.DELETED or student.merged_into is not None:
        raise ApplicationError(MSG_GONE.format(name=student.name), code="state")
    from tenant_apps.registry.merge.services import merge_fields

    drop = {"id", "student_id"}
    family = tuple(
        {k: v for k, v in r.items() if k not in drop}
        for r in FamilyMember.objects.filter(student_id=student.pk)
        .order_by("slot")
        .values(*[f.attname for f in FamilyMember._meta.concrete_fields])
    )
    events = tuple(
        {k: v for k, v in r.items() if k not in drop}
        for r in StudentEvent.objects.filter(student_id=student.pk)
        .order_by("at", "id")
        .values(*[f.attname for f in StudentEvent._meta.concrete_fields])
    )
    return MergedExport(
        identifier=student.identifier,
        pk=student.pk,
        name=student.name,
        national_number=student.national_number,
        row=_rows(Student, pk=student.pk)[0],
        values={f.key: getattr(student, f.key) for f in merge_fields()}
        | {"name_initials": student.name_initials},
        family=family,
        events=events,
        related=_export_related(student.pk),
    )


def survivor_absorb(
    *,
    survivor_uuid: uuid.UUID,
    export: MergedExport,
    choices: Mapping[str, str],
    family_from: str,
    actor: Actor,
    reason: str,
    from_school: str,
    from_school_id: int,
    from_schema: str,
) -> MergeDone:
    """The survivor's half, in the CURRENT (survivor's) school: values, family, copies of
    the history and carried rows, the index, and the StudentMerge with its snapshot."""
    fields = choices_check(choices, family_from)
    survivor = (
        Student.objects.select_for_update()
        .select_related("school_class")
        .filter(identifier=survivor_uuid)
        .first()
    )
    if survivor is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if survivor.audit_state == Student.Audit.DELETED or survivor.merged_into is not None:
        raise ApplicationError(MSG_GONE.format(name=survivor.name), code="state")
    snapshot: dict[str, Any] = {
        SURVIVOR: _rows(Student, pk=survivor.pk)[0],
        MERGED: export.row,
        "index": index_entries_dump(student_uuids=[survivor_uuid, export.identifier]),
        "across": {"school_id": from_school_id, "schema": from_schema, "school": from_school},
    }
    taken = {k: export.values[k] for k, side in choices.items() if side == MERGED}
    if "name" in taken:
        taken["name_initials"] = export.values["name_initials"]
    identity_refuse(survivor, taken)
    changes = {
        fields[k].label: [_plain(getattr(survivor, k)), _plain(v)]
        for k, v in taken.items()
        if k in fields and getattr(survivor, k) != v
    }
    family_deleted: list[dict[str, Any]] = []
    family_added: list[int] = []
    if family_from == MERGED:
        family_deleted = _rows(FamilyMember, student_id=survivor.pk)
        FamilyMember.objects.filter(student_id=survivor.pk).delete()
        family_added = _insert(
            FamilyMember, [{**m, "student_id": survivor.pk} for m in export.family]
        )
    copies = [
        {
            **e,
            "student_id": survivor.pk,
            "actor": f"{e.get('actor', '')}（{from_school}）"[:80],
            "changes": dict(e.get("changes") or {}) | {"copied_from": from_school},
        }
        for e in export.events
    ]
    event_ids = _insert(StudentEvent, copies)
    related: list[dict[str, Any]] = []
    fks = {m._meta.label_lower: a for m, a in related_models()}
    for part in export.related:
        model = apps.get_model(part.label)
        fk = fks[part.label]
        rows: list[dict[str, Any]] = []
        skipped = 0
        ids: list[int] = []
        for r in _resolve_refs(part):
            row = {**r, fk: survivor.pk}
            try:
                with transaction.atomic():  # a unique constraint may refuse this one row
                    ids += _insert(model, [row])
            except IntegrityError:
                skipped += 1  # the survivor's own row stays; the other stays in its school
                continue
            rows.append(row)
        _files_copy(model, rows, from_schema=from_schema)
        related.append({"label": part.label, "ids": ids, "skipped": skipped})
    settled = problems_settle(
        student_pk=survivor.pk,
        reason=f"重复记录已合并（{from_school}，{export.national_number or '无学籍号'}）",
        about=export.identifier,
    )
    taken |= problem_state_after(survivor)
    now = timezone.now()
    Student.objects.filter(pk=survivor.pk).update(**taken, updated_at=now)
    merge_event = StudentEvent.objects.create(
        student_id=survivor.pk,
        actor=actor.label[:80],
        action="合并学籍",
        reason=reason.strip()[:300],
        changes={
            **changes,
            "merged_from": export.national_number,
            "from_school": from_school,
            "family_from": family_from,
        },
    ).pk
    snapshot.update(
        {
            "family_deleted": family_deleted,
            "family_added": family_added,
            "events": event_ids,
            "related": related,
            "merge_events": [merge_event],
            "merged_events": [],
            "problems_settled": settled,
        }
    )
    index_remove(student_uuids=[export.identifier])
    fresh = Student.objects.select_related("school_class").get(pk=survivor.pk)
    index_upsert(school_id=current_school().id, records=[index_record(fresh)])
    merge = StudentMerge.objects.create(
        survivor_uuid=survivor_uuid,
        merged_uuid=export.identifier,
        choices={k: choices.get(k, SURVIVOR) for k in fields},
        family_from=family_from,
        snapshot=snapshot,
        survivor_updated_at=fresh.updated_at,
        actor=actor.label[:80],
    )
    return MergeDone(
        merge.pk,
        survivor_uuid,
        export.identifier,
        {p["label"]: len(p["ids"]) for p in related} | {"registry.studentevent": len(event_ids)},
        {p["label"]: p["skipped"] for p in related if p["skipped"]},
    )


def merged_tombstone(
    *, merged_pk: int, survivor_uuid: uuid.UUID, label: str, actor: Actor, reason: str
) -> int:
    """The merged record's half, in the CURRENT (its own) school: the tombstone and its
    history entry; returns the entry's id (for the undo, which finds the settled
    problems in that entry: this school keeps no StudentMerge)."""
    settled = problems_settle(student_pk=merged_pk, reason=f"已合并至{label}")
    Student.objects.filter(pk=merged_pk).update(
        audit_state=Student.Audit.DELETED,
        merged_into=survivor_uuid,
        deleted_reason=f"已合并至{label}"[:200],
        updated_at=timezone.now(),
    )
    return StudentEvent.objects.create(
        student_id=merged_pk,
        actor=actor.label[:80],
        action="合并至",
        reason=reason.strip()[:300],
        changes={"merged_into": label, "problems_settled": settled},
    ).pk


def merge_note_remote_events(*, merge_id: int, event_ids: list[int]) -> None:
    """Record, in the survivor's school, the tombstone's history entries (for the undo)."""
    merge = StudentMerge.objects.select_for_update().get(pk=merge_id)
    merge.snapshot = {**merge.snapshot, "merged_events": event_ids}
    merge.save(update_fields=["snapshot"])


@transaction.atomic
def survivor_undo(*, merge_id: int, actor: Actor) -> SurvivorUndo:
    """The survivor's half of the undo, in the CURRENT (survivor's) school."""
    merge = StudentMerge.objects.select_for_update().filter(pk=merge_id).first()
    if merge is None or "across" not in merge.snapshot:
        raise ApplicationError(MSG_UNDO_NOT_FOUND, code="not_found")
    if merge.undone_at is not None:
        at = timezone.localtime(merge.undone_at)
        raise ApplicationError(MSG_UNDO_DONE.format(at=f"{at:%Y-%m-%d %H:%M}"), code="state")
    survivor = Student.objects.select_for_update().filter(identifier=merge.survivor_uuid).first()
    if survivor is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if survivor.updated_at != merge.survivor_updated_at:
        raise ApplicationError(MSG_UNDO_CHANGED.format(name=survivor.name), code="state")
    snap = merge.snapshot
    StudentEvent.objects.filter(pk__in=snap["merge_events"] + snap["events"]).delete()
    for part in snap["related"]:
        apps.get_model(part["label"])._default_manager.filter(pk__in=part["ids"]).delete()
    problems_unsettle(snap.get("problems_settled", []))
    FamilyMember.objects.filter(pk__in=snap["family_added"]).delete()
    for row in snap["family_deleted"]:
        _insert_exact(FamilyMember, row)
    _restore_row(Student, snap[SURVIVOR])
    merge.undone_at = timezone.now()
    merge.undone_by = actor.label[:80]
    merge.save(update_fields=["undone_at", "undone_by"])
    return SurvivorUndo(
        merge.merged_uuid,
        merge.survivor_uuid,
        dict(snap[MERGED]),
        tuple(snap["merged_events"]),
        tuple(snap["index"]),
    )


def merged_restore(undo: SurvivorUndo) -> None:
    """The merged record's half of the undo, in the CURRENT (its own) school."""
    events = StudentEvent.objects.filter(pk__in=list(undo.merged_events))
    for changes in events.values_list("changes", flat=True):
        problems_unsettle((changes or {}).get("problems_settled", []))
    events.delete()
    _restore_row(Student, undo.merged_row)
