"""The programme's public tables: which schools are in it, and which pupils each school
claims the subsidy for. No readable identity: a claim carries the pupil's uuid and the
cross-school index's keyed digests, so two schools claiming the same child are found
without a name leaving either school (domain §3.12)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from shared_apps.student_index.models import DigestField


class ProgrammeSchool(models.Model):
    """One period in which a school is a programme school (营养改善计划学校), as the county
    marked it. Schema: public. No PII (an officer's display label). History is kept:
    unmarking sets `until` (the first day no longer in the programme) rather than deleting,
    so past months are counted as they were. Written by nutrition.services only."""

    school = models.ForeignKey(
        "tenants.School", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    since = models.DateField("纳入日期")
    until = models.DateField("退出日期", null=True, blank=True)  # exclusive; null: still in
    marked_by = models.CharField(max_length=100)
    ended_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "营养改善计划学校"
        verbose_name_plural = "营养改善计划学校"
        ordering = ["school_id", "since"]
        indexes = [models.Index(fields=["school", "since"], name="nutrition_school_since")]
        constraints = [
            models.UniqueConstraint(
                fields=["school"],
                condition=Q(until__isnull=True),
                name="nutrition_school_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.school_id}:{self.since}-{self.until or ''}"


class BeneficiaryClaim(models.Model):
    """A school's claim that one of its pupils receives the subsidy (受益学生), from `since`
    to `until` (exclusive; null while it lasts). Schema: public. PII: none readable — the
    pupil's uuid and the cross-school index's HMAC digests of the ID number and of
    name+sex+birth date (copied from student_index.IndexEntry when ticked, so a claim stays
    comparable when the entry moves). Written by nutrition.services, in the same
    transaction as the school's own record (rosters.Beneficiary); never edited otherwise."""

    school = models.ForeignKey(
        "tenants.School", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    student_uuid = models.UUIDField()
    id_hash = DigestField(null=True, blank=True)  # "" in Python when the pupil has no ID
    name_hash = DigestField()
    since = models.DateField("受益起始日期")
    until = models.DateField("受益结束日期", null=True, blank=True)
    created_by = models.CharField(max_length=100)
    ended_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "受益学生申报"
        verbose_name_plural = "受益学生申报"
        indexes = [
            models.Index(fields=["school", "since"], name="nutrition_claim_school"),
            models.Index(fields=["student_uuid"], name="nutrition_claim_student"),
            # The two-schools check probes the open claims by digest.
            models.Index(
                fields=["id_hash"], name="nutrition_claim_id_hash", condition=Q(until__isnull=True)
            ),
            models.Index(
                fields=["name_hash"],
                name="nutrition_claim_name_hash",
                condition=Q(until__isnull=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "student_uuid"],
                condition=Q(until__isnull=True),
                name="nutrition_claim_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.school_id}:{self.student_uuid}"
