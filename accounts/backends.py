from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.postgres.aggregates import ArrayAgg

from accounts.models import User


class RoleAwareBackend(ModelBackend):
    """Loads the signed-in user together with the names of his or her roles, so that
    every permission check of the request is answered without another query."""

    def get_user(self, user_id: int) -> User | None:
        user = (
            User.objects.annotate(role_names=ArrayAgg("groups__name", default=[]))
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None
