from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from accounts.services import CreatedUser, user_create
from common.exceptions import ApplicationError
from shared_apps.jobs.services import job_create
from shared_apps.regions.services import bureau_create
from tenants.services import AdminInput, RegisteredSchool, SchoolInput, school_register


@dataclass(frozen=True)
class CreatedBureau:
    bureau_id: int
    name: str
    officer: CreatedUser


@transaction.atomic(durable=True)
def bureau_open(
    *, region_code: str, name: str, officer_username: str, officer_name: str
) -> CreatedBureau:
    """Platform operator: a bureau on a region node plus its first officer, together."""
    bureau = bureau_create(region_code=region_code, name=name)
    officer = user_create(
        username=officer_username,
        full_name=officer_name,
        roles=[Role.BUREAU_REGISTRAR, Role.BUREAU_APPROVER],
        region_id=bureau.region_id,
    )
    return CreatedBureau(bureau_id=bureau.pk, name=bureau.name, officer=officer)


@dataclass(frozen=True)
class OpenedSchool:
    school: RegisteredSchool
    job_id: str


@transaction.atomic(durable=True)
def school_open(*, data: SchoolInput, admin: AdminInput | None, acting_user: User) -> OpenedSchool:
    """Bureau officer: register a school under the officer's region and provision it
    in the background; the job reports progress to the officer's page."""
    from shared_apps.bureau.tasks import school_provision as school_provision_task

    registered = school_register(data=data, scope=acting_user.region, admin=admin)
    job = job_create(
        owner_id=acting_user.pk, kind="school_provision", title=f"开通学校：{data.name}"
    )
    school_id, job_id = registered.school_id, str(job.pk)
    transaction.on_commit(lambda: school_provision_task.delay(school_id, job_id))
    return OpenedSchool(school=registered, job_id=job_id)


# -- county audit and evidence review -------------------------------------------------

MSG_OUTSIDE_SCOPE = "所选学生不在您的管辖范围内。"


@dataclass(frozen=True)
class PendingStudent:
    school_id: int
    school_name: str
    student_uuid: str
    name: str  # masked
    id_number: str  # masked
    stage: str
    entry_year: int
    since: dt.datetime | None = None  # when the county's wait began
    waiting_days: int = 0


AUDIT_PAGE_SIZE = 100
EVIDENCE_PAGE_SIZE = 50  # each row presigns a file link inside its school


def waiting_days(since: dt.datetime | None) -> int:
    """Whole days an item has waited, by the local calendar (0 on the day it came)."""
    if since is None:
        return 0
    return max((timezone.localdate() - timezone.localdate(since)).days, 0)


def _masked_by_school(
    *, user: User, wanted: Mapping[int, list[Any]]
) -> tuple[dict[int, Any], dict[int, dict[Any, Any]]]:
    """({school id: School}, {school id: {student uuid: MaskedStudent}}) for one page's
    students: each school of the page is read once, inside its own context, for that
    page's students only."""
    from shared_apps.bureau.selectors import access_schools
    from tenant_apps.registry.facade import masked_students

    schools = {s.pk: s for s in access_schools(user=user).filter(pk__in=list(wanted))}
    masked: dict[int, dict[Any, Any]] = {}
    for sid, uuids in wanted.items():
        school = schools.get(sid)
        if school is not None:
            masked[sid] = dict(
                masked_students(
                    schema_name=school.schema_name, school_name=school.name, uuids=uuids
                )
            )
    return schools, masked


def county_audit_rows(*, user: User, entries: list[tuple[Any, ...]]) -> list[PendingStudent]:
    """Masked rows for `entries` (selectors.county_audit_entries: school_id, student_uuid,
    stage, entry_year, since), read inside each of their schools, in the entries' order."""
    wanted: dict[int, list[Any]] = {}
    for sid, suuid, *_rest in entries:
        wanted.setdefault(sid, []).append(suuid)
    schools, masked = _masked_by_school(user=user, wanted=wanted)
    result = []
    for sid, suuid, stage, year, *rest in entries:
        m = masked.get(sid, {}).get(suuid)
        if m is not None:
            since = rest[0] if rest else None
            result.append(
                PendingStudent(
                    sid,
                    schools[sid].name,
                    str(suuid),
                    m.name,
                    m.id_number,
                    stage,
                    year,
                    since,
                    waiting_days(since),
                )
            )
    return result


