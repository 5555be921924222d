"""全选符合条件的学生: the school's two audit actions (提交学校审核, 学校审核通过/退回)
applied to every student a list's filter matches, not only the rows checked on one page,
as a background job with progress.

The filter travels, never a list of ids: the task reads the matching students itself
when it starts and works through them in chunks. Each chunk is one call of the same
service a checked-rows request uses (`approval.students_submit` /
`students_school_decide`), so every rule stays in one place: only 待提交 students are
submitted, only 待学校审核 ones decided, an approver never decides a student they
submitted, a return needs a reason, and every student gets its StudentEvent.

Each chunk is its own transaction. That is sound because both actions are independent
per student: one student's state change neither reads nor writes another's, so a job
stopped half-way leaves every student either fully moved (with its event and index
state) or untouched, and the job's message says how many were moved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.db.models import QuerySet

from common.actor import Actor
from common.exceptions import ApplicationError
from tenant_apps.registry.models import Student
from tenant_apps.registry.students import approval
from tenant_apps.registry.students.selectors import student_list

# Students per transaction. 500 keeps each chunk's row locks, event inserts and index
# updates short (well under a second) while 48,000 drafts still take only ~100 chunks.
BULK_CHUNK = 500

SUBMIT = "submit"
APPROVE = "approve"
RETURN = "return"
ACTIONS = (SUBMIT, APPROVE, RETURN)

MSG_NONE_MATCHING = "没有符合条件的学生。"
MSG_REASON = "退回时请填写原因。"
MSG_STOPPED = "已处理 {done} 名学生后中止：{message}"

# The state a student must be in for each action.
_FROM_STATE = {
    SUBMIT: Student.Audit.DRAFT,
    APPROVE: Student.Audit.SCHOOL_PENDING,
    RETURN: Student.Audit.SCHOOL_PENDING,
}
_TITLE = {
    SUBMIT: "提交学校审核：符合条件的 {n} 名学生",
    APPROVE: "学校审核通过：符合条件的 {n} 名学生",
    RETURN: "学校审核退回：符合条件的 {n} 名学生",
}
_DONE = {
    SUBMIT: "已提交 {n} 名学生审核，等待学校审核。",
    APPROVE: "已审核通过 {n} 名学生，已报送教育局审核。",
    RETURN: "已退回 {n} 名学生，学籍管理员修改后可重新提交。",
}
_SKIPPED = "另有 {n} 名在此期间已被他人处理或修改，未计入。"


@dataclass(frozen=True)
class StudentFilter:
    """What a student list is filtered by (the list's own query parameters)."""

    search: str = ""
    class_id: int | None = None
    status: str = ""

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> StudentFilter:
        """From a query string, a form or an API body, as the list reads them."""
        raw_class = str(data.get("class_id") or data.get("class") or "")
        status = str(data.get("status") or "")
        return cls(
            search=str(data.get("q") or data.get("search") or "").strip()[:100],
            class_id=int(raw_class) if raw_class.isdigit() else None,
            status=status if status in Student.Status.values else "",
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def query(self, **extra: str) -> str:
        """The list's query string for this filter (page links keep it)."""
        values = {"q": self.search, "class_id": self.class_id or "", "status": self.status}
        values.update(extra)
        return urlencode({k: v for k, v in values.items() if v})


def students_matching(*, action: str, flt: StudentFilter, actor_username: str) -> QuerySet[Student]:
    """The students `action` would apply to: the filter, in the action's starting state;
    for decisions without the actor's own submissions (maker ≠ checker)."""
    qs = student_list(
        search=flt.search,
        class_id=flt.class_id,
        status=flt.status,
        audit_state=_FROM_STATE[action],
    )
    if action in (APPROVE, RETURN):
        qs = qs.exclude(submitted_by=actor_username)
    return qs


@dataclass(frozen=True)
class BulkStarted:
    job_id: str
    matching: int


def _check(action: str, reason: str) -> None:
    if action not in ACTIONS:
        raise ApplicationError("未知的批量操作。", code="invalid")
    if action == RETURN and not reason.strip():
        raise ApplicationError(MSG_REASON, code="invalid", extra={"reason": ["请填写退回原因。"]})


@transaction.atomic(durable=True)
def students_bulk_start(
    *, action: str, flt: StudentFilter, reason: str, actor: Actor, owner_id: int
) -> BulkStarted:
    """Count what matches now, record the job and send the task once committed.
    The task reads the matching set again when it runs (the count may have moved)."""
    from shared_apps.jobs.services import job_create
    from tenant_apps.registry.tasks import students_bulk_run as students_bulk_run_task

    _check(action, reason)
    matching = students_matching(action=action, flt=flt, actor_username=actor.username).count()
    if not matching:
        raise ApplicationError(MSG_NONE_MATCHING, code="invalid")
    job = job_create(
        owner_id=owner_id, kind=f"students_{action}", title=_TITLE[action].format(n=matching)
    )
    args = (str(job.pk), action, flt.as_json(), reason.strip(), asdict(actor))
    transaction.on_commit(lambda: students_bulk_run_task.delay(*args))
    return BulkStarted(job_id=str(job.pk), matching=matching)


@dataclass(frozen=True)
class BulkDone:
    done: int
    skipped: int
    message: str


def students_bulk_run(
    *,
    action: str,
    flt: StudentFilter,
    reason: str,
    actor: Actor,
    progress: Callable[[int, str], None],
) -> BulkDone:
    """Apply `action` to every matching student, BULK_CHUNK per transaction.

    Students that left the starting state between the read and their chunk (another
    registrar submitted them, the approver decided them by hand) are skipped and counted,
    never refused: the job reports what it did. Any other refusal stops the job with the
    number already done (ApplicationError).
    """
    _check(action, reason)
    state = _FROM_STATE[action]
    ids = list(
        students_matching(action=action, flt=flt, actor_username=actor.username).values_list(
            "pk", flat=True
        )
    )
    total = len(ids)
    done = 0
    progress(0, f"共 {total} 名学生，正在处理…")
    for start in range(0, total, BULK_CHUNK):
        chunk = ids[start : start + BULK_CHUNK]
        still = Student.objects.filter(pk__in=chunk, audit_state=state)
        if action != SUBMIT:
            still = still.exclude(submitted_by=actor.username)
        wanted = list(still.values_list("pk", flat=True))
        try:
            if not wanted:
                pass
            elif action == SUBMIT:
                done += approval.students_submit(student_ids=wanted, actor=actor)
            else:
                done += approval.students_school_decide(
                    student_ids=wanted, approve=action == APPROVE, reason=reason, actor=actor
                )
        except ApplicationError as exc:
            raise ApplicationError(
                MSG_STOPPED.format(done=done, message=exc.message), code=exc.code
            ) from exc
        seen = start + len(chunk)
        progress(seen * 100 // total, f"已处理 {seen} / {total} 名学生")
    message = _DONE[action].format(n=done)
    if total - done:
        message += _SKIPPED.format(n=total - done)
    return BulkDone(done=done, skipped=total - done, message=message)
