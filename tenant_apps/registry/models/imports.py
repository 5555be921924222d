"""Import batches (one uploaded workbook and its dry run). Schema: each school's own.
Re-exported by registry.models."""

from __future__ import annotations

import uuid

from django.db import models


class ImportBatch(models.Model):
    """One uploaded workbook and its dry run. Schema: each school's own. The valid,
    normalised rows wait in storage (payload_key) until the user confirms; nothing is
    written to students before that. Written by registry.imports.pipeline."""

    class State(models.TextChoices):
        VALIDATING = "validating", "校验中"
        READY = "ready", "待确认"
        COMMITTING = "committing", "写入中"
        COMMITTED = "committed", "已导入"
        CANCELLED = "cancelled", "已取消"
        FAILED = "failed", "失败"

    class Mode(models.TextChoices):
        VALID_ONLY = "valid_only", "只导入正确的行"
        ALL_OR_NOTHING = "all_or_nothing", "全部正确才导入"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job_id = models.UUIDField(null=True)
    filename = models.CharField(max_length=200)
    fmt = models.CharField(max_length=5)
    file_key = models.CharField(max_length=300)
    payload_key = models.CharField(max_length=300, blank=True)
    annotated_key = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.VALIDATING)
    mode = models.CharField(max_length=16, choices=Mode.choices, blank=True)
    counts = models.JSONField(default=dict)
    errors = models.JSONField(default=list)  # [{row, key, header, value, message, kind}]
    duplicates = models.JSONField(default=list)  # [{row, kind, rule, other: masked summary}]
    created_by = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "导入批次"
        verbose_name_plural = "导入批次"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename
