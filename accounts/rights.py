"""Who holds which rights in a school (domain.md §1.2–1.3): the registrar's term of office,
function rights granted on top of roles, and the cross-authorisation (交叉授权) check.

* 学籍管理员: one per school at a time. Appointing a new one ends the previous term in the
  same transaction (the old holder loses the role at once); creating a second one
  directly is refused (`registrar_role_guard`, called by accounts.services.user_create).
* Function rights (功能权限): `User.extra_rights`, school rights only, on top of the roles'
  shared rights. Class rights (班级管理权限) live with the classes (registry.policy.rules).
* 交叉授权: two or more ordinary users (not administrator, registrar, approver or
  principal) able to write the same class. What can be written is the school apps'
  knowledge: they register their sources (`register_cross_authorisation_source`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import RegistrarTerm, User
from accounts.roles import SCHOOL_RIGHTS, SCHOOL_ROLES, Role
from common.actor import Actor
from common.exceptions import ApplicationError

MSG_REGISTRAR_EXISTS = "本校已有学籍管理员（{name}），请使用“任命学籍管理员”，原任期将结束。"
MSG_ALREADY_REGISTRAR = "{name}已是本校学籍管理员。"
MSG_INACTIVE = "账号{name}已停用，不能任命为学籍管理员。"
MSG_NOT_FOUND = "未找到该用户。"
MSG_REGISTRAR_ROLE_HERE = "学籍管理员须通过“任命学籍管理员”设置，不能在此勾选或取消。"
MSG_OWN_ADMIN = "不能取消自己的学校系统管理员角色。"

# Users holding one of these roles are not "ordinary users" (普通用户) in the sense of
# the cross-authorisation rule: they act on the whole school by office.
PRIVILEGED_ROLES = frozenset(
    {Role.SCHOOL_ADMIN, Role.REGISTRAR, Role.SCHOOL_APPROVER, Role.PRINCIPAL}
)


def _in_school() -> bool:
    return connection.schema_name != "public"


def registrar_holders() -> list[User]:
    return list(User.objects.filter(groups__name=Role.REGISTRAR).order_by("pk").distinct())


def registrar_role_guard(roles: Iterable[str]) -> None:
    """Refuse a second 学籍管理员 created directly: it must be appointed, which ends the
    current holder's term."""
    if Role.REGISTRAR not in {str(r) for r in roles} or not _in_school():
        return
    holders = registrar_holders()
    if holders:
        raise ApplicationError(
            MSG_REGISTRAR_EXISTS.format(name="、".join(str(u) for u in holders)), code="registrar"
        )


@dataclass(frozen=True)
class CurrentRegistrar:
    user: User
    started_at: object  # datetime; the account's creation when it predates term records
    term: RegistrarTerm | None


def registrar_current() -> CurrentRegistrar | None:
    holders = registrar_holders()
    if not holders:
        return None
    term = (
        RegistrarTerm.objects.filter(ended_at__isnull=True, user__in=holders)
        .select_related("user")
        .first()
    )
    if term is not None:
        return CurrentRegistrar(term.user, term.started_at, term)
    return CurrentRegistrar(holders[0], holders[0].date_joined, None)


def registrar_terms(limit: int = 10) -> list[RegistrarTerm]:
    return list(RegistrarTerm.objects.select_related("user")[:limit])


@transaction.atomic
def registrar_appoint(*, user_id: int, actor: Actor) -> RegistrarTerm:
    """Make `user_id` the school's 学籍管理员: the previous holder loses the role and the
    term ends now; the new term starts now. One transaction, serialised on the group."""
    if not _in_school():
        raise ApplicationError("只能在学校中任命学籍管理员。", code="registrar")
    group, _ = Group.objects.get_or_create(name=Role.REGISTRAR)
    Group.objects.select_for_update().filter(pk=group.pk).first()  # one appointment at a time
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if not user.is_active:
        raise ApplicationError(MSG_INACTIVE.format(name=user), code="registrar")
    holders = registrar_holders()
    if [u.pk for u in holders] == [user.pk]:
        raise ApplicationError(MSG_ALREADY_REGISTRAR.format(name=user), code="registrar")
    now = timezone.now()
    for old in holders:
        if old.pk == user.pk:
            continue
        old.groups.remove(group)
        ended = RegistrarTerm.objects.filter(user=old, ended_at__isnull=True).update(ended_at=now)
        if not ended:
            # Made registrar before terms were recorded: keep the term in the history.
            RegistrarTerm.objects.create(
                user=old, started_at=min(old.date_joined, now), ended_at=now
            )
    RegistrarTerm.objects.filter(ended_at__isnull=True).exclude(user=user).update(ended_at=now)
    user.groups.add(group)
    term = RegistrarTerm.objects.filter(user=user, ended_at__isnull=True).first()
    if term is None:
        term = RegistrarTerm.objects.create(user=user, started_at=now, appointed_by=actor.label)
    return term


