"""跨县重复学籍联合认定 (issue 19 point 4, domain §3.4 principle 3): when a 疑似/重复 record's
other record is in a school of another county, both schools give their 佐证 and both
counties decide, together, in one case.

- `joint_attach` runs inside a school's 佐证 upload (the evidence hook,
  bureau.services.evidence_review_queue): when the problem's other record is in another
  county, the review is marked joint (the ordinary 佐证 queue leaves it out, and deciding it
  alone is refused) and put on the pair's case, which it opens if needed.
- Once both sides' 佐证 are in, each county's officer decides on 跨县联合认定: the two
  records are two children (both kept), or one school's record stands and the other school
  deletes its own. Nothing happens until both counties have decided the same; a difference
  is shown to both. An officer over both counties decides for both.
- The agreed decision is applied through the registry facade in each school: the kept side's
  佐证 accepted (its 问题学籍 resolved), the other's returned with the reason, in one
  transaction with the case and both reviews, audited in the bureau's log.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.audit import WRITE, audit_record
from accounts.models import User
from common.actor import Actor
from common.exceptions import ApplicationError
from shared_apps.bureau.joint_models import JointCase
from shared_apps.bureau.models import EvidenceReview
from tenants.models import School

Outcome = JointCase.Outcome
MSG_NOT_FOUND = "未找到该联合认定。"
MSG_WAITING = "双方学校的佐证尚未提交齐全，暂不能认定。"
MSG_DONE = "该联合认定已完成。"
MSG_OUTCOME = "请选择认定结论。"
MSG_JOINT_ALONE = "该佐证属于跨县重复学籍联合认定，请在“跨县联合认定”中与另一县共同认定。"
REASON_BOTH = "两县教育局联合认定：两条学籍分属不同学生，均保留。"
REASON_KEPT = "两县教育局联合认定：该生学籍以{school}为准。"
REASON_DELETE = "两县教育局联合认定：该生学籍以{school}为准，请删除本校的重复学籍。"


def joint_attach(*, review: EvidenceReview, other_uuids: Sequence[uuid.UUID]) -> JointCase | None:
    """Put a just-submitted 佐证 on its cross-county case, when its problem's other record
    is in another county (the first such one). Runs in the upload's transaction."""
    from shared_apps.student_index.models import IndexEntry

    here = School.objects.filter(pk=review.school_id).values_list("county_id", flat=True).first()
    others = IndexEntry.objects.filter(student_uuid__in=list(other_uuids)).exclude(
        school__county_id=here
    )
    other = others.values_list("student_uuid", "school_id", "school__county_id").first()
    if here is None or other is None:
        return None
    other_uuid, other_school, other_county = other
    case = (
        JointCase.objects.select_for_update()
        .filter(
            Q(student_a=review.student_uuid, student_b=other_uuid)
            | Q(student_a=other_uuid, student_b=review.student_uuid)
        )
        .exclude(state=JointCase.State.DECIDED)
        .first()
    )
    if case is None:
        case = JointCase(
            school_a_id=review.school_id,
            student_a=review.student_uuid,
            county_a=str(here),
            school_b_id=other_school,
            student_b=other_uuid,
            county_b=str(other_county),
        )
    if case.student_a == review.student_uuid:
        case.problem_a, case.review_a = review.problem_id, review
    else:
        case.problem_b, case.review_b = review.problem_id, review
    if case.review_a_id and case.review_b_id:
        # A new 佐证 from either side asks both counties again.
        case.state = JointCase.State.DECIDING
        case.decision_a = case.decision_b = ""
        case.decided_a_by = case.decided_b_by = ""
    case.save()
    EvidenceReview.objects.filter(pk=review.pk).update(joint=True)
    return case


def joint_cases(*, user: User) -> QuerySet[JointCase]:
    """The cases touching the officer's schools, open ones first."""
    from shared_apps.bureau.selectors import access_schools

    mine = access_schools(user=user).values("pk")
    return (
        JointCase.objects.filter(Q(school_a__in=mine) | Q(school_b__in=mine))
        .select_related("school_a", "school_b")
        .order_by("state", "created_at", "pk")
    )


@dataclass(frozen=True)
class JointSide:
    school: str
    name: str  # masked
    id_number: str  # masked
    status: str
    review_id: int | None  # the 佐证 to open (bureau:evidence_detail), when in the scope
    mine: bool  # the officer's county decides this side
    decision: str


@dataclass(frozen=True)
class JointRow:
    case: JointCase
    a: JointSide
    b: JointSide


