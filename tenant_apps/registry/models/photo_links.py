"""The family upload links of 照片采集 (issue 17 point 5)."""

from __future__ import annotations

from django.db import models

from tenant_apps.registry.models.students import Student


class FamilyPhotoLink(models.Model):
    """One signed link a school hands a pupil's family (per pupil, or for a whole class
    at once; also the QR code on the 学生信息核对表), good for one photo until it expires.
    Schema: each school's own. PII: none beyond the pupil it names. Written by
    registry.photos.family only.

    The link itself is never stored: only the SHA-256 of its random part (`digest`), so
    that a copy of the table opens nothing. `used_at` is set in the transaction that files
    the family's photo as pending, under a row lock: a second submission finds it set."""

    student = models.ForeignKey(
        Student, verbose_name="学生", on_delete=models.CASCADE, related_name="photo_links"
    )
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.CharField("生成人", max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField("有效期至")
    used_at = models.DateTimeField("使用时间", null=True, blank=True)

    class Meta:
        verbose_name = "家长上传照片链接"
        verbose_name_plural = "家长上传照片链接"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.student_id} · {self.expires_at:%Y-%m-%d}"
