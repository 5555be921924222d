"""Reads across schools, always scoped to the acting user's region."""

from __future__ import annotations

from django.db.models import QuerySet

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


def county_audit_entries(*, user: User, school_id: int | None = None) -> QuerySet[IndexEntry]:
    """Index rows awaiting the bureau (教育局审核) in the user's schools, optionally one
    school, as (school_id, student_uuid, stage, entry_year) in a stable order that pages
    can slice: school name, stage, entry year, then index row. Names live in the schools
    and are read per page (services.county_audit_rows)."""
    schools = access_schools(user=user)
    if school_id is not None:
        schools = schools.filter(pk=school_id)
    return (
        IndexEntry.objects.filter(school_id__in=schools.values("pk"), audit_state="county_pending")  # type: ignore[return-value]
        .order_by("school__name", "school_id", "stage", "entry_year", "pk")
        .values_list("school_id", "student_uuid", "stage", "entry_year")
    )


def evidence_reviews(*, user: User) -> QuerySet[EvidenceReview]:
    """Pending 佐证 reviews of the user's schools, oldest first (pages slice this)."""
    schools = access_schools(user=user).values("pk")
    return EvidenceReview.objects.filter(school_id__in=schools, state="pending").order_by("pk")
