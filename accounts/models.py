from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.db import models
from knox.models import AbstractAuthToken

from accounts.roles import rights_for_roles


class User(AbstractUser):  # type: ignore[django-manager-missing]
    """A person who logs in. Schema: public (bureau and platform staff) and every school
    (school staff, username = staff number, unique per school). PII: name and phone.
    Written by accounts.services and accounts.login only.
    """

    full_name = models.CharField("姓名", max_length=50)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    # Bureau and platform staff see only the schools under this region; school staff have none.
    region = models.ForeignKey(
        "regions.Region",
        verbose_name="管辖区域",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    must_change_password = models.BooleanField("首次登录须修改密码", default=True)
    # Account security (lockout after repeated failures, optional TOTP second factor).
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_enabled = models.BooleanField("已启用两步验证", default=False)
    # Function rights granted on top of the roles' shared rights (accounts.rights).
    extra_rights = ArrayField(
        models.CharField(max_length=40), verbose_name="附加功能权限", default=list, blank=True
    )

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self) -> str:
        return f"{self.full_name}（{self.username}）"

    @cached_property
    def role_codes(self) -> frozenset[str]:
        # RoleAwareBackend annotates the names when it loads the request's user.
        preloaded = getattr(self, "role_names", None)
        if preloaded is not None:
            return frozenset(n for n in preloaded if n)
        return frozenset(self.groups.values_list("name", flat=True))

    @cached_property
    def group_rights(self) -> frozenset[str]:
        """The shared rights of the user groups (用户组) the account is a member of."""
        if self.pk is None:
            return frozenset()
        # The request's user comes with them (backends.rights_annotations).
        preloaded = getattr(self, "group_right_names", None)
        if preloaded is not None:
            return frozenset(preloaded)
        granted: set[str] = set()
        for rights in UserGroup.objects.filter(members=self).values_list("rights", flat=True):
            granted.update(rights)
        return frozenset(granted)

    @cached_property
    def rights(self) -> frozenset[str]:
        if not self.is_active:
            return frozenset()
        return (
            rights_for_roles(set(self.role_codes))
            | frozenset(self.extra_rights)
            | self.group_rights
        )

    def has_right(self, right: str) -> bool:
        return right in self.rights


class UserGroup(models.Model):
    """A user group (用户组) the school administrator keeps: shared function rights that
    every member inherits (domain.md §1.2), within the rights school roles may hold; the
    registrar is never made through a group. The default 全体教师 is the role of that
    name, not a row. Schema: each school's own (the public table stays empty). No PII.
    Written by accounts.groups only."""

    name = models.CharField("用户组名称", max_length=40, unique=True)
    rights = ArrayField(
        models.CharField(max_length=40), verbose_name="共享功能权限", default=list, blank=True
    )
    members = models.ManyToManyField(
        User, verbose_name="成员", related_name="user_groups", blank=True
    )
    created_by = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "用户组"
        verbose_name_plural = "用户组"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserSession(models.Model):
    """One signed-in browser session of a user, so the user can see and end them.
    Schema: wherever the user lives. Written by accounts.sessions at login/logout."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "登录会话"
        verbose_name_plural = "登录会话"
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.session_key[:6]}"


class ApiToken(AbstractAuthToken):
    """An API token of one named client of a user (django-rest-knox's token model,
    settings.KNOX_TOKEN_MODEL): only the digest is stored, never the token. Schema:
    wherever the user lives, so a token is unknown on every other host. Expires
    (settings.API_TOKEN_HOURS); listed with the sessions under "我的登录". Written by
    accounts.sessions only (issue, revoke) and by the authentication class (last use)."""

    # An integer key for lists and revoke links; knox finds tokens by token_key/digest.
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=128, unique=True)
    client = models.CharField("客户端", max_length=60)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "接口令牌"
        verbose_name_plural = "接口令牌"
        constraints = [
            models.UniqueConstraint(fields=["user", "client"], name="accounts_one_token_per_client")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.client}"


class AuditEntry(models.Model):
    """One write or sensitive read, kept as proof. Schema: the school's own for school
    users, public for bureau and platform staff. Append-only: a database trigger refuses
    UPDATE and DELETE except for the retention purge (accounts.audit.audit_purge).
    PII: the before/after values of what changed. Written by accounts.audit only."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    username = models.CharField(max_length=150, db_index=True)
    user_display = models.CharField(max_length=100, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    school = models.CharField("学校", max_length=63)  # schema name of the school acted in
    action = models.CharField(max_length=40, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    method = models.CharField(max_length=8, blank=True)
    path = models.CharField(max_length=300, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "审计日志"
        verbose_name_plural = "审计日志"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action}"


class RegistrarTerm(models.Model):
    """One term of office of the school's 学籍管理员: one per school at a time (domain.md
    §1.2). Schema: each school's own (accounts is in both schemas; the public table stays
    empty). No PII. Written by accounts.rights.registrar_appoint only."""

    user = models.ForeignKey(
        User, verbose_name="学籍管理员", on_delete=models.PROTECT, related_name="registrar_terms"
    )
    started_at = models.DateTimeField("任期开始")
    ended_at = models.DateTimeField("任期结束", null=True, blank=True)
    appointed_by = models.CharField("任命人", max_length=80, blank=True)

    class Meta:
        verbose_name = "学籍管理员任期"
        verbose_name_plural = "学籍管理员任期"
        ordering = ["-started_at", "-id"]
        constraints = [
            # At most one open term (ended_at NULL) per school.
            models.UniqueConstraint(
                fields=["ended_at"],
                condition=models.Q(ended_at__isnull=True),
                nulls_distinct=False,
                name="accounts_one_open_registrar_term",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.started_at:%Y-%m-%d}"
