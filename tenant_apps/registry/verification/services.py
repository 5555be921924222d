"""The national check's results applied inside one school (domain §3.2 step 9, §4.14).

The national system is outside our reach: the county imports its result file
(bureau.verification) and each row that names a record of this school either verifies
it (G number from the ID, or a J number for a pupil without one) or opens a 问题学籍 of
the failure's kind on it. The record stays REGISTERED either way: 在读 counts, blockers
and reports read audit_state, and a failed national check does not undo the county's
registration; the open problem (and the index's has_problem) is what holds it.

`plan` reads, `apply` writes; apply opens no transaction of its own: the bureau's
confirm spans every school of the file in one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.db.models import Q
from django.utils import timezone

from common.actor import Actor
from common.masking import mask_name
from tenant_apps.registry.models import ProblemRecord, Student
from tenant_apps.registry.verification.rows import (
    FAILURE_KINDS,
    MSG_ALREADY,
    MSG_DELETED,
    MSG_NAME,
    MSG_NOT_REGISTERED,
    MSG_OPEN,
    PASSED,
    PROBLEM,
    SKIP,
    VERIFY,
    CheckOutcome,
    CheckRow,
)


def _match(rows: Sequence[CheckRow]) -> dict[str, list[Student]]:
    keys = sorted({r.key for r in rows})
    found: dict[str, list[Student]] = {}
    if not keys:
        return found
    students = (
        Student.objects.select_related("school_class")
        .filter(Q(national_number__in=keys) | Q(id_number__in=keys))
        .order_by("pk")
    )
    for s in students:
        for key in {s.national_number, s.id_number.upper()} & set(keys):
            found.setdefault(key, []).append(s)
    return found


def _outcome(row: CheckRow, s: Student, open_kinds: set[tuple[int, str]]) -> CheckOutcome:
    label = f"{s.school_class.name} {mask_name(s.name)}"

    def out(action: str, kind: str = "", reason: str = "") -> CheckOutcome:
        return CheckOutcome(row.row_no, action, kind, reason, label, s.identifier)

    if s.audit_state == Student.Audit.DELETED:
        return out(SKIP, reason=MSG_DELETED)
    if s.audit_state != Student.Audit.REGISTERED:
        return out(SKIP, reason=MSG_NOT_REGISTERED.format(state=s.get_audit_state_display()))
    if row.name and row.name != s.name:
        return out(SKIP, reason=MSG_NAME.format(name=row.name))
    if row.result == PASSED:
        if s.national_check == Student.NationalCheck.VERIFIED:
            return out(SKIP, reason=MSG_ALREADY)
        return out(VERIFY)
    kind = FAILURE_KINDS[row.result]
    if (s.pk, kind) in open_kinds:
        return out(SKIP, kind=kind, reason=MSG_OPEN)
    return out(PROBLEM, kind=kind, reason=row.note)


def plan(rows: Sequence[CheckRow]) -> list[CheckOutcome]:
    """Each row that names a record of this school, and what it would do (reads only)."""
    found = _match(rows)
    ids = {s.pk for group in found.values() for s in group}
    open_kinds = set(
        ProblemRecord.objects.filter(
            student_id__in=ids,
            state__in=[ProblemRecord.State.OPEN, ProblemRecord.State.EVIDENCE_PENDING],
        ).values_list("student_id", "kind")
    )
    return [_outcome(r, s, open_kinds) for r in rows for s in found.get(r.key, [])]


def apply(rows: Sequence[CheckRow], *, actor: Actor) -> list[CheckOutcome]:
    """Apply the rows to this school's records under their row locks, in the caller's
    transaction: verified records get their G/J number, failures a problem record of
    their kind; history and index in the same transaction. Returns the outcomes."""
    from shared_apps.student_index.services import duplicates_find, index_set_state
    from tenant_apps.registry.students.services import (
        current_school,
        event_add,
        formal_number,
        keys_of,
        masked_for_hits,
    )

    found = _match(rows)
    ids = sorted({s.pk for group in found.values() for s in group})
    # Lock first, then plan on the locked rows: nothing changes between check and write.
    list(Student.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
    outcomes = plan(rows)
    students = {
        s.identifier: s for s in Student.objects.select_related("school_class").filter(pk__in=ids)
    }
    area = current_school().area
    now = timezone.now()
    problem_uuids: list[uuid.UUID] = []
    done: set[uuid.UUID] = set()
    for o in outcomes:
        s = students[o.student_uuid]
        if o.action == SKIP or s.identifier in done:
            continue
        done.add(s.identifier)
        if o.action == VERIFY:
            kind, number = formal_number(s, area)
            Student.objects.filter(pk=s.pk).update(
                number_kind=kind,
                national_number=number,
                national_check=Student.NationalCheck.VERIFIED,
                national_checked_at=now,
            )
            event_add(
                [s.pk],
                actor=actor,
                action="通过国家校验，分配正式学籍号",
                changes={"national_number": [s.national_number, number]},
            )
            continue
        others: list[dict[str, str]] = []
        if o.kind == ProblemRecord.Kind.NATIONAL_DUPLICATE:
            data = {
                "name": s.name,
                "sex": s.sex,
                "birth_date": s.birth_date,
                "id_number": s.id_number,
                "id_type": getattr(s, "id_type", "1"),
            }
            hits = duplicates_find([keys_of(data)], exclude=[s.identifier], rules=("id",))
            others = list(masked_for_hits(hits).values())
        ProblemRecord.objects.create(student=s, kind=o.kind, others=others, reason=o.reason[:300])
        Student.objects.filter(pk=s.pk).update(
            national_check=Student.NationalCheck.FAILED, national_checked_at=now
        )
        event_add(
            [s.pk],
            actor=actor,
            action="国家校验未通过",
            reason=f"{ProblemRecord.Kind(o.kind).label}{'：' + o.reason if o.reason else ''}",
        )
        problem_uuids.append(s.identifier)
    if problem_uuids:
        index_set_state(student_uuids=problem_uuids, has_problem=True, updated_at=now)
    return outcomes
