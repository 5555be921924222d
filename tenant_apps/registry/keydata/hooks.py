"""The case engine's hooks for 关键数据变更 (registered in RegistryConfig.ready): maker ≠
checker at the school step, the completion that applies the change, the closing of a
returned or withdrawn application, and the lines the bureau's case page shows. Each reads
the public case first, then works inside the school (no model instance crosses)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.html import format_html

from common.actor import Actor
from common.exceptions import ApplicationError
from tenant_apps.registry.changes.hooks import _CaseFacts, _facts
from tenant_apps.registry.changes.services import MSG_MAKER_CHECKER
from tenant_apps.registry.facade.move import checkpoint
from tenant_apps.registry.fields import BY_KEY
from tenant_apps.registry.keydata.services import (
    KIND,
    MSG_DUPLICATE,
    _text,
    field_labels,
    key_fields,
    key_values,
    shown,
)
from tenant_apps.registry.models import KeyDataChange, Student
from tenant_apps.registry.students.services import (
    _check_duplicates,
    current_school,
    event_add,
    formal_number,
    index_record,
    keys_of,
    record_date,
    student_snapshot,
)

if TYPE_CHECKING:
    from shared_apps.transfers.models import Case
    from shared_apps.transfers.services import CaseActor

MSG_GONE = "未找到该关键数据变更。"
MSG_STALE = "该学生的{fields}在申请后已被修改，申请的原值已不是现值：请退回后重新申请。"


def _ours(case: Case) -> bool:
    return "keydata_id" in (case.payload or {})


def keydata_decision(case: Case, actor: CaseActor, approve: bool, note: str) -> None:
    """The applicant never decides the school step; the school's approval enters the
    student's history (the county's is the completion's)."""
    from accounts.models import User
    from tenants.context import school_context

    step = case.chain[case.step] if 0 <= case.step < len(case.chain) else {}
    if not _ours(case) or step.get("owner") != "school":
        return
    if actor.label == case.created_by:
        raise ApplicationError(
            MSG_MAKER_CHECKER.replace("学籍异动", "关键数据变更"), code="maker_checker"
        )
    if not approve:
        return
    facts = _facts(case)
    with school_context(facts.schema):
        name = (
            User.objects.filter(username=actor.username).values_list("full_name", flat=True).first()
        )
        change = KeyDataChange.objects.filter(case_id=case.pk).first()
        if change is None:
            raise ApplicationError(MSG_GONE, code="not_found")
        event_add(
            [change.student_id],
            actor=Actor(username=actor.username, name=name or actor.username, schema=facts.schema),
            action=f"关键数据变更学校审核通过：{field_labels(change.values)}",
            reason=note[:300],
        )


def keydata_complete(case: Case) -> None:
    """The last approval: the change takes effect inside the engine's transaction; an
    error here (a new duplicate, a value changed meanwhile) rolls the approval back."""
    from tenants.context import school_context

    if not _ours(case):
        return
    facts = _facts(case)
    with school_context(facts.schema):
        _complete(facts)