@dataclass(frozen=True)
class QueueItem:
    """One row of the county's queue, masked: a registration or a 佐证 waiting for it."""

    kind: str  # selectors.KIND_REGISTRATION or KIND_EVIDENCE
    kind_label: str
    school_id: int
    school_name: str
    ref: str  # the student's uuid (registration) or the review's id (佐证)
    student_uuid: str
    name: str  # masked
    id_number: str  # masked
    since: dt.datetime
    waiting_days: int
    batchable: bool  # a registration may be decided in a batch; a 佐证 only alone


def county_queue_rows(*, user: User, rows: list[tuple[Any, ...]]) -> list[QueueItem]:
    """Masked rows for one page of selectors.county_queue, in its order. A row whose
    student is gone from its school meanwhile is left out (it no longer waits)."""
    from shared_apps.bureau.selectors import KIND_REGISTRATION, QUEUE_KINDS

    labels = dict(QUEUE_KINDS)
    wanted: dict[int, list[Any]] = {}
    for _kind, sid, _ref, suuid, _since in rows:
        wanted.setdefault(sid, []).append(suuid)
    schools, masked = _masked_by_school(user=user, wanted=wanted)
    result = []
    for kind, sid, ref, suuid, since in rows:
        m = masked.get(sid, {}).get(suuid)
        if m is None:
            continue
        result.append(
            QueueItem(
                kind=kind,
                kind_label=labels[kind],
                school_id=sid,
                school_name=schools[sid].name,
                ref=str(ref),
                student_uuid=str(suuid),
                name=m.name,
                id_number=m.id_number,
                since=since,
                waiting_days=waiting_days(since),
                batchable=kind == KIND_REGISTRATION,
            )
        )
    return result


# -- opening one item: the real values, each reveal audited ----------------------------


@dataclass(frozen=True)
class OpenedRegistration:
    school_id: int
    school_name: str
    since: dt.datetime
    waiting_days: int
    record: Any  # registry.facade.ReviewRecord, real values


@dataclass(frozen=True)
class OpenedEvidence:
    review_id: int
    school_name: str
    since: dt.datetime
    waiting_days: int
    evidence: Any  # registry.facade.EvidenceRecord, real values
    joint: bool = False  # decided on its cross-county case (bureau.joint), not here


def _reveal_record(request: Any, *, schema: str, student_uuid: str) -> None:
    """The audit entry of a reveal, as the school's 显示完整号码 writes it
    (registry.students.reveal: one ``read.reveal`` naming the student), here in the
    bureau's log (public) naming the school it is about. Written before anything is
    shown: a reveal that cannot be recorded does not happen (audit_record raises)."""
    from accounts.audit import READ_REVEAL, audit_record

    audit_record(
        request=request,
        action=READ_REVEAL,
        object_type="student",
        object_id=student_uuid,
        school=schema,
    )


def county_registration_open(
    *, request: Any, user: User, school_id: int, student_uuid: uuid.UUID
) -> OpenedRegistration | None:
    """A registration waiting for the county, opened by an officer governing its school:
    the whole record with real values, and one read.reveal entry. None (the page's 404)
    when the school is not the user's or the student does not wait for the county."""
    from shared_apps.bureau.selectors import access_school
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.facade import review_record

    school = access_school(user=user, school_id=school_id)
    if school is None:
        return None
    since = (
        IndexEntry.objects.filter(
            school_id=school.pk, student_uuid=student_uuid, audit_state="county_pending"
        )
        .values_list("updated_at", flat=True)
        .first()
    )
    if since is None:
        return None
    record = review_record(
        schema_name=school.schema_name, identifier=student_uuid, audit_state="county_pending"
    )
    if record is None:
        return None
    _reveal_record(request, schema=school.schema_name, student_uuid=record.student_uuid)
    return OpenedRegistration(school.pk, school.name, since, waiting_days(since), record)


def county_evidence_open(*, request: Any, user: User, review_id: int) -> OpenedEvidence | None:
    """A pending 佐证 of the user's schools, opened: its student with real values and the
    file, and one read.reveal entry. None (404) otherwise."""
    from shared_apps.bureau.selectors import access_school, evidence_review_for
    from tenant_apps.registry.facade import evidence_record

    review = evidence_review_for(user=user, review_id=review_id)
    school = access_school(user=user, school_id=review.school_id) if review else None
    if review is None or school is None:
        return None
    found = evidence_record(
        schema_name=school.schema_name, problem_id=review.problem_id, evidence_id=review.evidence_id
    )
    if found is None:
        return None
    _reveal_record(request, schema=school.schema_name, student_uuid=found.record.student_uuid)
    return OpenedEvidence(
        review.pk,
        school.name,
        review.submitted_at,
        waiting_days(review.submitted_at),
        found,
        joint=review.joint,
    )