def joint_rows(*, user: User, cases: Sequence[JointCase]) -> list[JointRow]:
    """The cases as the page shows them: each side masked, read inside its school."""
    from shared_apps.bureau.selectors import access_schools
    from tenant_apps.registry.facade import masked_students

    mine = set(access_schools(user=user).values_list("pk", flat=True))
    wanted: dict[int, list[uuid.UUID]] = {}
    schools: dict[int, School] = {}
    for c in cases:
        for school, student in ((c.school_a, c.student_a), (c.school_b, c.student_b)):
            wanted.setdefault(school.pk, []).append(student)
            schools[school.pk] = school
    masked = {}
    for pk, uuids in wanted.items():
        found = masked_students(
            schema_name=schools[pk].schema_name, school_name=schools[pk].name, uuids=uuids
        )
        masked.update(found)
    labels = dict(Outcome.choices)

    def side(school: School, student: uuid.UUID, review: int | None, decision: str) -> JointSide:
        m = masked.get(student)
        return JointSide(
            school=school.name,
            name=m.name if m else "（记录已不在该校）",
            id_number=m.id_number if m else "",
            status=m.status if m else "",
            review_id=review if school.pk in mine else None,
            mine=school.pk in mine,
            decision=str(labels.get(decision, "")) if decision else "",
        )

    return [
        JointRow(
            c,
            side(c.school_a, c.student_a, c.review_a_id, c.decision_a),
            side(c.school_b, c.student_b, c.review_b_id, c.decision_b),
        )
        for c in cases
    ]


def _officer(user: User) -> Actor:
    from shared_apps.bureau.services import bureau_for_user

    return Actor(
        username=user.username, name=f"{bureau_for_user(user)}{user.full_name}", schema="public"
    )


@transaction.atomic(durable=True)
def joint_decide(*, user: User, case_id: int, outcome: str, request: object = None) -> JointCase:
    """One county's decision (both, for an officer over both counties); applied when both
    counties have decided the same."""
    from shared_apps.bureau.selectors import access_schools

    mine = set(access_schools(user=user).values_list("pk", flat=True))
    case = (
        JointCase.objects.select_for_update(of=("self",))
        .select_related("school_a", "school_b")
        .filter(pk=case_id)
        .filter(Q(school_a__in=mine) | Q(school_b__in=mine))
        .first()
    )
    if case is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if case.state == JointCase.State.DECIDED:
        raise ApplicationError(MSG_DONE, code="state")
    if case.state != JointCase.State.DECIDING:
        raise ApplicationError(MSG_WAITING, code="state")
    if outcome not in Outcome.values:
        raise ApplicationError(MSG_OUTCOME, code="invalid", extra={"outcome": [MSG_OUTCOME]})
    who = _officer(user).label
    if case.school_a_id in mine:
        case.decision_a, case.decided_a_by = outcome, who
    if case.school_b_id in mine:
        case.decision_b, case.decided_b_by = outcome, who
    agreed = case.decision_a and case.decision_a == case.decision_b
    if agreed:
        _apply(case, user)
    case.save()
    audit_record(
        request=request,
        action=WRITE,
        object_type="joint_case",
        object_id=str(case.pk),
        object_repr=f"跨县重复学籍联合认定：{case.school_a.name} / {case.school_b.name}"[:200],
        after={
            "decision": str(Outcome(outcome).label),
            "agreed": bool(agreed),
            "outcome": str(Outcome(case.outcome).label) if case.outcome else "",
        },
    )
    return case


def _apply(case: JointCase, user: User) -> None:
    """Both counties agree: each side's 佐证 accepted or returned inside its school."""
    from tenant_apps.registry.facade import evidence_decide

    actor = _officer(user)
    outcome = case.decision_a
    sides = (
        (case.school_a, case.review_a, outcome in (Outcome.BOTH, Outcome.KEEP_A)),
        (case.school_b, case.review_b, outcome in (Outcome.BOTH, Outcome.KEEP_B)),
    )
    kept = case.school_a.name if outcome == Outcome.KEEP_A else case.school_b.name
    for school, review, accept in sides:
        if review is None:
            raise ApplicationError(MSG_WAITING, code="state")
        if outcome == Outcome.BOTH:
            reason = REASON_BOTH
        else:
            reason = (REASON_KEPT if accept else REASON_DELETE).format(school=kept)
        evidence_decide(
            schema_name=school.schema_name,
            problem_id=review.problem_id,
            evidence_id=review.evidence_id,
            accept=accept,
            reason=reason,
            actor=actor,
        )
        EvidenceReview.objects.filter(pk=review.pk).update(
            state="accepted" if accept else "rejected", decided_at=timezone.now()
        )
    case.outcome, case.state, case.decided_at = outcome, JointCase.State.DECIDED, timezone.now()
