"""合并重复学籍 for the county (shared_apps.bureau.merge_views): find the two records, show
them side by side, merge one into the other, list the merges and undo one.

Every function enters the one school named by its schema and returns frozen values only
(registry.merge.services does the work inside the school).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common.actor import Actor
from common.masking import mask_name
from tenants.context import school_context


@dataclass(frozen=True)
class MergeRow:
    """One field of the two records: its key (the radio's name), label and both values as
    a registrar reads them (masked unless revealed)."""

    key: str
    label: str
    survivor: str
    merged: str

    @property
    def differs(self) -> bool:
        return self.survivor != self.merged


@dataclass(frozen=True)
class MergeSide:
    student_uuid: uuid.UUID
    name: str  # masked unless revealed
    national_number: str
    class_name: str
    audit_state: str  # label
    family: tuple[str, ...]  # "成员1：关系 姓名" lines, masked unless revealed
    events: int
    carried: int  # marks and the other rows that follow the record (facade/move.py)


@dataclass(frozen=True)
class MergePair:
    survivor: MergeSide
    merged: MergeSide
    rows: tuple[MergeRow, ...]


@dataclass(frozen=True)
class MergeDoneView:
    merge_id: int
    moved: dict[str, int]
    set_aside: dict[str, int]


@dataclass(frozen=True)
class MergeView:
    """One merge as the county's list shows it (masked names)."""

    merge_id: int
    survivor_uuid: uuid.UUID
    merged_uuid: uuid.UUID
    survivor_name: str
    merged_number: str
    actor: str
    at: dt.datetime
    undone_at: dt.datetime | None
    undoable: bool


def merge_find(*, schema_name: str, key: str) -> uuid.UUID | None:
    """The record of that school whose 全国学籍号 or 身份证件号 is `key` (deleted and merged
    records are not offered)."""
    from django.db.models import Q

    from tenant_apps.registry.models import Student

    key = key.strip().upper()
    if not key:
        return None
    with school_context(schema_name):
        return (
            Student.objects.exclude(audit_state=Student.Audit.DELETED)
            .filter(Q(national_number=key) | Q(id_number=key))
            .order_by("pk")
            .values_list("identifier", flat=True)
            .first()
        )


def _show(key: str, value: object, *, reveal: bool) -> str:
    from tenant_apps.registry.fields import BY_KEY
    from tenant_apps.registry.students.forms import display_value

    if value in (None, ""):
        return ""
    if key == "name" and not reveal:
        return mask_name(str(value))
    col = BY_KEY.get(key)
    return display_value(col, value, reveal=reveal) if col is not None else str(value)


def _side(
    schema_name: str, identifier: uuid.UUID, *, reveal: bool
) -> tuple[MergeSide, dict[str, str]] | None:
    """One record as the page shows it, and its chosen fields' display values."""
    from tenant_apps.registry.facade.move import related_models, stays
    from tenant_apps.registry.merge.services import merge_fields
    from tenant_apps.registry.models import Student

    with school_context(schema_name):
        x = (
            Student.objects.select_related("school_class")
            .prefetch_related("family")
            .exclude(audit_state=Student.Audit.DELETED)
            .filter(identifier=identifier)
            .first()
        )
        if x is None:
            return None
        family = tuple(
            f"成员{f.slot}：{_show('m1_relation', getattr(f, 'relation', ''), reveal=True)} "
            f"{_show('name', getattr(f, 'name', ''), reveal=reveal)}"
            for f in x.family.all()
        )
        side = MergeSide(
            student_uuid=x.identifier,
            name=_show("name", x.name, reveal=reveal),
            national_number=x.national_number,
            class_name=x.school_class.name,
            audit_state=x.get_audit_state_display(),
            family=family,
            events=x.events.count(),
            carried=sum(
                model._default_manager.filter(**{fk: x.pk}).count()
                for model, fk in related_models()
                if not stays(model)
            ),
        )
        return side, {f.key: _show(f.key, getattr(x, f.key), reveal=reveal) for f in merge_fields()}


def merge_pair(
    *,
    schema_name: str,
    survivor_uuid: uuid.UUID,
    merged_uuid: uuid.UUID,
    reveal: bool,
    merged_schema: str = "",
) -> MergePair | None:
    """Both records side by side, every field the merge chooses; None when either is not
    a live record of its school (the merged one may be in `merged_schema`)."""
    from tenant_apps.registry.merge.services import merge_fields

    if survivor_uuid == merged_uuid:
        return None
    s = _side(schema_name, survivor_uuid, reveal=reveal)
    m = _side(merged_schema or schema_name, merged_uuid, reveal=reveal)
    if s is None or m is None:
        return None
    rows = tuple(MergeRow(f.key, f.label, s[1][f.key], m[1][f.key]) for f in merge_fields())
    return MergePair(s[0], m[0], rows)


def merge_in_school(
    *,
    schema_name: str,
    survivor_uuid: uuid.UUID,
    merged_uuid: uuid.UUID,
    choices: Mapping[str, str],
    family_from: str,
    actor: Actor,
    reason: str,
) -> MergeDoneView:
    """Merge two records of one school; the caller holds the transaction (and writes the
    bureau's audit entries in it)."""
    from tenant_apps.registry.merge.services import student_merge

    with school_context(schema_name):
        done = student_merge(
            survivor_uuid=survivor_uuid,
            merged_uuid=merged_uuid,
            choices=choices,
            family_from=family_from,
            actor=actor,
            reason=reason,
        )
    return MergeDoneView(done.merge_id, dict(done.moved), dict(done.set_aside))


def merge_across(
    *,
    survivor_school_id: int,
    merged_school_id: int,
    survivor_uuid: uuid.UUID,
    merged_uuid: uuid.UUID,
    choices: Mapping[str, str],
    family_from: str,
    actor: Actor,
    reason: str,
) -> MergeDoneView:
    """Merge a record of one school into the survivor of another: read the merged record
    in its school, write the survivor's half in the survivor's, leave the tombstone in the
    merged record's school; the caller holds the transaction. Photos copied into the
    survivor's storage are deleted again if anything fails (files_guard)."""
    from tenant_apps.registry.facade.files import files_guard
    from tenant_apps.registry.facade.move import _school, checkpoint
    from tenant_apps.registry.merge import across

    s_schema, s_name, _ = _school(survivor_school_id)
    m_schema, m_name, _ = _school(merged_school_id)
    if s_schema == m_schema:
        return merge_in_school(
            schema_name=s_schema,
            survivor_uuid=survivor_uuid,
            merged_uuid=merged_uuid,
            choices=choices,
            family_from=family_from,
            actor=actor,
            reason=reason,
        )
    with files_guard():
        with school_context(m_schema):
            export = across.merged_export(merged_uuid)
        with school_context(s_schema):
            done = across.survivor_absorb(
                survivor_uuid=survivor_uuid,
                export=export,
                choices=choices,
                family_from=family_from,
                actor=actor,
                reason=reason,
                from_school=m_name,
                from_school_id=merged_school_id,
                from_schema=m_schema,
            )
            from tenant_apps.registry.models import Student

            name, number = (
                Student.objects.filter(identifier=survivor_uuid)
                .values_list("name", "national_number")
                .get()
            )
            checkpoint("merge_after_survivor_write")
        with school_context(m_schema):
            event_id = across.merged_tombstone(
                merged_pk=export.pk,
                survivor_uuid=survivor_uuid,
                label=f"{s_name}的{name}（{number or '无学籍号'}）",
                actor=actor,
                reason=reason,
            )
            checkpoint("merge_after_tombstone")
        with school_context(s_schema):
            across.merge_note_remote_events(merge_id=done.merge_id, event_ids=[event_id])
    return MergeDoneView(done.merge_id, dict(done.moved), dict(done.set_aside))


def merge_undo(*, schema_name: str, merge_id: int, actor: Actor) -> MergeView:
    """Undo a merge whose survivor is in this school (the merged record may be in
    another: its school is in the merge's snapshot)."""
    from shared_apps.student_index.services import index_entries_restore
    from tenant_apps.registry.merge import across
    from tenant_apps.registry.merge.services import student_merge_undo
    from tenant_apps.registry.models import StudentMerge

    with school_context(schema_name):
        snap = StudentMerge.objects.filter(pk=merge_id).values_list("snapshot", flat=True).first()
        if snap is None or "across" not in snap:
            student_merge_undo(merge_id=merge_id, actor=actor)
            return _views(pk=merge_id)[0]
        undo = across.survivor_undo(merge_id=merge_id, actor=actor)
    with school_context(str(snap["across"]["schema"])):
        across.merged_restore(undo)
    index_entries_restore(
        student_uuids=[undo.survivor_uuid, undo.merged_uuid], rows=list(undo.index)
    )
    with school_context(schema_name):
        return _views(pk=merge_id)[0]


def _views(**filters: object) -> list[MergeView]:
    from tenant_apps.registry.models import Student, StudentMerge

    merges = list(StudentMerge.objects.filter(**filters)[:100])
    students: dict[Any, dict[str, Any]] = {
        s["identifier"]: dict(s)
        for s in Student.objects.filter(
            identifier__in=[x for m in merges for x in (m.survivor_uuid, m.merged_uuid)]
        ).values("identifier", "name", "national_number", "updated_at")
    }
    out = []
    for m in merges:
        survivor = students.get(m.survivor_uuid, {})
        merged = students.get(m.merged_uuid, {})
        out.append(
            MergeView(
                merge_id=m.pk,
                survivor_uuid=m.survivor_uuid,
                merged_uuid=m.merged_uuid,
                survivor_name=mask_name(str(survivor.get("name", ""))),
                # Across two schools the merged record is in the other one: its number
                # as the snapshot keeps it.
                merged_number=str(
                    merged.get("national_number")
                    or (m.snapshot.get("merged") or {}).get("national_number", "")
                ),
                actor=m.actor,
                at=m.at,
                undone_at=m.undone_at,
                undoable=m.undone_at is None
                and survivor.get("updated_at") == m.survivor_updated_at,
            )
        )
    return out


def merges_list(*, schema_name: str) -> list[MergeView]:
    """The school's latest merges, newest first."""
    with school_context(schema_name):
        return _views()