@transaction.atomic(durable=True)
def county_decide(*, user: User, items: list[tuple[int, str]], approve: bool, reason: str) -> int:
    """Batch decision over students of several schools, in ONE transaction."""
    from common.actor import Actor
    from shared_apps.bureau.selectors import access_schools
    from tenant_apps.registry.facade import students_county_decide

    schools = {s.pk: s.schema_name for s in access_schools(user=user)}
    by_school: dict[int, list[uuid.UUID]] = {}
    for school_id, student_uuid in items:
        if school_id not in schools:
            raise ApplicationError(MSG_OUTSIDE_SCOPE, code="not_found")
        by_school.setdefault(school_id, []).append(uuid.UUID(str(student_uuid)))
    bureau = bureau_for_user(user)
    actor = Actor(username=user.username, name=f"{bureau}{user.full_name}", schema="public")
    done = 0
    for school_id, uuids in by_school.items():
        # The decision is written inside each school; only counts come back.
        done += students_county_decide(
            schema_name=schools[school_id],
            student_uuids=uuids,
            approve=approve,
            reason=reason,
            actor=actor,
        )
    return done


def bureau_for_user(user: User) -> str:
    from shared_apps.bureau.selectors import bureau_for

    bureau = bureau_for(user)
    return bureau.name if bureau else "平台"


@dataclass(frozen=True)
class PendingEvidence:
    review_id: int
    school_name: str
    name: str
    id_number: str
    kind: str
    note: str
    file_url: str
    original_name: str


def evidence_rows(*, user: User, reviews: list[Any]) -> list[PendingEvidence]:
    """What the officer sees of one page of pending reviews (evidence_reviews): each
    student masked and each file linked from inside its school."""
    from shared_apps.bureau.selectors import access_schools
    from tenant_apps.registry.facade import evidence_view

    schools = {
        s.pk: s for s in access_schools(user=user).filter(pk__in={r.school_id for r in reviews})
    }
    result = []
    for review in reviews:
        school = schools.get(review.school_id)
        if school is None:
            continue
        view = evidence_view(
            schema_name=school.schema_name,
            problem_id=review.problem_id,
            evidence_id=review.evidence_id,
        )
        if view is not None:
            result.append(
                PendingEvidence(
                    review.pk,
                    school.name,
                    view.name,
                    view.id_number,
                    view.kind,
                    view.note,
                    view.file_url,
                    view.original_name,
                )
            )
    return result


def evidence_review_queue(
    *,
    school_id: int,
    problem_id: int,
    evidence_id: int,
    student_uuid: uuid.UUID,
    other_uuids: Sequence[uuid.UUID] = (),
) -> None:
    """Queue an uploaded 佐证 for the county (facade.hooks: called by the registry inside
    the upload's transaction, from the school's schema; the table is public)."""
    from shared_apps.bureau.models import EvidenceReview

    review = EvidenceReview.objects.create(
        school_id=school_id,
        problem_id=problem_id,
        evidence_id=evidence_id,
        student_uuid=student_uuid,
    )
    if other_uuids:
        from shared_apps.bureau.joint import joint_attach

        joint_attach(review=review, other_uuids=other_uuids)


@transaction.atomic(durable=True)
def evidence_review_decide(*, user: User, review_id: int, accept: bool, reason: str) -> None:
    from django.utils import timezone

    from common.actor import Actor
    from shared_apps.bureau.models import EvidenceReview
    from shared_apps.bureau.selectors import access_schools
    from tenant_apps.registry.facade import evidence_decide

    schools = {s.pk: s.schema_name for s in access_schools(user=user)}
    review = (
        EvidenceReview.objects.select_for_update()
        .filter(pk=review_id, school_id__in=schools, state="pending")
        .first()
    )
    if review is None:
        raise ApplicationError("未找到待审核的佐证。", code="not_found")
    if review.joint:
        from shared_apps.bureau.joint import MSG_JOINT_ALONE

        raise ApplicationError(MSG_JOINT_ALONE, code="joint")
    if not accept and not reason.strip():
        raise ApplicationError(
            "不通过时请填写原因。", code="invalid", extra={"reason": ["请填写原因。"]}
        )
    actor = Actor(
        username=user.username, name=f"{bureau_for_user(user)}{user.full_name}", schema="public"
    )
    evidence_decide(
        schema_name=schools[review.school_id],
        problem_id=review.problem_id,
        evidence_id=review.evidence_id,
        accept=accept,
        reason=reason,
        actor=actor,
    )
    review.state = "accepted" if accept else "rejected"
    review.decided_at = timezone.now()
    review.save(update_fields=["state", "decided_at"])


