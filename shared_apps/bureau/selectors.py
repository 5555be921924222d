"""Reads across schools, always scoped to the acting user's region."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, F, QuerySet, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import User
from accounts.roles import Role
from shared_apps.bureau.models import EvidenceReview
from shared_apps.regions.models import Bureau, Region
from shared_apps.student_index.models import IndexEntry
from tenants.models import School


def scope_region(user: User) -> Region | None:
    """The region a public-schema user governs; None means the whole platform."""
    return user.region


def access_schools(*, user: User) -> QuerySet[School]:
    """Schools the user may see: those under the user's region; none without a scope.

    Platform operators (no region) see every school, bureau staff only their own region.
    """
    qs = School.objects.schools().select_related("county", "stats")
    if user.region_id:
        return qs.filter(county__code__startswith=user.region.prefix)  # type: ignore[union-attr]
    if Role.PLATFORM_OPERATOR in user.role_codes:
        return qs
    return qs.none()


def access_school(*, user: User, school_id: int) -> School | None:
    return access_schools(user=user).filter(pk=school_id).first()


def bureau_list() -> QuerySet[Bureau]:
    return Bureau.objects.select_related("region").order_by("region_id")


def bureau_for(user: User) -> Bureau | None:
    if not user.region_id:
        return None
    return Bureau.objects.filter(region_id=user.region_id).first()


def counties_under(region: Region | None) -> QuerySet[Region]:
    qs = Region.objects.filter(level=Region.Level.COUNTY)
    if region is not None:
        qs = qs.filter(code__startswith=region.prefix)
    return qs.order_by("code")


# -- the county's audit queue (学籍审核, 佐证审核) ----------------------------------------

KIND_REGISTRATION = "registration"
KIND_EVIDENCE = "evidence"
# Labels as msgids: pages translate them ({% trans %}), the API answers in Chinese.
QUEUE_KINDS = (
    (KIND_REGISTRATION, gettext_noop("学籍注册审核")),
    (KIND_EVIDENCE, gettext_noop("佐证材料审核")),
)
MAX_WAIT_DAYS = 3650  # a longer "waited at least" is a typo, not a filter


@dataclass(frozen=True)
class QueueFilter:
    """The queue's filters, from a page's or the API's query parameters (bad values are
    ignored): one school, items that waited at least `min_days` days, one kind."""

    school_id: int | None = None
    min_days: int | None = None
    kind: str = ""

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> QueueFilter:
        school = str(params.get("school_id") or "").strip()
        days = str(params.get("min_days") or "").strip()
        kind = str(params.get("kind") or "").strip()
        return cls(
            school_id=int(school) if school.isdigit() else None,
            min_days=min(int(days), MAX_WAIT_DAYS) if days.isdigit() and int(days) else None,
            kind=kind if kind in dict(QUEUE_KINDS) else "",
        )

    def query(self) -> dict[str, str]:
        """The filters as query parameters (only those set), for page links."""
        values = {
            "school_id": str(self.school_id or ""),
            "min_days": str(self.min_days or ""),
            "kind": self.kind,
        }
        return {k: v for k, v in values.items() if v}

    def cutoff(self) -> dt.datetime | None:
        """Items waiting since this moment or earlier have waited `min_days` days."""
        if not self.min_days:
            return None
        return timezone.now() - dt.timedelta(days=self.min_days)


def county_audit_entries(
    *, user: User, school_id: int | None = None, min_days: int | None = None
) -> QuerySet[IndexEntry]:
    """Index rows awaiting the bureau (教育局审核) in the user's schools, optionally one
    school and only those that waited at least `min_days` days, oldest first, as
    (school_id, student_uuid, stage, entry_year, waiting since): every one of them, in an
    order pages can slice. The index entry's updated_at is stamped when the school's
    audit passes it on (registry.students.approval), so it is when the wait began. Names
    live in the schools and are read per page (services.county_audit_rows)."""
    flt = QueueFilter(school_id=school_id, min_days=min_days)
    return (
        _registrations_pending(user=user, flt=flt)  # type: ignore[return-value]
        .order_by("updated_at", "pk")
        .values_list("school_id", "student_uuid", "stage", "entry_year", "updated_at")
    )


def _registrations_pending(*, user: User, flt: QueueFilter) -> QuerySet[IndexEntry]:
    schools = access_schools(user=user)
    if flt.school_id is not None:
        schools = schools.filter(pk=flt.school_id)
    entries = IndexEntry.objects.filter(
        school_id__in=schools.values("pk"), audit_state="county_pending"
    )
    cutoff = flt.cutoff()
    if cutoff is not None:
        entries = entries.filter(updated_at__lte=cutoff)
    return entries


def _evidence_pending(
    *, user: User, flt: QueueFilter, joint: bool = False
) -> QuerySet[EvidenceReview]:
    """Pending reviews of the user's schools; `joint` also those of cross-county cases
    (bureau.joint), which the queue leaves out but the joint page opens."""
    schools = access_schools(user=user)
    if flt.school_id is not None:
        schools = schools.filter(pk=flt.school_id)
    reviews = EvidenceReview.objects.filter(school_id__in=schools.values("pk"), state="pending")
    if not joint:
        reviews = reviews.filter(joint=False)
    cutoff = flt.cutoff()
    if cutoff is not None:
        reviews = reviews.filter(submitted_at__lte=cutoff)
    return reviews


def county_queue(*, user: User, flt: QueueFilter) -> QuerySet[Any]:
    """Everything awaiting the county in the user's schools under `flt`, both kinds in
    one list, oldest first, as (kind, school_id, ref, student_uuid, waiting since): ref
    is the student's uuid for a registration and the review's id for a 佐证. One query
    (UNION ALL of the index and the review table, both public), so pages slice it and
    count it without reading any school; names are read per page inside the schools."""
    columns = ("q_kind", "q_school", "q_ref", "q_student", "q_since")
    parts: list[QuerySet[Any]] = []
    if flt.kind in ("", KIND_REGISTRATION):
        parts.append(
            _registrations_pending(user=user, flt=flt)
            .order_by()
            .annotate(
                q_kind=Value(KIND_REGISTRATION, output_field=CharField()),
                q_school=F("school_id"),
                q_ref=Cast("student_uuid", output_field=CharField()),
                q_student=F("student_uuid"),
                q_since=F("updated_at"),
            )
            .values_list(*columns)
        )
    if flt.kind in ("", KIND_EVIDENCE):
        parts.append(
            _evidence_pending(user=user, flt=flt)
            .order_by()
            .annotate(
                q_kind=Value(KIND_EVIDENCE, output_field=CharField()),
                q_school=F("school_id"),
                q_ref=Cast("pk", output_field=CharField()),
                q_student=F("student_uuid"),
                q_since=F("submitted_at"),
            )
            .values_list(*columns)
        )
    first, *rest = parts
    combined = first.union(*rest, all=True) if rest else first
    return combined.order_by("q_since", "q_kind", "q_ref")


def evidence_reviews(*, user: User, flt: QueueFilter | None = None) -> QuerySet[EvidenceReview]:
    """Pending 佐证 reviews of the user's schools under `flt`, oldest first (pages slice
    this)."""
    return _evidence_pending(user=user, flt=flt or QueueFilter()).order_by("submitted_at", "pk")


def evidence_review_for(*, user: User, review_id: int) -> EvidenceReview | None:
    """The pending review `review_id` if it belongs to one of the user's schools."""
    return _evidence_pending(user=user, flt=QueueFilter(), joint=True).filter(pk=review_id).first()
