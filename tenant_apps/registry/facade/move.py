"""The move of a student record from one school's schema to another's (转学的档案迁移).

All schools share one PostgreSQL database, so the move is one transaction: read the
record and everything hanging off it in the sending schema into frozen dataclasses,
switch to the receiving schema and insert, switch back and mark the sending record
转学（转出）, then point the public index at the receiving school. Never both, never
neither. Model instances never cross a switch (architecture.md).

What moves with the student is found through the app registry, not a fixed list: every
model of a school app with a foreign key to Student is copied (family, history, marks,
whatever later apps add), except the sending school's own audit artefacts in `STAYS`.
A copied row's other foreign keys are carried by the related row's natural key (its
first unique field, e.g. Course.code); a related row the receiving school lacks is
copied too.

Files go with their rows: a model naming stored objects in `TRANSFER_FILES` (column
names, e.g. StudentPhoto's file_key and original_key) has each object copied into the
receiving school's storage at the same key inside its prefix, so the copied row stays
valid unchanged. Object storage is not part of the transaction: the copies are made
under registry.photos.services.files_guard, which deletes them when the move fails, and
the sending school keeps its own objects (its 转出 record keeps its rows, 籍随人走 copy).

Part of the registry's facade: the school-side halves (export, import, mark left) and
the move between two schools named by their schemas. Callers (the TRANSFER completion
in shared_apps.transfers, junior-middle intake's in registry.lifecycle.intake) run inside the
case's transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, models
from django.utils import timezone

from common.exceptions import ApplicationError
from tenants.context import school_context

# The sending school's own records about the student (audit artefacts, rollover items,
# paper records): they stay with it. Its history entries (StudentEvent) about them are
# copied, so the receiving school still sees what happened. A model can also opt out
# itself with a class attribute `TRANSFER_STAYS = True`.
STAYS = frozenset(
    {
        "registry.problemrecord",
        "registry.statuschange",
        "registry.rolloveritem",
        "registry.paperrecord",
    }
)
# Handled explicitly below.
EXPLICIT = frozenset({"registry.familymember", "registry.studentevent"})
# Student columns that belong to the school, not to the person.
LOCAL_COLUMNS = frozenset(
    {"id", "school_class", "number_in_class", "status", "created_at", "updated_at"}
)


class InjectedFailure(RuntimeError):
    """Raised at a named checkpoint when settings.TRANSFERS_FAIL_AT names it (tests)."""


def checkpoint(name: str) -> None:
    """A named point of the move. Tests set TRANSFERS_FAIL_AT to a name to prove that a
    failure there leaves both schools and the index as they were."""
    if getattr(settings, "TRANSFERS_FAIL_AT", "") == name:
        raise InjectedFailure(f"injected failure at {name}")


@dataclass(frozen=True)
class RelatedExport:
    """Rows of one model that hang off the student, as plain values."""

    label: str  # app_label.model_name
    rows: tuple[dict[str, Any], ...]
    # FK attname → (related model label, natural-key field, {old id: natural key value},
    #               {natural key value: row of the related object to create if missing})
    refs: tuple[tuple[str, str, str, dict[Any, Any], dict[Any, dict[str, Any]]], ...] = ()


@dataclass(frozen=True)
class StudentExport:
    identifier: uuid.UUID
    values: dict[str, Any]  # person columns of Student (attnames)
    status: str
    audit_state: str
    class_name: str
    stage: str
    entry_year: int
    family: tuple[dict[str, Any], ...]
    events: tuple[dict[str, Any], ...]
    related: tuple[RelatedExport, ...] = field(default=())


@dataclass(frozen=True)
class MoveResult:
    identifier: uuid.UUID
    new_student_id: int
    class_name: str
    copied: dict[str, int]  # model label → rows copied


def _concrete(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]


def _student_model() -> type[models.Model]:
    return apps.get_model("registry", "Student")


def related_models() -> list[tuple[type[models.Model], str]]:
    """(model, FK attname) of every school model pointing at Student, except the
    explicit ones; STAYS included (callers skip them) so a test can list them all."""
    student = _student_model()
    found = []
    for model in apps.get_models():
        if model._meta.app_config.name not in settings.TENANT_APPS:
            continue
        label = model._meta.label_lower
        if label in EXPLICIT:
            continue
        for f in model._meta.concrete_fields:
            if isinstance(f, models.ForeignKey) and f.related_model is student:
                found.append((model, f.attname))
    return found


def natural_key_field(model: type[models.Model]) -> str | None:
    """The first unique, non-primary-key column of a model: how a row is found again
    in another school (e.g. Course.code)."""
    for f in model._meta.concrete_fields:
        if f.unique and not f.primary_key:
            return f.attname
    return None


def carried_models() -> list[str]:
    """Labels of the models a move copies generically (for the page and the tests)."""
    return sorted(m._meta.label_lower for m, _ in related_models() if not stays(m))


def _values(instance_values: dict[str, Any], fields: list[models.Field]) -> dict[str, Any]:
    return {f.attname: instance_values[f.attname] for f in fields if f.attname in instance_values}


def stays(model: type[models.Model]) -> bool:
    return model._meta.label_lower in STAYS or bool(getattr(model, "TRANSFER_STAYS", False))


def _export_related(student_pk: int) -> tuple[RelatedExport, ...]:
    exports = []
    for model, fk in related_models():
        label = model._meta.label_lower
        if stays(model):
            continue
        fields = _concrete(model)
        rows = list(model.objects.filter(**{fk: student_pk}).values(*[f.attname for f in fields]))  # type: ignore[attr-defined]
        if not rows:
            continue
        refs = []
        for f in fields:
            if not isinstance(f, models.ForeignKey) or f.attname == fk:
                continue
            target = f.related_model
            key = natural_key_field(target)
            if key is None:
                if not f.null:
                    raise ApplicationError(
                        f"转学无法迁移“{model._meta.verbose_name}”：其关联的"
                        f"“{target._meta.verbose_name}”没有唯一标识。",
                        code="move",
                    )
                for r in rows:
                    r[f.attname] = None
                continue
            ids = {r[f.attname] for r in rows if r[f.attname] is not None}
            related_rows = list(
                target.objects.filter(pk__in=ids).values(  # type: ignore[attr-defined]
                    "pk", *[x.attname for x in _concrete(target)]
                )
            )
            by_id = {r["pk"]: r[key] for r in related_rows}
            create = {
                r[key]: {k: v for k, v in r.items() if k not in ("pk", target._meta.pk.attname)}
                for r in related_rows
            }
            refs.append((f.attname, target._meta.label_lower, key, by_id, create))
        exports.append(RelatedExport(label, tuple(rows), tuple(refs)))
    return tuple(exports)


def student_export(identifier: uuid.UUID, *, kind: str = "TRANSFER") -> tuple[int, StudentExport]:
    """Read the record in the CURRENT (sending) schema under a row lock; refuse a record
    that may not leave. Returns (local pk, export)."""
    student_model = _student_model()
    student = (
        student_model.objects.select_for_update()  # type: ignore[attr-defined]
        .select_related("school_class")
        .filter(identifier=identifier)
        .first()
    )
    if student is None:
        raise ApplicationError("转出学校中未找到该学生，可能已被删除或转走。", code="move")
    allowed = {"INTAKE": {"07"}}.get(kind, {"01"})
    if student.status not in allowed:
        raise ApplicationError(
            f"该学生当前学籍状态为“{student.get_status_display()}”，不能迁移。", code="move"
        )
    if student.audit_state != "registered":
        raise ApplicationError(
            f"该学生学籍尚未注册（当前：{student.get_audit_state_display()}），不能迁移。",
            code="move",
        )
    person = [f for f in _concrete(student_model) if f.name not in LOCAL_COLUMNS]
    values = {f.attname: getattr(student, f.attname) for f in person}
    family_model = apps.get_model("registry", "FamilyMember")
    event_model = apps.get_model("registry", "StudentEvent")
    family_fields = [f for f in _concrete(family_model) if f.attname != "student_id"]
    event_fields = [f for f in _concrete(event_model) if f.attname != "student_id"]
    family = tuple(
        family_model.objects.filter(student_id=student.pk).values(
            *[f.attname for f in family_fields]
        )
    )
    events = tuple(
        event_model.objects.filter(student_id=student.pk)
        .order_by("at", "id")
        .values(*[f.attname for f in event_fields])
    )
    klass = student.school_class
    return student.pk, StudentExport(
        identifier=student.identifier,
        values=values,
        status=student.status,
        audit_state=student.audit_state,
        class_name=klass.name,
        stage=klass.stage,
        entry_year=klass.entry_year,
        family=family,
        events=events,
        related=_export_related(student.pk),
    )


def _insert(model: type[models.Model], rows: list[dict[str, Any]]) -> list[int]:
    """INSERT rows as given (auto_now/auto_now_add values kept, unlike save()) into the
    current schema's table; returns the new primary keys."""
    if not rows:
        return []
    fields = _concrete(model)
    now = timezone.now()
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)  # type: ignore[arg-type]
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params: list[Any] = []
    for row in rows:
        for f in fields:
            if f.attname in row:
                value = row[f.attname]
            elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = now
            else:
                value = f.get_default()
            params.append(f.get_db_prep_save(value, connection))
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)  # type: ignore[arg-type]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(rows))} "
            f"RETURNING {pk}",
            params,
        )
        return [r[0] for r in cursor.fetchall()]


