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


def merge_pair(
    *, schema_name: str, survivor_uuid: uuid.UUID, merged_uuid: uuid.UUID, reveal: bool
) -> MergePair | None:
    """Both records side by side, every field the merge chooses; None when either is not
    a live record of that school."""
    from tenant_apps.registry.facade.move import related_models, stays
    from tenant_apps.registry.merge.services import merge_fields
    from tenant_apps.registry.models import Student

    if survivor_uuid == merged_uuid:
        return None
    with school_context(schema_name):
        found = {
            s.identifier: s
            for s in Student.objects.select_related("school_class")
            .prefetch_related("family")
            .exclude(audit_state=Student.Audit.DELETED)
            .filter(identifier__in=[survivor_uuid, merged_uuid])
        }
        if len(found) != 2:
            return None
        s, m = found[survivor_uuid], found[merged_uuid]

        def side(x: Student) -> MergeSide:
            family = tuple(
                f"成员{f.slot}：{_show('m1_relation', getattr(f, 'relation', ''), reveal=True)} "
                f"{_show('name', getattr(f, 'name', ''), reveal=reveal)}"
                for f in x.family.all()
            )
            return MergeSide(
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

        rows = tuple(
            MergeRow(
                f.key,
                f.label,
                _show(f.key, getattr(s, f.key), reveal=reveal),
                _show(f.key, getattr(m, f.key), reveal=reveal),
            )
            for f in merge_fields()
        )
        return MergePair(side(s), side(m), rows)


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


def merge_undo(*, schema_name: str, merge_id: int, actor: Actor) -> MergeView:
    from tenant_apps.registry.merge.services import student_merge_undo

    with school_context(schema_name):
        student_merge_undo(merge_id=merge_id, actor=actor)
        return _views(pk=merge_id)[0]


def _views(**filters: object) -> list[MergeView]:
    from tenant_apps.registry.models import Student, StudentMerge

    merges = list(StudentMerge.objects.filter(**filters)[:100])
    students = {
        s["identifier"]: s
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
                merged_number=str(merged.get("national_number", "")),
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
