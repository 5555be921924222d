from __future__ import annotations

from django.db import models
from django.utils import timezone


class SchoolBackup(models.Model):
    """One backup of one school: a pg_dump (custom format) of the school's schema and
    nothing else, kept in storage under the public prefix (platform/backups/<schema>/).
    Schema: public. Holds no school data itself, only where the dump is, how big, its
    SHA-256, when and by whom. Written by backups.dump only.
    """

    class Kind(models.TextChoices):
        MANUAL = "manual", "手动备份"
        NIGHTLY = "nightly", "每日自动备份"

    school = models.ForeignKey(
        "tenants.School", on_delete=models.PROTECT, related_name="backups", verbose_name="学校"
    )
    key = models.CharField("存储位置", max_length=300, unique=True)  # full object key
    size = models.PositiveBigIntegerField("大小（字节）")
    sha256 = models.CharField(max_length=64)
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    # "<username>@<schema>" of whoever asked (a school's admin or bureau/platform staff);
    # empty for the nightly job.
    created_by = models.CharField("操作人", max_length=150, blank=True)
    created_at = models.DateTimeField("备份时间", default=timezone.now)

    class Meta:
        verbose_name = "学校备份"
        verbose_name_plural = "学校备份"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["school", "-created_at"])]

    def __str__(self) -> str:
        return self.key