def _resolve_refs(export: RelatedExport) -> list[dict[str, Any]]:
    """Rows with their foreign keys (other than the student) mapped to the receiving
    school's ids, creating related rows it lacks (a school-developed course)."""
    rows = [dict(r) for r in export.rows]
    for attname, label, key, by_id, create in export.refs:
        target = apps.get_model(label)
        wanted = set(by_id.values())
        have = dict(target.objects.filter(**{f"{key}__in": wanted}).values_list(key, "pk"))
        missing = [create[v] for v in wanted if v not in have]
        if missing:
            new_ids = _insert(target, missing)
            have.update({row[key]: pk for row, pk in zip(missing, new_ids, strict=True)})
        for r in rows:
            if r[attname] is not None:
                r[attname] = have[by_id[r[attname]]]
    return rows


def student_import(
    export: StudentExport,
    *,
    target_class_id: int,
    from_school: str,
    actor_label: str,
    note: str,
    same_county: bool,
    action: str = "转入",
    status: str = "01",
    from_schema: str = "",
) -> MoveResult:
    """Write the record into the CURRENT (receiving) schema: a new local row with the
    same identifier, in the chosen class; family; the history as read-only copies marked
    with the school they come from; every carried related row."""
    student_model = _student_model()
    klass_model = apps.get_model("registry", "SchoolClass")
    klass = klass_model.objects.filter(pk=target_class_id).first()
    if klass is None:
        raise ApplicationError("转入班级不存在，请重新选择。", code="move")
    stale = student_model.objects.filter(identifier=export.identifier).first()  # type: ignore[attr-defined]
    if stale is not None:
        if stale.status == "01":
            raise ApplicationError("转入学校已有该学生的在读学籍，不能重复转入。", code="move")
        # A record this school transferred away earlier: the person comes back. The old
        # row keeps its history under a fresh identifier; the index never pointed at it.
        student_model.objects.filter(pk=stale.pk).update(identifier=uuid.uuid4())  # type: ignore[attr-defined]
    values = dict(export.values)
    if not same_county:
        values["aux_number"] = ""  # 学籍辅号 is numbered per county (§3.11)
    last = (
        student_model.objects.filter(school_class_id=klass.pk)  # type: ignore[attr-defined]
        .aggregate(m=models.Max("number_in_class"))
        .get("m")
    )
    values.update(
        school_class_id=klass.pk,
        number_in_class=(last or 0) + 1,
        status=status,
    )
    new_id = _insert(student_model, [values])[0]
    family_model = apps.get_model("registry", "FamilyMember")
    event_model = apps.get_model("registry", "StudentEvent")
    _insert(family_model, [{**m, "student_id": new_id} for m in export.family])
    copies = []
    for e in export.events:
        changes = dict(e.get("changes") or {})
        changes["copied_from"] = from_school
        copies.append(
            {
                **e,
                "student_id": new_id,
                "actor": f"{e.get('actor', '')}（{from_school}）"[:80],
                "changes": changes,
            }
        )
    now = timezone.now()
    copies.append(
        {
            "student_id": new_id,
            "at": now,
            "actor": actor_label[:80],
            "action": action,
            "from_state": "",
            "to_state": status,
            "reason": note[:300],
            "changes": {"from_school": from_school, "class": [export.class_name, klass.name]},
        }
    )
    _insert(event_model, copies)
    copied = {"registry.familymember": len(export.family), "registry.studentevent": len(copies) - 1}
    for related in export.related:
        model = apps.get_model(related.label)
        fk = next(a for m, a in related_models() if m is model)
        rows = [{**r, fk: new_id} for r in _resolve_refs(related)]
        _files_copy(model, rows, from_schema=from_schema)
        _insert(model, rows)
        copied[related.label] = len(rows)
    return MoveResult(export.identifier, new_id, klass.name, copied)


