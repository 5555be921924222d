"""关键数据变更: an application to change a key field of a record past the school audit
(domain §3.19). Schema: each school's own. Written by registry.keydata.services and, on
the case engine's completion, registry.keydata.hooks."""

from __future__ import annotations

from django.db import models

from tenant_apps.registry.models.students import Student


class KeyDataChange(models.Model):
    """One application: the key fields it changes, old and new, with its proof; the
    approval chain is the public business case it names. Schema: each school's own. PII:
    the old and new values (names, ID numbers) in `values`; never copied to the case."""

    class State(models.TextChoices):
        OPEN = "open", "审批中"
        DONE = "done", "已生效"
        REJECTED = "rejected", "未通过"
        WITHDRAWN = "withdrawn", "已撤回"

    student = models.ForeignKey(
        Student, verbose_name="学生", on_delete=models.PROTECT, related_name="key_changes"
    )
    # {field key: [old, new]} as text (dates ISO), only the fields that change.
    values = models.JSONField("变更内容", default=dict)
    reason = models.CharField("变更原因", max_length=500)
    # Masked summaries of suspected duplicates the new values found at submission, for the
    # approvers (an exact duplicate refuses the application instead).
    suspected = models.JSONField(default=list)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    case_id = models.UUIDField("业务编号", null=True, unique=True)
    case_number = models.CharField(max_length=20, blank=True)
    created_by = models.CharField(max_length=80)
    created_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=200, blank=True)
    close_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "关键数据变更"
        verbose_name_plural = "关键数据变更"
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open application per student: a second would be decided on stale values.
            models.UniqueConstraint(
                fields=["student"],
                condition=models.Q(state="open"),
                name="registry_keydata_one_open",
            )
        ]

    def __str__(self) -> str:
        return self.case_number or f"关键数据变更 {self.pk}"


class KeyDataEvidence(models.Model):
    """A proof of a key-data change (户口簿, ID card copy: JPG/PNG/PDF ≤ 2 MB under the
    school's prefix). Schema: each school's own. PII (scans)."""

    change = models.ForeignKey(KeyDataChange, on_delete=models.CASCADE, related_name="evidence")
    file_key = models.CharField(max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    uploaded_by = models.CharField(max_length=200)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "关键数据变更佐证"
        verbose_name_plural = "关键数据变更佐证"
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name
