from __future__ import annotations

import uuid

from django.db import models


class EvidenceReview(models.Model):
    """A school's 佐证 waiting for the bureau: only where it is (school, problem id,
    student uuid) and its state; the files and the record stay in the school's schema.
    Schema: public. No PII. Written by registry.problems and bureau.services."""

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