def _files_copy(model: type[models.Model], rows: list[dict[str, Any]], *, from_schema: str) -> None:
    """Copy the stored objects the rows name (TRANSFER_FILES) from the sending school's
    storage into the CURRENT (receiving) school's, at the same keys."""
    columns = tuple(getattr(model, "TRANSFER_FILES", ()))
    if not columns:
        return
    if not from_schema:
        raise ApplicationError("转出学校不明，无法迁移文件。", code="move")
    from tenant_apps.registry.photos.services import photo_files_copy

    keys = [str(r.get(c) or "") for r in rows for c in columns]
    photo_files_copy(keys=[k for k in keys if k], from_schema=from_schema)


def student_mark_left(
    student_pk: int, *, actor_label: str, to_school: str, note: str, action: str = "转出"
) -> None:
    """Mark the sending record 转学（转出） in the CURRENT (sending) schema, with history."""
    student_model = _student_model()
    event_model = apps.get_model("registry", "StudentEvent")
    before = student_model.objects.filter(pk=student_pk).values_list("status", flat=True).first()  # type: ignore[attr-defined]
    student_model.objects.filter(pk=student_pk).update(status="10", updated_at=timezone.now())  # type: ignore[attr-defined]
    event_model.objects.create(
        student_id=student_pk,
        actor=actor_label[:80],
        action=action,
        from_state=before or "",
        to_state="10",
        reason=note[:300],
        changes={"to_school": to_school, "status": [before, "10"]},
    )