@transaction.atomic
def user_rights_set(
    *, user_id: int, roles: Iterable[str], extra_rights: Iterable[str], actor: Actor
) -> User:
    """Set an account's roles (groups, shared rights) and its function rights on top.
    The registrar role is not changed here (see registrar_appoint)."""
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    wanted_roles = {str(r) for r in roles}
    if wanted_roles - {str(r) for r in SCHOOL_ROLES}:
        raise ApplicationError("只能授予本校角色。", code="role")
    current = set(user.groups.values_list("name", flat=True))
    if (Role.REGISTRAR in wanted_roles) != (Role.REGISTRAR in current):
        raise ApplicationError(MSG_REGISTRAR_ROLE_HERE, code="registrar")
    if (
        user.username == actor.username
        and Role.SCHOOL_ADMIN in current
        and Role.SCHOOL_ADMIN not in wanted_roles
    ):
        raise ApplicationError(MSG_OWN_ADMIN, code="role")
    wanted_rights = {str(r) for r in extra_rights}
    unknown = wanted_rights - SCHOOL_RIGHTS
    if unknown:
        raise ApplicationError("只能授予本校功能权限。", code="invalid")
    user.groups.set(Group.objects.filter(name__in=wanted_roles))
    user.extra_rights = sorted(wanted_rights)
    user.save(update_fields=["extra_rights"])
    return user


# -- 交叉授权 ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CrossAuthorisation:
    class_id: int
    class_name: str
    writers: tuple[str, ...]  # "姓名（工号）" of each ordinary user who can write


def users_with_roles() -> list[User]:
    """Every account of the schema with its role names loaded in the same query, and
    the rights of its user groups in one more for all of them (User.group_rights would
    otherwise ask once per user: the class pages check every account's rights)."""
    from accounts.models import UserGroup

    users = list(
        User.objects.annotate(role_names=ArrayAgg("groups__name", default=[])).order_by("username")
    )
    granted: dict[int, set[str]] = {}
    for user_id, rights in UserGroup.members.through.objects.values_list(
        "user_id", "usergroup__rights"
    ):
        granted.setdefault(user_id, set()).update(rights or ())
    for user in users:
        # Fills the cached_property, so `rights` and `has_right` read it without a query.
        user.__dict__["group_rights"] = frozenset(granted.get(user.pk, ()))
    return users  # type: ignore[return-value]


def ordinary_users() -> dict[str, User]:
    """Active accounts without an office role, by username."""
    return {
        u.username: u
        for u in users_with_roles()
        if u.is_active and not (u.role_codes & PRIVILEGED_ROLES)
    }


CrossAuthorisationSource = Callable[[], list[CrossAuthorisation]]

_CROSS_SOURCES: list[CrossAuthorisationSource] = []


def register_cross_authorisation_source(source: CrossAuthorisationSource) -> None:
    """Add a kind of cross-authorisation (classes: the registry; course cells: grades),
    called from the owning app's AppConfig.ready(). Sources are asked in the order they
    registered, which is the apps' order in INSTALLED_APPS (registry before grades)."""
    if source not in _CROSS_SOURCES:
        _CROSS_SOURCES.append(source)


def cross_authorisations() -> list[CrossAuthorisation]:
    """Everything two or more ordinary users can write (domain.md §1.3.3: each class
    should have exactly one writer), from every registered source: the classes
    (registry.rights_hooks) then the current term's course cells (grades.rights_hooks)."""
    return [found for source in _CROSS_SOURCES for found in source()]
