from __future__ import annotations

import uuid
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models


class DigestField(models.UUIDField):
    """A 128-bit keyed digest (keys.digest: 32 hex characters) stored as PostgreSQL uuid.

    16 bytes compared as bytes instead of 33 bytes of text compared under the database's
    collation: the hash indexes are half the size, and writing 48,400 entries into an
    index of 1,000,000 took 0.8 s instead of 1.2 (migration 0003, bench/RESULTS.md).
    Python keeps seeing the same 32-hex text as before; no digest ("") is NULL.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str:
        return "" if value is None else value.hex

    def to_python(self, value: Any) -> str:
        if value is None or value == "":
            return ""
        return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(hex=str(value)).hex

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None or value == "":
            return None
        return value if isinstance(value, uuid.UUID) else uuid.UUID(hex=str(value))


class IndexEntry(models.Model):
    """One student record of any school, for 查重 and look-ups across schools.
    Schema: public. Holds no readable identity: keyed hashes (HMAC) of the normalised
    ID number, of name+sex+birth date and of pinyin(name)+birth date, the near keys
    (keys.near_keys: digests only, several a record), plus the
    non-identifying attributes bureaus count. Written by student_index.services in the
    same transaction as the student row it mirrors.

    Indexes are declared in Meta, not with db_index: on a CharField db_index also makes a
    varchar_pattern_ops twin for LIKE 'prefix%', which no query makes on a hash or a state,
    and every index costs each imported row a random B-tree insert into a table of
    millions (migration 0002, bench/RESULTS.md). School look-ups use (school, audit_state).
    """

    school = models.ForeignKey(
        "tenants.School", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    student_uuid = models.UUIDField(unique=True)
    id_hash = DigestField(null=True, blank=True)  # "" in Python when there is no ID
    name_hash = DigestField()  # name + sex + birth date
    pinyin_hash = DigestField()  # pinyin(name) + birth date
    # The near keys of keys.near_keys (dialect-folded pinyin, one syllable cut or masked,
    # with birth keys that a date a day off or day/month swapped shares): a match on
    # near_hashes is 疑似, on low_hashes the low-priority list (issue 19 point 7).
    near_hashes = ArrayField(DigestField(), default=list, blank=True)
    low_hashes = ArrayField(DigestField(), default=list, blank=True)
    stage = models.CharField(max_length=10)
    entry_year = models.PositiveSmallIntegerField()
    sex = models.CharField(max_length=1)
    ethnicity = models.CharField(max_length=2)
    status = models.CharField(max_length=2)
    audit_state = models.CharField(max_length=20)
    has_problem = models.BooleanField(default=False)
    # The counting flags of tenant_apps.registry.counts.FLAGS as bits (bit i = FLAG_KEYS[i]):
    # non-identifying, what the bureau breaks its counts down by (issue 16).
    flags = models.PositiveSmallIntegerField(default=0, db_default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "学生索引"
        verbose_name_plural = "学生索引"
        indexes = [
            models.Index(fields=["school", "audit_state"]),
            # One probe per key in 查重 (services.duplicates_find) and the nightly grouping.
            models.Index(fields=["id_hash"], name="student_index_id_hash"),
            models.Index(fields=["name_hash"], name="student_index_name_hash"),
            models.Index(fields=["pinyin_hash"], name="student_index_pinyin_hash"),
            # `near_hashes @> ARRAY[key]`: one GIN probe per key (services.duplicates_find).
            GinIndex(fields=["near_hashes"], name="student_index_near_hashes"),
        ]

    def __str__(self) -> str:
        return str(self.student_uuid)


class NumberSequence(models.Model):
    """Counters for temporary (L) and formal no-ID (J) national student numbers, per
    prefix (letter + 6-digit area + 8-digit birth date). Schema: public. No PII beyond a
    birth date and an area. Written by student_index.services.national_number_next."""

    prefix = models.CharField(max_length=15, primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "学籍号序列"
        verbose_name_plural = "学籍号序列"

    def __str__(self) -> str:
        return f"{self.prefix}:{self.last}"


# SchoolCount's flag columns: bit i of IndexEntry.flags is FLAG_COLUMNS[i], the order of
# tenant_apps.registry.counts.FLAG_KEYS (a test holds the two equal; the index sits below
# the registry and cannot import it).
FLAG_COLUMNS: tuple[str, ...] = (
    "left_behind",
    "migrant_child",
    "disability",
    "boarding",
    "needs_aid",
    "boarding_subsidy",
    "only_child",
)


class SchoolCount(models.Model):
    """The live counts the bureau dashboard reads (issue 16): one row per school and
    combination of the index's non-identifying attributes, with the number of index
    entries on it and, of those, how many carry each counting flag. Schema: public.
    Derived from IndexEntry by student_index.services in the same transaction as every
    index write, so it is exact whenever the index is; never written by anything else.

    Which line a row counts on (在读, 休学, 未注册：待学校审核, ...) follows from
    (audit_state, status) by tenant_apps.registry.counts.line_of, read through the
    registry facade."""

    school = models.ForeignKey(
        "tenants.School", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    stage = models.CharField(max_length=10)
    entry_year = models.PositiveSmallIntegerField()
    sex = models.CharField(max_length=1)
    ethnicity = models.CharField(max_length=2)
    status = models.CharField(max_length=2)
    audit_state = models.CharField(max_length=20)
    has_problem = models.BooleanField(default=False)
    students = models.PositiveIntegerField(default=0)
    left_behind = models.PositiveIntegerField(default=0)
    migrant_child = models.PositiveIntegerField(default=0)
    disability = models.PositiveIntegerField(default=0)
    boarding = models.PositiveIntegerField(default=0)
    needs_aid = models.PositiveIntegerField(default=0)
    boarding_subsidy = models.PositiveIntegerField(default=0)
    only_child = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "学校实时统计"
        verbose_name_plural = "学校实时统计"
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "school",
                    "stage",
                    "entry_year",
                    "sex",
                    "ethnicity",
                    "status",
                    "audit_state",
                    "has_problem",
                ],
                name="student_index_schoolcount_cell",
            )
        ]

    def __str__(self) -> str:
        return f"{self.school_id}:{self.stage}{self.entry_year}:{self.students}"


class CountDrift(models.Model):
    """What the nightly check (backups.index_resync.live_counts_check) found when a
    school's live counts disagreed with its own records, before it repaired them.
    Schema: public. Non-identifying: cells and numbers only, at most CELLS_KEPT of them.
    Written by backups.index_resync only; kept for the bureau to see, never edited."""

    CELLS_KEPT = 50

    school = models.ForeignKey(
        "tenants.School", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    found_at = models.DateTimeField(auto_now_add=True)
    cells = models.PositiveIntegerField("不一致的格数")
    # The school's students counted by the index and by its records, all lines together.
    indexed = models.PositiveIntegerField("索引计数")
    recorded = models.PositiveIntegerField("学籍计数")
    # [{"cell": [stage, entry_year, sex, ethnicity, status, audit_state, has_problem],
    #   "index": [students, flags...], "records": [students, flags...]}, ...]
    detail = models.JSONField(default=list)

    class Meta:
        verbose_name = "实时统计偏差"
        verbose_name_plural = "实时统计偏差"
        indexes = [models.Index(fields=["school", "found_at"], name="student_index_drift_school")]

    def __str__(self) -> str:
        return f"{self.school_id}:{self.found_at:%Y-%m-%d}:{self.cells}"
