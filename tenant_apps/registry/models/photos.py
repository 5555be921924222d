"""Student photos (照片采集, domain.md §3.13): one current photo per student and its history.
Schema: each school's own. Re-exported by registry.models; written by
registry.photos.services only.

The files live on the school's storage (tenants.storage: the school's key prefix, an
unguessable name) and are only ever handed out as signed `/files/<token>/` links
(registry.photos.selectors). A row keeps two files: `file_key`, the national file
(358 × 441 baseline JPEG under the byte limit, made by photos.normalise), and
`original_key`, what was uploaded, so that the registrar can compare the two before
deciding and a later normalisation can be redone from the source.
"""

from __future__ import annotations

from django.db import models

from tenant_apps.registry.models.students import Student


class StudentPhoto(models.Model):
    """One photo of one student, at one point of its life: staged (pending) until someone
    of the school accepts it, then current until the next one replaces it, or rejected.
    At most one current photo per student (a partial unique index). Schema: each
    school's own. PII: the photo itself (the objects the keys name), who uploaded it."""

    # Stored objects a transfer copies with the row (registry.facade.move).
    TRANSFER_FILES = ("file_key", "original_key")

    class Status(models.TextChoices):
        PENDING = "pending", "待确认"
        CURRENT = "current", "在用"
        REPLACED = "replaced", "已替换"
        REJECTED = "rejected", "已放弃"

    class Source(models.TextChoices):
        UPLOAD = "upload", "单张上传"
        BULK = "bulk", "批量导入"
        FAMILY = "family", "家长上传"

    student = models.ForeignKey(
        Student, verbose_name="学生", on_delete=models.CASCADE, related_name="photos"
    )
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    source = models.CharField("来源", max_length=10, choices=Source.choices)
    file_key = models.CharField(max_length=300)  # the national file
    original_key = models.CharField(max_length=300, blank=True)  # the upload as received
    # [{"code": "background", "message": "背景不是淡蓝色……"}, ...] from normalise()
    warnings = models.JSONField("提示", default=list, blank=True)
    quality = models.PositiveSmallIntegerField("JPEG 质量", default=0)
    bytes = models.PositiveIntegerField("文件大小")
    faces = models.PositiveSmallIntegerField("检出人脸数", default=0)
    source_format = models.CharField("原图格式", max_length=10, blank=True)
    source_width = models.PositiveIntegerField("原图宽", default=0)
    source_height = models.PositiveIntegerField("原图高", default=0)
    original_name = models.CharField("原文件名", max_length=200, blank=True)
    created_by = models.CharField("上传人", max_length=150)
    created_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    decided_by = models.CharField("确认人", max_length=150, blank=True)
    decided_at = models.DateTimeField("确认时间", null=True, blank=True)
    replaced_at = models.DateTimeField("替换时间", null=True, blank=True)

    class Meta:
        verbose_name = "学生照片"
        verbose_name_plural = "学生照片"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student"],
                condition=models.Q(status="current"),
                name="registry_photo_one_current",
            ),
        ]
        indexes = [models.Index(fields=["status", "student"], name="registry_photo_status")]

    def __str__(self) -> str:
        return f"{self.student_id}:{self.status}:{self.pk}"

    @property
    def warning_messages(self) -> list[str]:
        return [str(w.get("message", "")) for w in self.warnings or [] if isinstance(w, dict)]
