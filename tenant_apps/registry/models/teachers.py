"""Teacher records (教师信息管理, issue 13 point 4). Re-exported by registry.models, which
Django imports for the registry app; written only by registry.teachers.services and
registry.teachers.workbook (the import)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TeacherTitle(models.TextChoices):
    """职称: the unified title ladder of primary and secondary teachers (2015 reform)."""

    SENIOR_FULL = "senior_full", "正高级教师"
    SENIOR = "senior", "高级教师"
    FIRST = "first", "一级教师"
    SECOND = "second", "二级教师"
    THIRD = "third", "三级教师"
    NONE = "none", "未评职称"


class Employment(models.TextChoices):
    """用工形式."""

    ESTABLISHED = "established", "在编"
    CONTRACT = "contract", "合同制"
    SUBSTITUTE = "substitute", "代课"
    REHIRED = "rehired", "退休返聘"
    OTHER = "other", "其他"


class TeacherStatus(models.TextChoices):
    """任职状态. Only 在职 and 借调 count as serving (a lent teacher still belongs to the
    school); the others are kept, read-only in lists, for the history."""

    ACTIVE = "active", "在职"
    LENT = "lent", "借调"
    LEFT = "left", "离职"
    RETIRED = "retired", "退休"
    TRANSFERRED = "transferred", "调出"


SERVING_STATUSES = frozenset({TeacherStatus.ACTIVE, TeacherStatus.LENT})


class Teacher(models.Model):
    """One staff member of the school (教职工). Schema: each school's own; nothing of it
    leaves the school. PII: name, ID number and phone (masked in lists, exports and
    audit entries). `user` is the school's account with the same staff number, when
    there is one. Written by registry.teachers.services and .workbook only."""

    staff_no = models.CharField("工号", max_length=30, unique=True)
    name = models.CharField("姓名", max_length=50)
    sex = models.CharField("性别", max_length=1, choices=[("1", "男"), ("2", "女")])
    id_number = models.CharField("身份证号", max_length=18, blank=True)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    subject = models.CharField("任教学科", max_length=30, blank=True)
    title = models.CharField(
        "职称", max_length=12, choices=TeacherTitle.choices, default=TeacherTitle.NONE
    )
    employment = models.CharField(
        "用工形式", max_length=12, choices=Employment.choices, default=Employment.ESTABLISHED
    )
    status = models.CharField(
        "任职状态", max_length=12, choices=TeacherStatus.choices, default=TeacherStatus.ACTIVE
    )
    status_note = models.CharField("状态说明", max_length=200, blank=True)
    status_since = models.DateField("状态起始日期", null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="teacher",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "教师"
        verbose_name_plural = "教师"
        ordering = ["staff_no"]
        constraints = [
            # Two records with one ID number would be the same person twice.
            models.UniqueConstraint(
                fields=["id_number"],
                condition=~models.Q(id_number=""),
                name="registry_teacher_id_number_unique",
            )
        ]
        indexes = [models.Index(fields=["name"], name="registry_teacher_name_idx")]

    def __str__(self) -> str:
        return f"{self.name}（{self.staff_no}）"

    @property
    def serving(self) -> bool:
        return self.status in SERVING_STATUSES
