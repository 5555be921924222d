"""The registry's side of 权限设置 (accounts.rights knows no class): saving an account's
roles, function rights and class rights together, and the classes that two or more
ordinary users can write (交叉授权), registered with accounts.rights in
RegistryConfig.ready().
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import transaction

from accounts.models import User
from accounts.rights import (
    CrossAuthorisation,
    ordinary_users,
    register_cross_authorisation_source,
    user_rights_set,
)
from accounts.roles import Right
from common.actor import Actor


@transaction.atomic
def user_access_set(
    *,
    user_id: int,
    roles: Iterable[str],
    extra_rights: Iterable[str],
    class_access: Mapping[int, str],
    actor: Actor,
) -> User:
    """The 权限设置 page's save: roles, function rights and class rights of one account,
    in one transaction."""
    from tenant_apps.registry.policy.rules import class_rights_set

    user = user_rights_set(user_id=user_id, roles=roles, extra_rights=extra_rights, actor=actor)
    class_rights_set(username=user.username, access=class_access)
    return user


def class_cross_authorisations() -> list[CrossAuthorisation]:
    """Classes two or more ordinary users can write (domain.md §1.3.3: each class should
    have exactly one writer): the class teacher and every ClassRight with write access of
    users holding 修改本班学籍, and every class for an ordinary user granted 维护学籍."""
    from tenant_apps.registry.models import ClassRight, SchoolClass

    ordinary = ordinary_users()
    own_writers = {n for n, u in ordinary.items() if u.has_right(Right.REGISTRY_EDIT_OWN)}
    all_writers = {n for n, u in ordinary.items() if u.has_right(Right.REGISTRY_EDIT)}
    writers: dict[int, set[str]] = {}
    names: dict[int, str] = {}
    for klass in SchoolClass.objects.all():
        names[klass.pk] = klass.name
        writers[klass.pk] = set(all_writers)
        if klass.teacher_username in own_writers:
            writers[klass.pk].add(klass.teacher_username)
    for username, class_id in ClassRight.objects.filter(can_write=True).values_list(
        "user_username", "school_class_id"
    ):
        if username in own_writers:
            writers.setdefault(class_id, set()).add(username)
    return [
        CrossAuthorisation(
            class_id=pk,
            class_name=names.get(pk, str(pk)),
            writers=tuple(str(ordinary[u]) for u in sorted(users)),
        )
        for pk, users in sorted(writers.items(), key=lambda kv: names.get(kv[0], ""))
        if len(users) >= 2
    ]


def register_rights_hooks() -> None:
    register_cross_authorisation_source(class_cross_authorisations)
