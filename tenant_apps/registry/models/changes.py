"""In-school status changes (学籍异动) and their evidence. Schema: each school's own.
Re-exported by registry.models."""

from __future__ import annotations

from django.db import models

from tenant_apps.registry.models.classes import SchoolClass
from tenant_apps.registry.models.students import Student


class StatusChange(models.Model):
    """An in-school status change (学籍异动: 休学, 复学, 退学, 死亡 …) of one student.
    Schema: each school's own. PII: only through the student; the reason text may name
    circumstances. The approval itself is a public business case (transfers.Case,
    `case_id`); `state` mirrors it for lists. Written by registry.changes.services and
    registry.changes.hooks only."""

    class Kind(models.TextChoices):
        # Codes shared with transfers.CaseKind (domain.md §4.1, codes ours).
        SUSPEND = "SUSPEND", "休学"
        RESUME = "RESUME", "复学"
        WITHDRAW = "WITHDRAW", "退学"
        DROPOUT = "DROPOUT", "流失（辍学）"
        DEATH = "DEATH", "死亡"
        ABROAD = "ABROAD", "出国（境）"
        RETURN_FROM_ABROAD = "RETURN_FROM_ABROAD", "回国复学"
        MISSING = "MISSING", "失踪"
        OTHER_LEAVE = "OTHER_LEAVE", "其他离校"
        OTHER = "OTHER", "其他"
        # Changes of class or grade (domain.md §3.7, §4.1): the pupil stays 在读, the
        # record moves to `to_class` (调班 inside the grade; 跳级/留级 one grade up/down).
        CLASS_CHANGE = "CLASS_CHANGE", "调班"
        SKIP_GRADE = "SKIP_GRADE", "跳级"
        REPEAT_GRADE = "REPEAT_GRADE", "留级"
        # 退学 → 在读 again, into `to_class` (a class of the current school year).
        RESTORE = "RESTORE", "恢复入学资格"

    class State(models.TextChoices):
        OPEN = "open", "审批中"
        DONE = "done", "已生效"
        REJECTED = "rejected", "未通过"
        WITHDRAWN = "withdrawn", "已撤回"

    student = models.ForeignKey(
        Student, verbose_name="学生", on_delete=models.PROTECT, related_name="status_changes"
    )
    kind = models.CharField("异动类型", max_length=24, choices=Kind.choices)
    change_date = models.DateField("异动日期")
    reason_code = models.CharField("异动原因", max_length=2, blank=True)
    reason_text = models.CharField("异动说明", max_length=500, blank=True)
    leave_from = models.DateField("休学开始日期", null=True, blank=True)
    leave_to = models.DateField("休学截止日期", null=True, blank=True)
    from_status = models.CharField("异动前状态", max_length=2, choices=Student.Status.choices)
    to_status = models.CharField("异动后状态", max_length=2, choices=Student.Status.choices)
    # The class before and the class chosen (调班, 跳级, 留级, 恢复入学资格 only); the
    # completion moves the record there if it is still in `from_class`.
    from_class = models.ForeignKey(
        SchoolClass,
        verbose_name="原班级",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_class = models.ForeignKey(
        SchoolClass,
        verbose_name="转入班级",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    case_id = models.UUIDField("业务编号", null=True, unique=True)
    case_number = models.CharField("业务单号", max_length=30, blank=True)
    state = models.CharField(
        "办理状态", max_length=10, choices=State.choices, default=State.OPEN, db_index=True
    )
    created_by = models.CharField("申请人", max_length=150)
    created_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=200, blank=True)
    close_reason = models.CharField("审批意见", max_length=300, blank=True)

    class Meta:
        verbose_name = "学籍异动"
        verbose_name_plural = "学籍异动"
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one open change per student, whatever the pages allow.
            models.UniqueConstraint(
                fields=["student"],
                condition=models.Q(state="open"),
                name="registry_status_change_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.student_id}"


class ChangeEvidence(models.Model):
    """A proof file of a status change (JPG/PNG/PDF ≤ 2 MB, stored under the school's
    prefix). Schema: each school's own. PII (scans). Written by registry.changes.services."""

    change = models.ForeignKey(StatusChange, on_delete=models.CASCADE, related_name="evidence")
    file_key = models.CharField(max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    uploaded_by = models.CharField(max_length=200)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "异动佐证"
        verbose_name_plural = "异动佐证"
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name
