"""跨县重复学籍联合认定: one case for two records of (perhaps) the same child in schools of two
counties. Schema: public. No PII: where the two records and their 佐证 are, and what each
county decided. Written by bureau.joint. Imported by bureau.models (Django's registry)."""

from __future__ import annotations

from django.db import models


class JointCase(models.Model):
    """Across counties both sides give their evidence and the education authorities decide
    together (domain §3.4, principle 3): the case waits for both schools' 佐证, then for
    each county's decision, and takes effect only when they agree. Schema: public. No PII."""

    class State(models.TextChoices):
        COLLECTING = "collecting", "待双方学校提交佐证"
        DECIDING = "deciding", "待两县教育局认定"
        DECIDED = "decided", "已认定"

    class Outcome(models.TextChoices):
        BOTH = "both", "两条学籍分属不同学生，均保留"
        KEEP_A = "keep_a", "以第一所学校的学籍为准，另一所学校删除"
        KEEP_B = "keep_b", "以第二所学校的学籍为准，另一所学校删除"

    school_a = models.ForeignKey("tenants.School", on_delete=models.CASCADE, related_name="+")
    student_a = models.UUIDField()
    problem_a = models.BigIntegerField(null=True, blank=True)
    review_a = models.ForeignKey(
        "bureau.EvidenceReview", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    county_a = models.CharField(max_length=12)
    school_b = models.ForeignKey("tenants.School", on_delete=models.CASCADE, related_name="+")
    student_b = models.UUIDField()
    problem_b = models.BigIntegerField(null=True, blank=True)
    review_b = models.ForeignKey(
        "bureau.EvidenceReview", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    county_b = models.CharField(max_length=12)
    state = models.CharField(max_length=12, choices=State.choices, default=State.COLLECTING)
    # Each county's decision (an officer over both counties decides for both).
    decision_a = models.CharField(max_length=8, choices=Outcome.choices, blank=True)
    decided_a_by = models.CharField(max_length=200, blank=True)
    decision_b = models.CharField(max_length=8, choices=Outcome.choices, blank=True)
    decided_b_by = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "跨县重复学籍联合认定"
        verbose_name_plural = "跨县重复学籍联合认定"
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["student_a", "student_b"], name="bureau_joint_pair")
        ]

    def __str__(self) -> str:
        return f"{self.student_a}/{self.student_b}"
