"""Reads of backups, always for one school the caller already may see."""

from __future__ import annotations

from django.db.models import Count, Max, QuerySet

from accounts.models import User
from shared_apps.backups.models import SchoolBackup
from shared_apps.bureau.selectors import access_school, access_schools
from tenants.models import School


def backups_of(*, school_id: int) -> QuerySet[SchoolBackup]:
    return SchoolBackup.objects.filter(school_id=school_id).order_by("-created_at", "-id")


def backup_of(*, school_id: int, backup_id: int) -> SchoolBackup | None:
    return backups_of(school_id=school_id).filter(pk=backup_id).first()


def backup_school(*, user: User, school_id: int) -> School | None:
    """The school if the public-schema user's region covers it (operators: any school)."""
    return access_school(user=user, school_id=school_id)


def backup_schools(*, user: User) -> QuerySet[School]:
    """The user's schools with their number of backups and the time of the latest."""
    return (  # type: ignore[no-any-return]
        access_schools(user=user)
        .annotate(backup_count=Count("backups"), last_backup_at=Max("backups__created_at"))
        .order_by("code")
    )
