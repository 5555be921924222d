"""Reads of the classes: the list with its head-counts, and which rosters a user may open."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from tenant_apps.registry.counts import in_school_q
from tenant_apps.registry.models import SchoolClass


def class_list() -> QuerySet[SchoolClass]:
    return SchoolClass.objects.annotate(
        # 在读 per class, by the one definition (registry.counts).
        student_count=Count("students", filter=in_school_q("students__"))
    ).order_by("stage", "entry_year", "number")


def listable_class_ids(user: object) -> set[int]:
    """The classes whose roster `user` may open, so that a class name is a link only
    then: a subject teacher sees the class list but no roster, a class teacher only the
    own classes (policy.student_scope), holders of 查看学籍 every class."""
    from accounts.roles import Right
    from common.permissions import as_rights, has_any_right
    from tenant_apps.registry.policy import rules as policy

    if not has_any_right(user, as_rights((Right.REGISTRY_VIEW, Right.REGISTRY_VIEW_OWN))):
        return set()
    scope = policy.student_scope(user)
    if scope is None:
        return set(SchoolClass.objects.values_list("pk", flat=True))
    return set(scope)
