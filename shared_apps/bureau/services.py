from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction

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
    from tenants.tasks import school_provision as school_provision_task

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
    name: str
    id_number: str
    stage: str
    entry_year: int


def county_audit_queue(*, user: User, school_id: int | None = None) -> list[PendingStudent]:
    """Students awaiting the bureau, read from the index and masked per school."""
    from shared_apps.bureau.selectors import access_schools
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.facade import masked_students

    schools = {s.pk: s for s in access_schools(user=user)}
    if school_id is not None:
        schools = {k: v for k, v in schools.items() if k == school_id}
    entries = list(
        IndexEntry.objects.filter(school_id__in=schools, audit_state="county_pending").values_list(
            "school_id", "student_uuid", "stage", "entry_year"
        )[:2000]
    )
    by_school: dict[int, list[tuple[object, str, int]]] = {}
    for sid, suuid, stage, year in entries:
        by_school.setdefault(sid, []).append((suuid, stage, year))
    result = []
    for sid, rows in by_school.items():
        school = schools[sid]
        masked = masked_students(
            schema_name=school.schema_name, school_name=school.name, uuids=[r[0] for r in rows]
        )  # type: ignore[misc]
        for suuid, stage, year in rows:
            m = masked.get(suuid)  # type: ignore[call-overload]
            if m is not None:
                result.append(
                    PendingStudent(sid, school.name, str(suuid), m.name, m.id_number, stage, year)
                )
    return result


@transaction.atomic(durable=True)
def county_decide(*, user: User, items: list[tuple[int, str]], approve: bool, reason: str) -> int:
    """Batch decision over students of several schools, in ONE transaction."""
    from common.actor import Actor
    from shared_apps.bureau.selectors import access_schools
    from tenant_apps.registry.services import students_county_decide
    from tenants.context import school_context

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
        with school_context(schools[school_id]):
            done += students_county_decide(
                student_uuids=uuids, approve=approve, reason=reason, actor=actor
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


def evidence_queue(*, user: User) -> list[PendingEvidence]:
    from shared_apps.bureau.models import EvidenceReview
    from shared_apps.bureau.selectors import access_schools
    from tenant_apps.registry.facade import evidence_view

    schools = {s.pk: s for s in access_schools(user=user)}
    result = []
    for review in EvidenceReview.objects.filter(school_id__in=schools, state="pending")[:500]:
        school = schools[review.school_id]
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


@transaction.atomic(durable=True)
def evidence_review_decide(*, user: User, review_id: int, accept: bool, reason: str) -> None:
    from django.utils import timezone

    from common.actor import Actor
    from shared_apps.bureau.models import EvidenceReview
    from shared_apps.bureau.selectors import access_schools
    from tenant_apps.registry.problems import evidence_decide
    from tenants.context import school_context

    schools = {s.pk: s.schema_name for s in access_schools(user=user)}
    review = (
        EvidenceReview.objects.select_for_update()
        .filter(pk=review_id, school_id__in=schools, state="pending")
        .first()
    )
    if review is None:
        raise ApplicationError("未找到待审核的佐证。", code="not_found")
    if not accept and not reason.strip():
        raise ApplicationError(
            "不通过时请填写原因。", code="invalid", extra={"reason": ["请填写原因。"]}
        )
    actor = Actor(
        username=user.username, name=f"{bureau_for_user(user)}{user.full_name}", schema="public"
    )
    with school_context(schools[review.school_id]):
        evidence_decide(
            problem_id=review.problem_id,
            evidence_id=review.evidence_id,
            accept=accept,
            reason=reason,
            actor=actor,
        )
    review.state = "accepted" if accept else "rejected"
    review.decided_at = timezone.now()
    review.save(update_fields=["state", "decided_at"])
