from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import F, Func, OuterRef

from accounts.models import User, UserGroup


def rights_annotations(user_ref: str = "pk") -> dict[str, ArraySubquery]:
    """What a permission check needs of the user whose key is `user_ref` (a column of the
    query's model): the names of the roles, and the shared rights of the user groups, as
    two array subqueries of the same query (User.role_codes / User.group_rights use
    them instead of a query each)."""
    return {
        "role_names": ArraySubquery(Group.objects.filter(user=OuterRef(user_ref)).values("name")),
        "group_right_names": ArraySubquery(
            UserGroup.objects.filter(members=OuterRef(user_ref))
            .annotate(right=Func(F("rights"), function="unnest"))
            .values("right")
        ),
    }


class RoleAwareBackend(ModelBackend):
    """Loads the signed-in user together with the names of his or her roles and the
    rights of his or her user groups, so that every permission check of the request is
    answered without another query."""

    def get_user(self, user_id: int) -> User | None:
        user = User.objects.annotate(**rights_annotations()).filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
