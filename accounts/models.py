from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models

from accounts.roles import rights_for_roles


class User(AbstractUser):
    """A person who logs in. Schema: public (bureau and platform staff) and every school
    (school staff, username = staff number, unique per school). PII: name and phone.
    Written by accounts.services only.
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

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self) -> str:
        return f"{self.full_name}（{self.username}）"

    @cached_property
    def role_codes(self) -> frozenset[str]:
        return frozenset(self.groups.values_list("name", flat=True))

    @cached_property
    def rights(self) -> frozenset[str]:
        if not self.is_active:
            return frozenset()
        return rights_for_roles(set(self.role_codes))

    def has_right(self, right: str) -> bool:
        return right in self.rights
