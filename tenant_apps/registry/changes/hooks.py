"""The case engine's hooks for in-school status changes (registered in RegistryConfig.ready):
the maker-checker guard and history line of the school's decision, the completion that makes
the change take effect, the closing of a rejected or withdrawn change, and the lines the
bureau's case page shows. Each reads the public case first, then works inside the school."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.html import format_html

from common.actor import Actor
from common.exceptions import ApplicationError
from tenant_apps.registry.changes.services import (
    MSG_MAKER_CHECKER,
    MSG_NOT_FOUND,
    MSG_STALE,
    MSG_STALE_CLASS,
    kinds_available,
    reason_line,
)
from tenant_apps.registry.models import StatusChange, Student
from tenant_apps.registry.students.services import event_add

if TYPE_CHECKING:
    from shared_apps.transfers.models import Case
    from shared_apps.transfers.services import CaseActor


@dataclass(frozen=True)
class _CaseFacts:
    """What the hooks read from the public case before switching into the school."""

    case_id: uuid.UUID
    kind: str
    schema: str
    actor: Actor
    note: str


def _ours(case: Case) -> bool:
    """A case opened by change_submit (the engine's own tests open bare cases of these
    kinds, with nothing in a school to update)."""
    return "change_id" in (case.payload or {})


def _facts(case: Case) -> _CaseFacts:
    from accounts.models import User
    from tenants.context import school_context
    from tenants.models import School

    schema = School.objects.filter(pk=case.school_id).values_list("schema_name", flat=True).get()
    last = case.steps.order_by("-at", "-id").first()
    username, _, where = (last.actor if last else "system@public").partition("@")
    with school_context(where or "public"):
        name = User.objects.filter(username=username).values_list("full_name", flat=True).first()
    return _CaseFacts(
        case_id=case.pk,
        kind=case.kind,
        schema=schema,
        actor=Actor(username=username, name=name or username, schema=where),
        note=last.note if last else "",
    )


def change_decision(case: Case, actor: CaseActor, approve: bool, note: str) -> None:
    """Decision hook: the submitter never decides the school step (maker ≠ checker,
    whichever page is used), and the school's approval enters the student's history.
    Rejections are recorded by `change_closed`, the bureau's approval by `change_complete`."""
    from accounts.models import User
    from tenants.context import school_context

    step = case.chain[case.step] if 0 <= case.step < len(case.chain) else {}
    if not _ours(case) or step.get("owner") != "school":
        return
    if actor.label == case.created_by:
        raise ApplicationError(MSG_MAKER_CHECKER, code="maker_checker")
    if not approve:
        return
    facts = _facts(case)
    with school_context(facts.schema):
        name = (
            User.objects.filter(username=actor.username).values_list("full_name", flat=True).first()
        )
        change = StatusChange.objects.filter(case_id=case.pk).first()
        if change is None:
            raise ApplicationError(MSG_NOT_FOUND, code="not_found")
        event_add(
            [change.student_id],
            actor=Actor(username=actor.username, name=name or actor.username, schema=facts.schema),
            action=f"学籍异动学校审核通过：{change.get_kind_display()}",
            reason=note[:300],
        )


def change_complete(case: Case) -> None:
    """Completion handler: the last approval makes the change take effect, inside the
    engine's transaction (an error here rolls the approval back)."""
    from tenants.context import school_context

    if not _ours(case):
        return
    facts = _facts(case)
    with school_context(facts.schema):
        _complete(facts)


def _complete(facts: _CaseFacts) -> None:
    from shared_apps.student_index.services import index_set_state
    from tenant_apps.registry.changes.blockers import REQUIRED_STATUS
    from tenant_apps.registry.facade.move import checkpoint

    change = StatusChange.objects.select_for_update().filter(case_id=facts.case_id).first()
    if change is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if change.state != StatusChange.State.OPEN:
        return
    student = (
        Student.objects.select_for_update(of=("self",))
        .select_related("school_class")
        .get(pk=change.student_id)
    )
    if student.status not in REQUIRED_STATUS[change.kind] or student.status != change.from_status:
        raise ApplicationError(MSG_STALE.format(status=student.get_status_display()), code="state")
    before = student.status
    student.status = change.to_status
    diff: dict[str, list[object]] = {}
    if before != change.to_status:
        diff["status"] = [before, change.to_status]
    fields = ["status", "updated_at"]
    if change.to_class_id is not None:
        diff.update(_move(student, change))
        fields += ["school_class", "number_in_class", "entry_year_month"]
    student.save(update_fields=fields)
    checkpoint("change_after_student_write")
    change.state = StatusChange.State.DONE
    change.closed_at = timezone.now()
    change.closed_by = facts.actor.label
    change.close_reason = facts.note[:300]
    change.save(update_fields=["state", "closed_at", "closed_by", "close_reason"])
    event_add(
        [student.pk],
        actor=facts.actor,
        action=f"学籍异动生效：{change.get_kind_display()}",
        from_state=before,
        to_state=change.to_status,
        reason=reason_line(change),
        changes=diff,
    )
    checkpoint("change_before_index")
    klass = student.school_class
    index_set_state(
        student_uuids=[student.identifier],
        status=change.to_status,
        stage=klass.stage,
        entry_year=klass.entry_year,
    )


