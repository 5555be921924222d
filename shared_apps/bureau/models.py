from __future__ import annotations

import uuid

from django.db import models


class EvidenceReview(models.Model):
    """A school's 佐证 waiting for the bureau: only where it is (school, problem id,
    student uuid) and its state; the files and the record stay in the school's schema.
    Schema: public. No PII. Written by registry.problems.services and bureau.services."""

    class State(models.TextChoices):
        PENDING = "pending", "待审核"
        ACCEPTED = "accepted", "已通过"
        REJECTED = "rejected", "未通过"

    school = models.ForeignKey("tenants.School", on_delete=models.CASCADE, related_name="+")
    problem_id = models.BigIntegerField()
    evidence_id = models.BigIntegerField()
    student_uuid = models.UUIDField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    submitted_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        verbose_name = "佐证审核"
        verbose_name_plural = "佐证审核"
        ordering = ["submitted_at"]
        indexes = [models.Index(fields=["school", "state"])]

    def __str__(self) -> str:
        return f"{self.school_id}:{self.problem_id}"


class AuxNumbering(models.Model):
    """The county-wide 学籍辅号 renumbering of one grade (domain.md §3.11): when it was
    applied, and whether it is locked. While locked nobody, the school included, may
    change a 辅号 of that grade in that county (registry.students.services.aux_number_locked).
    Schema: public. No PII: counts and usernames only. Written by bureau.renumber."""

    class State(models.TextChoices):
        APPLIED = "applied", "已编排，待锁定"
        LOCKED = "locked", "已锁定"
        UNLOCKED = "unlocked", "已解锁"

    county = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    stage = models.CharField("学段", max_length=10)
    entry_year = models.PositiveSmallIntegerField("入学年份")
    state = models.CharField(max_length=10, choices=State.choices, default=State.APPLIED)
    fmt = models.CharField("编号规则", max_length=40)
    count = models.PositiveIntegerField("编排人数", default=0)
    applied_by = models.CharField(max_length=150, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.CharField(max_length=150, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    unlocked_by = models.CharField(max_length=150, blank=True)
    unlocked_at = models.DateTimeField(null=True, blank=True)
    unlock_reason = models.CharField("解锁原因", max_length=300, blank=True)

    class Meta:
        verbose_name = "学籍辅号编排"
        verbose_name_plural = "学籍辅号编排"
        ordering = ["county_id", "stage", "-entry_year"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "stage", "entry_year"], name="bureau_aux_numbering_grade"
            )
        ]

    def __str__(self) -> str:
        return f"{self.county_id}:{self.stage}{self.entry_year}"
