"""Tables of the yearly rollover (升级/毕业, domain.md §3.8) and of junior-middle intake
(初中新生, §3.9–3.10). Re-exported by registry.models, which Django imports for the
registry app; written only by registry.lifecycle.rollover and registry.lifecycle.paper."""

from __future__ import annotations

from django.db import models

from tenant_apps.registry.models.classes import SchoolClass
from tenant_apps.registry.models.students import Student


class Rollover(models.Model):
    """One yearly rollover of the school: promotion of every non-graduating class and
    graduation (毕业) of each stage's top grade at the end of `school_year`. It stays
    undoable until confirmed; its items keep what it changed so undo restores exactly.
    Schema: each school's own. No PII (counts). Written by registry.lifecycle.rollover."""

    class State(models.TextChoices):
        RUNNING = "running", "执行中"
        APPLIED = "applied", "已执行，待确认"
        CONFIRMED = "confirmed", "已确认"
        UNDONE = "undone", "已撤销"
        FAILED = "failed", "执行失败"

    school_year = models.PositiveSmallIntegerField("学年")  # 2025 = 2025–2026
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    job_id = models.UUIDField(null=True, blank=True)
    counts = models.JSONField(default=dict)  # {"graduated", "promoted", "skipped"}
    message = models.CharField(max_length=300, blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.CharField(max_length=200, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.CharField(max_length=200, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "升级毕业"
        verbose_name_plural = "升级毕业"
        ordering = ["-school_year", "-created_at"]
        constraints = [
            # One live rollover per school year: a second click or tab cannot run it twice.
            # Spelled as ORs, not IN: PostgreSQL prints an IN-list predicate differently
            # after a pg_dump/restore round trip, and the backup test compares structure.
            models.UniqueConstraint(
                fields=["school_year"],
                condition=models.Q(state="running")
                | models.Q(state="applied")
                | models.Q(state="confirmed"),
                name="registry_rollover_one_per_year",
            )
        ]

    def __str__(self) -> str:
        return f"{self.school_year}–{self.school_year + 1}"

    @property
    def label(self) -> str:
        return f"{self.school_year}–{self.school_year + 1}学年"


class RolloverItem(models.Model):
    """What a rollover did to one student (graduated, or promoted from one grade to the
    next), with the values before, for an exact undo. Schema: each school's own. No PII
    beyond the link to the student. Written by registry.lifecycle.rollover."""

    class Action(models.TextChoices):
        GRADUATE = "graduate", "毕业"
        PROMOTE = "promote", "升级"
        COMPLETE = "complete", "结业"  # left without graduating (Student.Status 08)

    rollover = models.ForeignKey(Rollover, on_delete=models.CASCADE, related_name="items")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    from_status = models.CharField(max_length=2)
    to_status = models.CharField(max_length=2)
    from_grade = models.CharField(max_length=10, blank=True)
    to_grade = models.CharField(max_length=10, blank=True)
    # The row's last-change time before the rollover: undo puts it back as well.
    updated_before = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "升级毕业明细"
        verbose_name_plural = "升级毕业明细"
        ordering = ["rollover", "id"]
        indexes = [models.Index(fields=["rollover", "action"])]

    def __str__(self) -> str:
        return f"{self.action}:{self.student_id}"


class CompletionMark(models.Model):
    """A graduating pupil the registrar marked, in the rollover's dry run, to leave as
    结业 (completion without graduation, status 08) instead of 毕业, with the reason. The
    run reads the marks of its school year. Schema: each school's own. No PII beyond
    the link to the student. Written by registry.lifecycle.rollover."""

    school_year = models.PositiveSmallIntegerField("学年")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField("结业原因", max_length=200)
    marked_by = models.CharField(max_length=200)
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "结业标记"
        verbose_name_plural = "结业标记"
        ordering = ["school_year", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["school_year", "student"], name="registry_completion_one_per_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self.school_year}:{self.student_id}"


class PaperRecord(models.Model):
    """A temporary paper record (临时纸质档案, PAPER_ONLY, domain.md §3.9–3.10): a
    junior-age child the school admitted without an ID number, so without an electronic
    registry yet. It stays on the reminder list until the household is registered and
    the student is entered; `complete` links the new record. Schema: each school's own.
    PII (name, birth date, guardian). Written by registry.lifecycle.paper."""

    class State(models.TextChoices):
        OPEN = "open", "待补办学籍"
        COMPLETED = "completed", "已建立学籍"

    name = models.CharField("姓名", max_length=50)
    sex = models.CharField("性别", max_length=1, choices=Student.Sex.choices)
    birth_date = models.DateField("出生日期")
    school_class = models.ForeignKey(
        SchoolClass, verbose_name="班级", on_delete=models.PROTECT, related_name="+"
    )
    guardian_name = models.CharField("监护人", max_length=50)
    guardian_phone = models.CharField("监护人电话", max_length=20)
    note = models.CharField("说明", max_length=300, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    student = models.ForeignKey(
        Student,
        verbose_name="学籍",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_by = models.CharField(max_length=200, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "临时纸质档案"
        verbose_name_plural = "临时纸质档案"
        ordering = ["state", "created_at"]

    def __str__(self) -> str:
        return self.name


__all__ = ["CompletionMark", "PaperRecord", "Rollover", "RolloverItem"]