@dataclass(frozen=True)
class MovePlan:
    identifier: uuid.UUID
    sending_schema: str
    sending_name: str
    sending_county: str
    receiving_id: int
    receiving_schema: str
    receiving_name: str
    receiving_county: str
    target_class_id: int
    actor_label: str
    note: str
    kind: str = "TRANSFER"


def _school(school_id: int) -> tuple[str, str, str]:
    from tenants.models import School

    row = (
        School.objects.filter(pk=school_id).values_list("schema_name", "name", "county_id").first()
    )
    if row is None:
        raise ApplicationError("未找到该学校。", code="move")
    return row[0], row[1], row[2] or ""


def plan_for(
    *,
    identifier: uuid.UUID,
    sending_id: int,
    receiving_id: int,
    target_class_id: int,
    actor_label: str,
    note: str,
    kind: str = "TRANSFER",
) -> MovePlan:
    s_schema, s_name, s_county = _school(sending_id)
    r_schema, r_name, r_county = _school(receiving_id)
    return MovePlan(
        identifier,
        s_schema,
        s_name,
        s_county,
        receiving_id,
        r_schema,
        r_name,
        r_county,
        target_class_id,
        actor_label,
        note,
        kind,
    )


def student_move(plan: MovePlan) -> MoveResult:
    """The move itself; call inside a transaction (the case decision's)."""
    if plan.sending_schema == plan.receiving_schema:
        raise ApplicationError("转出学校与转入学校不能相同。", code="move")
    from tenant_apps.registry.photos.services import files_guard

    # The photos copied into the receiving school are deleted again if anything below
    # fails (the rows roll back with the transaction; objects would not).
    with files_guard():
        return _move(plan)


def _move(plan: MovePlan) -> MoveResult:
    from shared_apps.student_index.services import index_set_state

    # Read in the sending school: the record and everything that moves with it, locked.
    with school_context(plan.sending_schema):
        student_pk, export = student_export(plan.identifier, kind=plan.kind)
    # Write in the receiving school from the frozen export only.
    with school_context(plan.receiving_schema):
        result = student_import(
            export,
            target_class_id=plan.target_class_id,
            from_school=plan.sending_name,
            actor_label=plan.actor_label,
            note=plan.note,
            same_county=plan.sending_county == plan.receiving_county,
            action="转入" if plan.kind == "TRANSFER" else "初中新生转入",
            from_schema=plan.sending_schema,
        )
        klass_model = apps.get_model("registry", "SchoolClass")
        stage, entry_year = (
            klass_model.objects.filter(pk=plan.target_class_id)
            .values_list("stage", "entry_year")
            .get()
        )
        checkpoint("after_receiving_write")
    # Back in the sending school: it keeps a 转出 record (籍随人走, the copy stays).
    with school_context(plan.sending_schema):
        if plan.kind == "TRANSFER":
            student_mark_left(
                student_pk,
                actor_label=plan.actor_label,
                to_school=plan.receiving_name,
                note=plan.note,
            )
        else:
            event_model = apps.get_model("registry", "StudentEvent")
            event_model.objects.create(
                student_id=student_pk,
                actor=plan.actor_label[:80],
                action="档案迁出",
                reason=plan.note[:300],
                changes={"to_school": plan.receiving_name},
            )
        checkpoint("after_source_write")
    # The public index now points at the receiving school.
    index_set_state(
        student_uuids=[plan.identifier],
        school_id=plan.receiving_id,
        status="01",
        stage=stage,
        entry_year=entry_year,
        updated_at=timezone.now(),
    )
    checkpoint("before_commit")
    return result


def today() -> dt.date:
    return timezone.localdate()