# -- 全选符合条件的 N 名 (county audit) -------------------------------------------------

# Students per transaction of a bureau-wide decision, all of one school: approval
# assigns a formal number and writes two events per student, so 500 keeps a chunk
# well under a second while a county's 50,000 still take ~100 chunks.
COUNTY_CHUNK = 500
MSG_NONE_MATCHING = "没有符合条件的学生。"


@dataclass(frozen=True)
class CountyBulkStarted:
    job_id: str
    matching: int


@transaction.atomic(durable=True)
def county_decide_start(
    *, user: User, school_id: int | None, approve: bool, reason: str, min_days: int | None = None
) -> CountyBulkStarted:
    """Decide every student the queue's filter matches (all schools of the officer's
    region, or one; those that waited at least `min_days` days), as a background job;
    the task reads the queue again when it runs. Registrations only: a 佐证 is decided
    alone, on its own page."""
    from shared_apps.bureau.selectors import county_audit_entries
    from shared_apps.bureau.tasks import county_decide_run as county_decide_run_task

    if not approve and not reason.strip():
        raise ApplicationError(
            "退回时请填写原因。", code="invalid", extra={"reason": ["请填写退回原因。"]}
        )
    matching = county_audit_entries(user=user, school_id=school_id, min_days=min_days).count()
    if not matching:
        raise ApplicationError(MSG_NONE_MATCHING, code="invalid")
    verb = "审核通过" if approve else "审核退回"
    job = job_create(
        owner_id=user.pk, kind="county_decide", title=f"教育局{verb}：符合条件的 {matching} 名学生"
    )
    args = (str(job.pk), user.pk, school_id, approve, reason.strip())
    transaction.on_commit(lambda: county_decide_run_task.delay(*args, min_days=min_days))
    return CountyBulkStarted(job_id=str(job.pk), matching=matching)


@dataclass(frozen=True)
class CountyBulkDone:
    done: int
    skipped: int
    message: str


def county_decide_run(
    *,
    user: User,
    school_id: int | None,
    approve: bool,
    reason: str,
    progress: Callable[[int, str], None],
    min_days: int | None = None,
) -> CountyBulkDone:
    """Every matching student, COUNTY_CHUNK of one school per transaction, each chunk
    through county_decide (the same rules as checked rows: region scope, state, a
    reason for returns, events in the school).

    One transaction per chunk is sound because a county decision is independent per
    student: it moves that student's state and assigns that student's number, nothing
    shared but the number counters, which are taken under their own row locks. A job
    stopped half-way leaves each student decided or untouched; the message says how
    many were decided. Students decided meanwhile (by hand) are skipped and counted.
    """
    from shared_apps.bureau.selectors import county_audit_entries
    from shared_apps.student_index.models import IndexEntry

    entries = list(
        county_audit_entries(user=user, school_id=school_id, min_days=min_days).values_list(
            "school_id", "student_uuid"
        )
    )
    total = len(entries)
    by_school: dict[int, list[object]] = {}
    for sid, suuid in entries:
        by_school.setdefault(sid, []).append(suuid)
    done = seen = 0
    progress(0, f"共 {total} 名学生，正在处理…")
    for sid, uuids in by_school.items():
        for start in range(0, len(uuids), COUNTY_CHUNK):
            chunk = uuids[start : start + COUNTY_CHUNK]
            still = list(
                IndexEntry.objects.filter(  # type: ignore[misc]
                    school_id=sid, student_uuid__in=chunk, audit_state="county_pending"
                ).values_list("student_uuid", flat=True)
            )
            if still:
                try:
                    done += county_decide(
                        user=user,
                        items=[(sid, str(u)) for u in still],
                        approve=approve,
                        reason=reason,
                    )
                except ApplicationError as exc:
                    raise ApplicationError(
                        f"已处理 {done} 名学生后中止：{exc.message}", code=exc.code
                    ) from exc
            seen += len(chunk)
            progress(seen * 100 // total, f"已处理 {seen} / {total} 名学生")
    if approve:
        message = f"已审核通过 {done} 名学生，学籍已注册，国家校验通过后分配正式学籍号。"
    else:
        message = f"已退回 {done} 名学生，学校修改后可重新提交。"
    if total - done:
        message += f"另有 {total - done} 名在此期间已被处理，未计入。"
    return CountyBulkDone(done=done, skipped=total - done, message=message)
