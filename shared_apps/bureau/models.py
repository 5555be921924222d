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
    # Part of a cross-county duplicate (bureau.joint): decided on its joint case, by both
    # counties together, never alone; the ordinary 佐证 queue leaves it out.
    joint = models.BooleanField(default=False)
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


class SchoolQuality(models.Model):
    """One data-quality figure of one school (domain.md §3.18; which records each counts:
    registry.facade.quality): the count, the oldest item's date and the counts per age
    band for aged figures. The bureau's quality pages read only this table. Schema:
    public. No PII: counts, dates and, for 必填项缺失, the records' opaque ids (as the
    student index holds them). Written by bureau.quality.services.quality_refresh only."""

    school = models.ForeignKey("tenants.School", on_delete=models.CASCADE, related_name="+")
    figure = models.CharField("指标", max_length=30)
    count = models.PositiveIntegerField("数量", default=0)
    oldest_at = models.DateTimeField("最早", null=True, blank=True)
    bands = models.JSONField("按时长", default=list, blank=True)
    item_ids = models.JSONField(default=list, blank=True)
    refreshed_at = models.DateTimeField("刷新时间")

    class Meta:
        verbose_name = "学校数据质量"
        verbose_name_plural = "学校数据质量"
        ordering = ["school_id", "figure"]
        constraints = [
            models.UniqueConstraint(fields=["school", "figure"], name="bureau_quality_figure")
        ]

    def __str__(self) -> str:
        return f"{self.school_id}:{self.figure}={self.count}"


class QualityRefresh(models.Model):
    """When one school's quality figures were last computed, and the public signature of
    the school they were computed from (its live counts and the latest change of its
    index entries and business cases), so the frequent sweep refreshes only the schools
    that changed. Schema: public. No PII. Written by bureau.quality.services."""

    school = models.OneToOneField(
        "tenants.School", on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    refreshed_at = models.DateTimeField()
    signature = models.CharField(max_length=64, blank=True)
    seconds = models.FloatField("耗时（秒）", default=0)

    class Meta:
        verbose_name = "数据质量刷新"
        verbose_name_plural = "数据质量刷新"

    def __str__(self) -> str:
        return f"{self.school_id}@{self.refreshed_at:%Y-%m-%d %H:%M}"


class RosterDeadline(models.Model):
    """The county's deadline for one term's 人籍一致 confirmations (domain.md §3.18):
    classes not confirmed by then are flagged in the quality figures. Term as
    grades.terms counts it (school year "2026-2027", term 1 or 2). Schema: public. No PII.
    Written by bureau.quality.services.roster_deadline_set only."""

    county = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    school_year = models.CharField("学年", max_length=9)
    term = models.PositiveSmallIntegerField("学期")
    deadline = models.DateField("截止日期")
    set_by = models.CharField(max_length=150)
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "人籍一致截止日期"
        verbose_name_plural = "人籍一致截止日期"
        ordering = ["county_id", "-school_year", "-term"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "school_year", "term"], name="bureau_roster_deadline_term"
            )
        ]

    def __str__(self) -> str:
        return f"{self.county_id}:{self.school_year}-{self.term}"


class CountSnapshot(models.Model):
    """The month's counts of one school (issue 16's trends): one row per school, stage,
    entry year, sex and count line (registry.counts: in_school, status_07,
    audit_county_pending, ...), with its number of records. Schema: public. No PII.
    Written only by bureau.dashboard.services.month_snapshot_take (the nightly task) from
    student_index.SchoolCount; a month's rows are replaced by each later day of that
    month, so the month keeps the counts of its latest day."""

    month = models.DateField("月份")  # the first day of the month
    school = models.ForeignKey("tenants.School", on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=10)
    entry_year = models.PositiveSmallIntegerField()
    sex = models.CharField(max_length=1)
    line = models.CharField(max_length=30)
    students = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "月度统计快照"
        verbose_name_plural = "月度统计快照"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "school", "stage", "entry_year", "sex", "line"],
                name="bureau_countsnapshot_cell",
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}:{self.school_id}:{self.line}:{self.students}"


class MonthTotal(models.Model):
    """Per school and month, the totals the trend charts draw (在读 by sex, 未注册), so a
    province's twelve months are 12 × its schools rows, not every cell of CountSnapshot.
    Schema: public. No PII. Written with CountSnapshot, in the same transaction."""

    month = models.DateField("月份")
    school = models.ForeignKey("tenants.School", on_delete=models.CASCADE, related_name="+")
    in_school_male = models.PositiveIntegerField(default=0)
    in_school_female = models.PositiveIntegerField(default=0)
    in_school = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)
    taken_on = models.DateField("快照日期")

    class Meta:
        verbose_name = "月度统计合计"
        verbose_name_plural = "月度统计合计"
        constraints = [
            models.UniqueConstraint(fields=["month", "school"], name="bureau_monthtotal_school")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}:{self.school_id}:{self.in_school}"