def _move(student: Student, change: StatusChange) -> dict[str, list[object]]:
    """Put the record into the change's class (seated after the class's last number);
    a grade change moves the 入学年月 to the target cohort's year, keeping the month,
    as the registry's rule "入学年月 agrees with the class's entry year" asks (the
    history keeps the old value). Returns the changed values, before and after."""
    from django.db.models import Max

    from tenant_apps.registry.models import SchoolClass

    source = student.school_class
    if change.from_class_id is not None and student.school_class_id != change.from_class_id:
        raise ApplicationError(
            MSG_STALE_CLASS.format(name=change.from_class.name),  # type: ignore[union-attr]
            code="state",
        )
    # The target class's row lock keeps two completions from taking the same seat.
    target = SchoolClass.objects.select_for_update().get(pk=int(change.to_class_id or 0))
    seat = (
        Student.objects.filter(school_class=target).aggregate(m=Max("number_in_class"))["m"] or 0
    ) + 1
    diff: dict[str, list[object]] = {
        "class_no": [source.class_no, target.class_no],
        "number_in_class": [student.number_in_class, seat],
    }
    if target.entry_year != source.entry_year:
        entry = f"{target.entry_year:04d}{student.entry_year_month[4:6] or '09'}"
        diff["entry_year_month"] = [student.entry_year_month, entry]
        student.entry_year_month = entry
    student.school_class, student.number_in_class = target, seat
    return diff


def change_closed(case: Case) -> None:
    """Closing handler: a rejection or withdrawal ends the change; the status stays."""
    from tenants.context import school_context

    if not _ours(case):
        return
    facts = _facts(case)
    withdrawn = case.state == "withdrawn"
    state = StatusChange.State.WITHDRAWN if withdrawn else StatusChange.State.REJECTED
    with school_context(facts.schema):
        change = StatusChange.objects.select_for_update().filter(case_id=facts.case_id).first()
        if change is None or change.state != StatusChange.State.OPEN:
            return
        change.state = state
        change.closed_at = timezone.now()
        change.closed_by = facts.actor.label
        change.close_reason = facts.note[:300]
        change.save(update_fields=["state", "closed_at", "closed_by", "close_reason"])
        verb = "撤回学籍异动" if state == StatusChange.State.WITHDRAWN else "学籍异动未通过"
        event_add(
            [change.student_id],
            actor=facts.actor,
            action=f"{verb}：{change.get_kind_display()}",
            reason=facts.note[:300],
        )


def change_detail_lines(case: Case) -> list[tuple[str, str]]:
    """The lines the bureau's case page shows for a status change (no readable PII
    beyond the masked summary; the reason text and short-lived links to the proofs)."""
    from tenants.context import school_context
    from tenants.models import School

    schema = School.objects.filter(pk=case.school_id).values_list("schema_name", flat=True).first()
    if schema is None or not _ours(case):
        return []
    with school_context(schema):
        change = (
            StatusChange.objects.select_related("from_class", "to_class")
            .prefetch_related("evidence")
            .filter(case_id=case.pk)
            .first()
        )
        if change is None:
            return []
        lines = [
            ("异动类型", change.get_kind_display()),
            ("异动日期", f"{change.change_date:%Y-%m-%d}"),
            (
                "学籍状态",
                f"{change.get_from_status_display()} → {change.get_to_status_display()}",
            ),
        ]
        if change.to_class_id is not None:
            lines.append(
                (
                    "班级",
                    f"{change.from_class.name if change.from_class else '—'} → "
                    f"{change.to_class.name}",  # type: ignore[union-attr]
                )
            )
        reason = reason_line(change)
        if reason:
            lines.append(("异动原因", reason))
        lines.append(("经办人", change.created_by_label or change.created_by))
        for n, e in enumerate(change.evidence.all(), 1):
            # A signed /files/ link made inside the school (its key prefix), for the
            # requesting host; the page shows it as a link to the file.
            link = format_html(
                '<a href="{}" target="_blank" rel="noopener">{}</a>',
                default_storage.url(e.file_key),
                e.original_name,
            )
            lines.append((f"佐证材料{n}", link))
        return lines


def register_hooks() -> None:
    from shared_apps.transfers.services import (
        register_closing,
        register_completion,
        register_decision,
        register_detail,
    )

    for spec in kinds_available():
        register_completion(spec.kind, change_complete)
        register_closing(spec.kind, change_closed)
        register_detail(spec.kind, change_detail_lines)
        register_decision(spec.kind, change_decision)
