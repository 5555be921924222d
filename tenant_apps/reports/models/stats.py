"""查询统计's dated snapshots and the 升学率 definition. Schema: each school's own.

A snapshot keeps the school's counts as they were on a day, so that "as of date D" and
this-year-against-earlier-years read history exactly instead of recomputing it from
today's rows. It holds aggregated counts only: one row per combination of class, sex,
count line (tenant_apps.registry.counts), ethnicity, household type and flags, with the
number of records — never a student, a name or an ID number.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class StatsSnapshot(models.Model):
    """The counts of one day. Written by reports.stats.services only (the daily beat task
    and 立即生成快照). At most one per day: a later snapshot of the same day replaces it.
    Schema: each school's own. No PII."""

    class Source(models.TextChoices):
        DAILY = "daily", "每日自动"
        ON_DEMAND = "on_demand", "手动生成"

    date = models.DateField("统计日期", unique=True)
    taken_at = models.DateTimeField("生成时间")
    source = models.CharField("来源", max_length=10, choices=Source.choices)
    taken_by = models.CharField("生成人", max_length=150, blank=True)
    records = models.PositiveIntegerField("记录数", default=0)

    class Meta:
        verbose_name = "统计快照"
        verbose_name_plural = "统计快照"
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d}"


class StatsSnapshotRow(models.Model):
    """One cell of a snapshot: how many records had these values. The class is kept by
    value (its number and names as they were), so a class merged or deleted later still
    reads back as it was. Schema: each school's own. No PII."""

    snapshot = models.ForeignKey(StatsSnapshot, on_delete=models.CASCADE, related_name="rows")
    class_id = models.IntegerField(null=True)
    class_no = models.CharField(max_length=7)
    class_name = models.CharField(max_length=40)
    grade_name = models.CharField(max_length=40)
    stage = models.CharField(max_length=10)
    sex = models.CharField(max_length=1)
    line = models.CharField(max_length=30)
    ethnicity = models.CharField(max_length=3, blank=True)
    household_type = models.CharField(max_length=3, blank=True)
    # The keys of registry.counts.FLAGS set on these records.
    flags = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    n = models.PositiveIntegerField()

    class Meta:
        verbose_name = "统计快照行"
        verbose_name_plural = "统计快照行"
        # No ordering: a snapshot is always read whole and aggregated.

    def __str__(self) -> str:
        return f"{self.class_no} {self.line} {self.n}"


class PromotionSettings(models.Model):
    """How this school defines 升学率 (domain.md §3.15: the official definition is
    unconfirmed, so each school sets it): of the records of the graduating classes whose
    status is one of `cohort_statuses`, those whose status is one of `promoted_statuses`
    count as promoted. One row per school. Written by reports.stats.services. Schema: each
    school's own. No PII."""

    cohort_statuses = ArrayField(
        models.CharField(max_length=2), verbose_name="计入毕业生的学籍状态", default=list
    )
    promoted_statuses = ArrayField(
        models.CharField(max_length=2), verbose_name="计为升学的学籍状态", default=list
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = "升学率口径"
        verbose_name_plural = "升学率口径"

    def __str__(self) -> str:
        return "升学率口径"
