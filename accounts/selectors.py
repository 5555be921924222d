from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User


def user_list() -> QuerySet[User]:
    """Accounts of the current schema (one school, or public) with their roles."""
    return User.objects.prefetch_related("groups").order_by("username")
