"""Business cases (学籍异动业务) and their history.

Every business that needs approval beyond one click (in-school status changes, transfers
between platform schools, transfers with the outside, junior-middle intake) is one Case
row. Schema: public. No readable PII: the student is named by the identifier of the
record in the school that holds it, and the case carries only a masked summary.
"""

from __future__ import annotations

import uuid

from django.db import models


class CaseKind(models.TextChoices):
    # Codes are ours (domain.md §4.1 lists names only, no official codes).
    SUSPEND = "SUSPEND", "休学"
    RESUME = "RESUME", "复学"
    WITHDRAW = "WITHDRAW", "退学"
    DROPOUT = "DROPOUT", "流失（辍学）"
    DEATH = "DEATH", "死亡"
    OTHER_LEAVE = "OTHER_LEAVE", "其他离校"
    OTHER = "OTHER", "其他"
    MISSING = "MISSING", "失踪"
    ABROAD = "ABROAD", "出国（境）"
    RETURN_FROM_ABROAD = "RETURN_FROM_ABROAD", "回国复学"
    CLASS_CHANGE = "CLASS_CHANGE", "调班"
    SKIP_GRADE = "SKIP_GRADE", "跳级"
    REPEAT_GRADE = "REPEAT_GRADE", "留级"
    RESTORE = "RESTORE", "恢复入学资格"
    TRANSFER = "TRANSFER", "转学（平台内）"
    TRANSFER_OUT_EXTERNAL = "TRANSFER_OUT_EXTERNAL", "转出（省外或其他系统）"
    TRANSFER_IN_EXTERNAL = "TRANSFER_IN_EXTERNAL", "转入（省外或其他系统）"
    INTAKE = "INTAKE", "初中新生档案迁移"
    INTAKE_LEFT_ELSEWHERE = "INTAKE_LEFT_ELSEWHERE", "异地离校生转入"
    INTAKE_OTHER = "INTAKE_OTHER", "其他增加"
    # A teacher (not a student) handed from one platform school to another (调出 or 借调):
    # registry.teachers.transfer opens it and writes the record on completion.
    TEACHER_TRANSFER = "TEACHER_TRANSFER", "教师跨校转移"
    # 关键数据变更 (name, ID number, sex, birth date of an audited record; domain §3.19):
    # registry.keydata opens it and changes the record on completion.
    KEY_DATA = "KEY_DATA", "关键数据变更"


class CaseState(models.TextChoices):
    OPEN = "open", "办理中"
    DONE = "done", "已办结"
    REJECTED = "rejected", "已退回"
    WITHDRAWN = "withdrawn", "已撤回"


class Case(models.Model):
    """One business case and where it stands. Schema: public. No readable PII (masked
    summary only; kind-specific data in `payload` must be non-identifying). Written by
    transfers.services only, always under a row lock."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField("业务编号", max_length=20, unique=True)
    kind = models.CharField("业务类型", max_length=30, choices=CaseKind.choices)
    school = models.ForeignKey(
        "tenants.School", verbose_name="申请学校", on_delete=models.PROTECT, related_name="+"
    )
    other_school = models.ForeignKey(
        "tenants.School",
        verbose_name="转出学校",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    student_uuid = models.UUIDField(null=True, blank=True, db_index=True)
    summary = models.JSONField("学生摘要", default=dict)
    chain = models.JSONField("审核流程", default=list)
    step = models.SmallIntegerField("当前步骤", default=0)
    state = models.CharField(
        "状态", max_length=10, choices=CaseState.choices, default=CaseState.OPEN
    )
    due_on = models.DateField("办理期限", null=True, blank=True)
    escalated = models.BooleanField("已超期上报", default=False)
    payload = models.JSONField(default=dict, blank=True)
    created_by = models.CharField("申请人", max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "异动业务"
        verbose_name_plural = "异动业务"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "due_on"]),
            models.Index(fields=["school", "state"]),
            models.Index(fields=["other_school", "state"]),
        ]
        constraints = [
            # "在办业务": at most one open case per student record, enforced by the database
            # so that two concurrent submissions cannot both pass the precondition check.
            models.UniqueConstraint(
                fields=["student_uuid"],
                condition=models.Q(state="open"),
                name="transfers_case_one_open_per_student",
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state == CaseState.OPEN

    @property
    def current(self) -> dict[str, object] | None:
        """The current step of the chain while the case is open."""
        if self.state != CaseState.OPEN or not 0 <= self.step < len(self.chain):
            return None
        return dict(self.chain[self.step])


class CaseStep(models.Model):
    """One entry of a case's history (submit, approve, reject, withdraw, escalate,
    complete). Schema: public. No PII. Append-only; written by transfers.services."""

    class Action(models.TextChoices):
        SUBMIT = "submit", "提交申请"
        APPROVE = "approve", "审核通过"
        REJECT = "reject", "退回"
        WITHDRAW = "withdraw", "撤回"
        ESCALATE = "escalate", "超期上报"
        COMPLETE = "complete", "办结"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField("操作人", max_length=200)  # "username@schema"
    action = models.CharField("操作", max_length=10, choices=Action.choices)
    step = models.SmallIntegerField("步骤")
    note = models.CharField("意见", max_length=500, blank=True)

    class Meta:
        verbose_name = "异动业务记录"
        verbose_name_plural = "异动业务记录"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.action}"


class Counter(models.Model):
    """Named counters for human numbers: case numbers per day (YD20261204…) and transfer
    certificate numbers per school and year. Schema: public. No PII. Written by
    transfers.services.counter_next under a row lock (INSERT … ON CONFLICT)."""

    key = models.CharField(max_length=60, primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "编号计数器"
        verbose_name_plural = "编号计数器"

    def __str__(self) -> str:
        return f"{self.key}:{self.last}"