class MonthCountyTotal(models.Model):
    """MonthTotal summed per county (the school's county when the snapshot was taken):
    the trend of a county, city or province reads a row per county and month. Schema:
    public. No PII. Written with MonthTotal, in the same transaction."""

    month = models.DateField("月份")
    county = models.ForeignKey(
        "regions.Region", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    in_school_male = models.PositiveIntegerField(default=0)
    in_school_female = models.PositiveIntegerField(default=0)
    in_school = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "月度统计县级合计"
        verbose_name_plural = "月度统计县级合计"
        constraints = [
            models.UniqueConstraint(fields=["month", "county"], name="bureau_monthcounty_cell")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}:{self.county_id}:{self.in_school}"


class CountyCells(models.Model):
    """The columns CountyCount and CountyDelta share: a county's cell (the dimensions of
    student_index.SchoolCount without the school) and its signed counters, which the
    rollup triggers (migration bureau 0003) write by name."""

    county = models.ForeignKey(
        "regions.Region", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    stage = models.CharField(max_length=10)
    entry_year = models.PositiveSmallIntegerField()
    sex = models.CharField(max_length=1)
    ethnicity = models.CharField(max_length=2)
    status = models.CharField(max_length=2)
    audit_state = models.CharField(max_length=20)
    students = models.IntegerField(default=0)
    left_behind = models.IntegerField(default=0)
    migrant_child = models.IntegerField(default=0)
    disability = models.IntegerField(default=0)
    boarding = models.IntegerField(default=0)
    needs_aid = models.IntegerField(default=0)
    boarding_subsidy = models.IntegerField(default=0)
    only_child = models.IntegerField(default=0)

    class Meta:
        abstract = True


class CountyCount(CountyCells):
    """student_index.SchoolCount summed per county (the school's county): the rollup a
    county's, a city's or a province's dashboard reads its breakdowns from, so a province
    of 5,000 schools sums a few thousand rows, not every school's cells. Schema: public.
    No PII. Live without locking one school's writes against another's: a PostgreSQL
    trigger on student_index_schoolcount (migration bureau 0003) appends every change as
    CountyDelta rows in the same statement (inserts never wait on each other); readers
    sum CountyCount and CountyDelta; bureau.dashboard.services.rollup_fold folds the
    deltas in (every minute), rollup_rebuild re-derives it from SchoolCount (nightly,
    reporting drift). Counters are plain integers: deltas are signed."""

    class Meta:
        verbose_name = "县级实时统计"
        verbose_name_plural = "县级实时统计"
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "county",
                    "stage",
                    "entry_year",
                    "sex",
                    "ethnicity",
                    "status",
                    "audit_state",
                ],
                name="bureau_countycount_cell",
            )
        ]

    def __str__(self) -> str:
        return f"{self.county_id}:{self.stage}{self.entry_year}:{self.students}"


class SchoolTotal(models.Model):
    """Per school, its live 在读 by sex and its 未注册 records, summed from
    student_index.SchoolCount: what the 按学校/按乡镇/按县 tables read, one row a school.
    Schema: public. No PII. Written only by the trigger on student_index_schoolcount
    (migration bureau 0003), in the same statement as the write to SchoolCount (one
    school's own row, so no school waits on another); rebuilt by rollup_rebuild. The
    trigger applies registry.counts' rule (在读 = registered and 01; 未注册 = the pending
    states), written out in the migration; a test holds it equal to the registry's."""

    school = models.OneToOneField(
        "tenants.School", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    in_school_male = models.IntegerField(default=0)
    in_school_female = models.IntegerField(default=0)
    in_school = models.IntegerField(default=0)
    pending = models.IntegerField(default=0)

    class Meta:
        verbose_name = "学校实时合计"
        verbose_name_plural = "学校实时合计"

    def __str__(self) -> str:
        return f"{self.school_id}:{self.in_school}"


class CountyDelta(CountyCells):
    """A signed change to CountyCount not folded in yet (see CountyCount). Schema:
    public. No PII. Inserted only by the trigger on student_index_schoolcount and on
    tenants_school's county; deleted only by bureau.dashboard.services.rollup_fold."""

    class Meta:
        verbose_name = "县级实时统计增量"
        verbose_name_plural = "县级实时统计增量"
        indexes = [models.Index(fields=["county"], name="bureau_countydelta_county")]

    def __str__(self) -> str:
        return f"{self.county_id}:{self.stage}{self.entry_year}:{self.students:+d}"


# Registered with the app's models (the module stays apart: bureau.joint's own table).
from shared_apps.bureau.joint_models import JointCase  # noqa: E402

__all__ = ["JointCase"]
