"""问题学籍 records and their evidence. Schema: each school's own. Re-exported by
registry.models."""

from __future__ import annotations

from django.db import models

from tenant_apps.registry.models.students import Student


class ProblemRecord(models.Model):
    """A 问题学籍: why the record is held, who else matched (masked), and how it ends.
    Schema: each school's own. Written by registry.students.services."""

    class Kind(models.TextChoices):
        DUPLICATE = "duplicate", "身份证件号重复"
        SUSPECTED = "suspected", "疑似重复（姓名性别出生日期或姓名拼音出生日期相同）"
        # domain §4.14: 身份证件号错误 splits into 不存在 / 与姓名不匹配 (from the national
        # verification import, bureau.verification) and 校验位错.
        ID_NOT_FOUND = "id_not_found", "身份证件号不存在"
        ID_NAME_MISMATCH = "id_name_mismatch", "身份证件号与姓名不匹配"
        ID_CHECK_DIGIT = "id_check_digit", "身份证件号校验位错误"
        NATIONAL_DUPLICATE = "national_duplicate", "全国查重重复"
        ID_CHANGED = "id_changed", "身份证件号已发生变更"

    class State(models.TextChoices):
        OPEN = "open", "待处理"
        EVIDENCE_PENDING = "evidence_pending", "佐证待教育局审核"
        RESOLVED = "resolved", "已解决"
        DELETED = "deleted", "已删除"

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="problems")
    kind = models.CharField("问题类型", max_length=20, choices=Kind.choices)
    others = models.JSONField("相关记录", default=list)  # masked summaries, never full PII
    state = models.CharField("状态", max_length=20, choices=State.choices, default=State.OPEN)
    resolution = models.CharField("处理方式", max_length=20, blank=True)
    reason = models.CharField("说明", max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "问题学籍"
        verbose_name_plural = "问题学籍"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.student_id}"


# The kinds the national check's import opens (bureau.verification): resolving one sends
# the record back to the next national check (national_check reset).
NATIONAL_KINDS = frozenset(
    {
        ProblemRecord.Kind.ID_NOT_FOUND,
        ProblemRecord.Kind.ID_NAME_MISMATCH,
        ProblemRecord.Kind.ID_CHECK_DIGIT,
        ProblemRecord.Kind.NATIONAL_DUPLICATE,
        ProblemRecord.Kind.ID_CHANGED,
    }
)


class Evidence(models.Model):
    """A 佐证 file (image or PDF, stored on S3 under the school's prefix) and the
    bureau's decision, or the proof a 变更 carries (户口簿, ID copy: domain §3.4; no
    decision of its own, the record goes through the audit again). PII: the file shows
    the pupil's identity papers. Schema: each school's own. Written by
    registry.problems.services."""

    class Purpose(models.TextChoices):
        EVIDENCE = "evidence", "佐证"
        CHANGE_PROOF = "change_proof", "变更证明"

    class Decision(models.TextChoices):
        PENDING = "pending", "待审核"
        ACCEPTED = "accepted", "已通过"
        REJECTED = "rejected", "未通过"

    problem = models.ForeignKey(ProblemRecord, on_delete=models.CASCADE, related_name="evidence")
    purpose = models.CharField(
        "用途", max_length=20, choices=Purpose.choices, default=Purpose.EVIDENCE
    )
    file_key = models.CharField(max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    note = models.CharField("说明", max_length=300, blank=True)
    uploaded_by = models.CharField(max_length=80)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.CharField(max_length=80, blank=True)
    decision_reason = models.CharField(max_length=300, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "佐证材料"
        verbose_name_plural = "佐证材料"
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.original_name
