"""User groups (用户组管理, domain.md §1.2, §1.3 item 5): the school administrator keeps a
few groups, each with shared function rights its members inherit (User.group_rights).

* Rights are school rights only (what the school's roles may hold), deny by default; the
  学籍管理员 is a role appointed per term (accounts.rights.registrar_appoint), never a
  group right.
* The default group 全体教师 has no row and no member list: every active account that
  teaches (a role in accounts.roles.DEFAULT_GROUP_ROLES: 班主任, 任课教师, or 全体教师
  for a teacher without a class or course yet) is a member, so a new teacher is in it
  from the moment the account gets its role and leaves it when disabled or the role is
  taken away. Its rights are the platform's (ROLE_RIGHTS[ALL_TEACHERS]); the school can
  change neither.
* Few groups: the seed warns against many; from GROUPS_WARN_FROM on the page says so.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import QuerySet

from accounts.models import User, UserGroup
from accounts.roles import DEFAULT_GROUP_ROLES, SCHOOL_RIGHTS, Role
from common.actor import Actor
from common.exceptions import ApplicationError

GROUPS_WARN_FROM = 5
DEFAULT_GROUP_NAME = Role.ALL_TEACHERS.label  # 全体教师

MSG_NAME = "用户组名称：请填写，不超过 40 个字。"
MSG_NAME_TAKEN = "用户组名称：“{name}”已存在。"
MSG_NAME_DEFAULT = "用户组名称：“全体教师”是默认用户组，由系统维护，不能新建或改名为它。"
MSG_RIGHTS = "共享功能权限：只能选择本校角色可拥有的功能权限。"
MSG_MEMBERS = "成员：所选用户不在本校用户中。"
MSG_NOT_FOUND = "未找到该用户组。"
MSG_SCHOOL_ONLY = "用户组只在学校中设置。"


def default_group_members() -> QuerySet[User]:
    """The members of 全体教师, computed: the active accounts holding a teaching role."""
    return (
        User.objects.filter(is_active=True, groups__name__in=DEFAULT_GROUP_ROLES)
        .distinct()
        .order_by("username")
    )


def _school_only() -> None:
    if connection.schema_name == "public":
        raise ApplicationError(MSG_SCHOOL_ONLY, code="invalid")


def _clean(
    name: str, rights: Iterable[str], *, exclude: int | None = None
) -> tuple[str, list[str]]:
    name = " ".join((name or "").split())
    if not name or len(name) > 40:
        raise ApplicationError(MSG_NAME, extra={"name": [MSG_NAME]})
    if name == DEFAULT_GROUP_NAME:
        raise ApplicationError(MSG_NAME_DEFAULT, extra={"name": [MSG_NAME_DEFAULT]})
    taken = UserGroup.objects.filter(name=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        message = MSG_NAME_TAKEN.format(name=name)
        raise ApplicationError(message, code="duplicate", extra={"name": [message]})
    wanted = {str(r) for r in rights}
    if wanted - SCHOOL_RIGHTS:
        raise ApplicationError(MSG_RIGHTS, extra={"rights": [MSG_RIGHTS]})
    return name, sorted(wanted)


def _members(user_ids: Iterable[int]) -> list[User]:
    ids = {int(i) for i in user_ids}
    users = list(User.objects.filter(pk__in=ids))
    if len(users) != len(ids):
        raise ApplicationError(MSG_MEMBERS, extra={"members": [MSG_MEMBERS]})
    return users


@transaction.atomic
def group_create(
    *, name: str, rights: Iterable[str], member_ids: Iterable[int] = (), actor: Actor
) -> UserGroup:
    _school_only()
    name, wanted = _clean(name, rights)
    group = UserGroup.objects.create(name=name, rights=wanted, created_by=actor.label[:80])
    group.members.set(_members(member_ids))
    return group


@transaction.atomic
def group_update(
    *, group_id: int, name: str, rights: Iterable[str], member_ids: Iterable[int], actor: Actor
) -> UserGroup:
    """Rename, replace the shared rights and the members (the page's one form)."""
    _school_only()
    group = UserGroup.objects.select_for_update().filter(pk=group_id).first()
    if group is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    group.name, group.rights = _clean(name, rights, exclude=group.pk)
    group.save(update_fields=["name", "rights"])
    group.members.set(_members(member_ids))
    return group


@transaction.atomic
def group_delete(*, group_id: int, actor: Actor) -> str:
    """Members lose the group's rights at once; returns the name."""
    group = UserGroup.objects.select_for_update().filter(pk=group_id).first()
    if group is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    name = group.name
    group.delete()
    return name