def _complete(facts: _CaseFacts) -> None:
    from shared_apps.student_index.services import index_upsert
    from tenant_apps.registry.students.forms import student_raw

    change = KeyDataChange.objects.select_for_update().filter(case_id=facts.case_id).first()
    if change is None:
        raise ApplicationError(MSG_GONE, code="not_found")
    if change.state != KeyDataChange.State.OPEN:
        return
    student = (
        Student.objects.select_for_update().select_related("school_class").get(pk=change.student_id)
    )
    before = student_snapshot(student)
    stale = [k for k, (old, _new) in change.values.items() if _text(before.get(k)) != old]
    if stale:
        raise ApplicationError(MSG_STALE.format(fields=field_labels(stale)), code="state")
    # Back into the form's text (dates as YYYYMMDD), for the same row validation.
    raw = student_raw(student, before) | {
        k: new.replace("-", "") if k in BY_KEY and BY_KEY[k].kind == "date8" else new
        for k, (_old, new) in change.values.items()
    }
    fields = [k for k in key_fields() if k in change.values]
    data = key_values(raw, tuple(fields), on=record_date(student))
    # The index may have changed since the application: the new ID number must still be
    # nobody else's, here or in another school.
    _check_duplicates(keys_of(data), exclude=student.identifier, message=MSG_DUPLICATE)
    for key in fields:
        setattr(student, key, data.get(key) if data.get(key) is not None else "")
    if "name" in fields:
        from shared_apps.student_index.keys import name_initials

        student.name_initials = name_initials(student.name)
    school = current_school()
    N = Student.NumberKind
    resident = getattr(student, "id_type", "") == "1" and len(student.id_number) == 18
    if "id_number" in fields and (
        student.number_kind == N.FORMAL_ID or (student.number_kind == N.FORMAL_NO_ID and resident)
    ):
        # A G number is G + the ID number: it follows the corrected ID, and a J number
        # becomes a G one once there is an ID. An L number (the school's area and the
        # birth date) stays what it was issued as.
        student.number_kind, student.national_number = formal_number(student, school.area)
    student.save()
    checkpoint("keydata_after_record")
    after = student_snapshot(student)
    event_add(
        [student.pk],
        actor=facts.actor,
        action=f"关键数据变更生效（{change.case_number}）：{field_labels(change.values)}",
        reason=change.reason[:300],
        changes={k: [before.get(k), v] for k, v in after.items() if before.get(k) != v},
    )
    index_upsert(school_id=school.id, records=[index_record(student, keys_of(data))])
    change.state = KeyDataChange.State.DONE
    change.closed_at = timezone.now()
    change.closed_by = facts.actor.label
    change.close_reason = facts.note[:300]
    change.save(update_fields=["state", "closed_at", "closed_by", "close_reason"])
    checkpoint("keydata_before_commit")


def keydata_closed(case: Case) -> None:
    """A return or withdrawal ends the application; the record stays as it was."""
    from tenants.context import school_context

    if not _ours(case):
        return
    facts = _facts(case)
    withdrawn = case.state == "withdrawn"
    state = KeyDataChange.State.WITHDRAWN if withdrawn else KeyDataChange.State.REJECTED
    with school_context(facts.schema):
        change = KeyDataChange.objects.select_for_update().filter(case_id=facts.case_id).first()
        if change is None or change.state != KeyDataChange.State.OPEN:
            return
        change.state = state
        change.closed_at = timezone.now()
        change.closed_by = facts.actor.label
        change.close_reason = facts.note[:300]
        change.save(update_fields=["state", "closed_at", "closed_by", "close_reason"])
        verb = "撤回关键数据变更" if withdrawn else "关键数据变更未通过"
        event_add(
            [change.student_id],
            actor=facts.actor,
            action=f"{verb}：{field_labels(change.values)}",
            reason=facts.note[:300],
        )


def keydata_detail_lines(case: Case) -> list[tuple[str, str]]:
    """What the county's case page shows: each field old → new (names and ID numbers
    masked, as everywhere on the bureau host), the reason, suspected duplicates, and
    short-lived links to the proofs, which carry the real values."""
    from tenants.context import school_context
    from tenants.models import School

    schema = School.objects.filter(pk=case.school_id).values_list("schema_name", flat=True).first()
    if schema is None or not _ours(case):
        return []
    with school_context(schema):
        change = KeyDataChange.objects.prefetch_related("evidence").filter(case_id=case.pk).first()
        if change is None:
            return []
        lines = [
            (
                f"{BY_KEY[k].header if k in BY_KEY else k}",
                f"{shown(k, old)} → {shown(k, new)}",
            )
            for k, (old, new) in change.values.items()
        ]
        lines.append(("变更原因", change.reason))
        for other in change.suspected:
            lines.append(
                (
                    "疑似重复",
                    f"{other.get('school_name', '')} {other.get('name', '')} "
                    f"{other.get('id_number', '')}（{other.get('status', '')}）",
                )
            )
        lines.append(("经办人", change.created_by_label or change.created_by))
        for n, e in enumerate(change.evidence.all(), 1):
            link = format_html(
                '<a href="{}" target="_blank" rel="noopener">{}</a>',
                default_storage.url(e.file_key),
                e.original_name,
            )
            lines.append((f"证明材料{n}", link))
        return lines


def register_keydata_hooks() -> None:
    from shared_apps.transfers.services import (
        register_closing,
        register_completion,
        register_decision,
        register_detail,
    )

    register_completion(KIND, keydata_complete)
    register_closing(KIND, keydata_closed)
    register_detail(KIND, keydata_detail_lines)
    register_decision(KIND, keydata_decision)
