"""Staged external rosters of one school, kept apart from the registry until promoted.

Schema: each school's own. PII: the staged rows hold the roster's cells (names, ID
numbers, phones) as uploaded and corrected; they are shown masked in lists and leave only
by promotion into the registry. Written by rosters.services.
"""

from __future__ import annotations

import uuid

from django.db import models


class RosterSource(models.Model):
    """Where a roster comes from, one per kind and school. Its column mapping and fixed
    values are saved here and reused on the next upload of the same source. Schema: each
    school's own. No PII."""

    class Kind(models.TextChoices):
        NUTRITION = "nutrition", "营养改善计划名册"
        # Later sources of issue 18 (the admissions list, the teacher-training export)
        # stage through the same tables.
        ADMISSIONS = "admissions", "统一招生录取名单"
        TEACHERS = "teachers", "师训平台教师名单"

    kind = models.CharField("来源", max_length=20, choices=Kind.choices, unique=True)
    # {roster header text: registry field key}; "" keys a column left out on purpose.
    mapping = models.JSONField(default=dict)
    # {registry field key: value} filled into every row whose cell is empty (a roster
    # without 国籍/地区 is all 中国).
    defaults = models.JSONField(default=dict)
    updated_by = models.CharField(max_length=80, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "名册来源"
        verbose_name_plural = "名册来源"

    def __str__(self) -> str:
        return self.get_kind_display()


class RosterUpload(models.Model):
    """One uploaded roster file and what reading it found. Schema: each school's own. PII:
    none itself; the file it names holds the roster."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.ForeignKey(RosterSource, on_delete=models.CASCADE, related_name="uploads")
    filename = models.CharField(max_length=200)
    fmt = models.CharField(max_length=5)
    file_key = models.CharField(max_length=300)
    header_row = models.PositiveIntegerField(default=1)  # Excel row number of the header
    headers = models.JSONField(default=list)  # header text per sheet column
    # What reading changed that the user should know (encoding, merged header cells,
    # blank and repeated rows): [str].
    notes = models.JSONField(default=list)
    counts = models.JSONField(default=dict)
    created_by = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "名册上传"
        verbose_name_plural = "名册上传"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename


class RosterClassMatch(models.Model):
    """A roster's (年级, 班级) text pair and the school class it stands for. Schema: each
    school's own. No PII."""

    source = models.ForeignKey(RosterSource, on_delete=models.CASCADE, related_name="classes")
    grade_text = models.CharField(max_length=50)
    class_text = models.CharField(max_length=50)
    class_no = models.CharField(max_length=7, blank=True)  # "" while unmatched

    class Meta:
        verbose_name = "名册班级对应"
        verbose_name_plural = "名册班级对应"
        ordering = ["grade_text", "class_text"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "grade_text", "class_text"], name="rosters_class_match_unique"
            )
        ]


class StagedRow(models.Model):
    """One row of an uploaded roster, as read, corrected and checked. Schema: each school's
    own. PII: the roster's cells (names, ID numbers, phones)."""

    class State(models.TextChoices):
        INVALID = "invalid", "待修改"
        READY = "ready", "可转入"
        REPEATED = "repeated", "重复行"
        PROMOTED = "promoted", "已转入学籍"
        ALREADY = "already", "此前已转入"
        BLOCKED = "blocked", "查重未通过"

    upload = models.ForeignKey(RosterUpload, on_delete=models.CASCADE, related_name="rows")
    row_no = models.PositiveIntegerField()  # Excel row number in the upload
    raw = models.JSONField(default=list)  # the row's cells as read, one per sheet column
    edits = models.JSONField(default=dict)  # {registry key: text} typed by the registrar
    cells = models.JSONField(default=dict)  # {registry key: value} checked (mapping+edits)
    grade_text = models.CharField(max_length=50, blank=True)
    class_text = models.CharField(max_length=50, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.INVALID)
    errors = models.JSONField(default=list)  # [{key, header, value, message, kind}]
    normalised = models.JSONField(default=list)  # [{key, header, before, after}]
    note = models.CharField(max_length=300, blank=True)  # why repeated/blocked/already
    # Identity for "already promoted": the ID number as checked, else name|sex|birth.
    match_key = models.CharField(max_length=120, blank=True, db_index=True)
    import_batch_id = models.UUIDField(null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "名册行"
        verbose_name_plural = "名册行"
        ordering = ["upload", "row_no"]
        indexes = [models.Index(fields=["upload", "state"], name="rosters_row_state")]


class AdmissionList(models.Model):
    """The county admissions system's admitted list (统一招生录取名单) of one intake of this
    school, published by the county bureau (issue 18 point 4, domain §3.10). The rows
    were staged as an upload of the `admissions` source; the newest list of a (stage,
    entry year) is the one in force. Schema: each school's own. PII: none itself (its
    AdmittedPupil rows hold it). Written by rosters.admissions through rosters.facade."""

    class Stage(models.TextChoices):
        PRIMARY = "primary", "小学一年级"
        JUNIOR = "junior", "初中七年级"

    upload = models.OneToOneField(
        RosterUpload, on_delete=models.CASCADE, related_name="admission_list"
    )
    stage = models.CharField("学段", max_length=10, choices=Stage.choices)
    entry_year = models.PositiveSmallIntegerField("入学年份")
    published_by = models.CharField(max_length=80)
    published_at = models.DateTimeField(auto_now_add=True)
    counts = models.JSONField(default=dict)  # {"rows", "admitted", "unreadable"}

    class Meta:
        verbose_name = "录取名单"
        verbose_name_plural = "录取名单"
        ordering = ["-published_at"]
        indexes = [
            models.Index(fields=["stage", "entry_year", "published_at"], name="rosters_adm_current")
        ]

    def __str__(self) -> str:
        return f"{self.entry_year}级{self.get_stage_display()}"


class AdmittedPupil(models.Model):
    """One pupil of an admitted list: the key fields as the registry's own validation
    read them from the staged row (a field that did not pass is empty). Schema: each
    school's own. PII: name, sex, birth date, ID number."""

    admission_list = models.ForeignKey(
        AdmissionList, on_delete=models.CASCADE, related_name="pupils"
    )
    row_no = models.PositiveIntegerField()  # Excel row number in the county's file
    name = models.CharField(max_length=50)
    sex = models.CharField(max_length=1, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    id_number = models.CharField(max_length=30, blank=True)
    place = models.CharField(max_length=100, blank=True)  # the list's 年级/班级 text

    class Meta:
        verbose_name = "录取学生"
        verbose_name_plural = "录取学生"
        ordering = ["admission_list", "row_no"]


class AdmissionOverride(models.Model):
    """The county's exception for one pupil of one intake who may be registered without a
    match in the admitted list (domain §3.10: "a block ... which the bureau can
    override"). Identified by ID number, or name + sex + birth date for a pupil without
    one. Granted and revoked only by the county (rosters.facade; audited in the bureau's
    log); the school sees it in its diff. Kept in the school's schema, beside the list it
    excepts from, so no identity reaches the public schema. Schema: each school's own.
    PII: name, sex, birth date, ID number."""

    stage = models.CharField(max_length=10, choices=AdmissionList.Stage.choices)
    entry_year = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=50)
    sex = models.CharField(max_length=1, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    id_number = models.CharField(max_length=30, blank=True)
    reason = models.CharField(max_length=300)
    granted_by = models.CharField(max_length=80)
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_by = models.CharField(max_length=80, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "录取例外"
        verbose_name_plural = "录取例外"
        ordering = ["-granted_at"]


class Beneficiary(models.Model):
    """A pupil of this school ticked as a beneficiary of the nutrition programme (营养改善计划
    受益学生), from `since` until `until` (exclusive; null while it lasts). Schema: each
    school's own. PII: only through the student (name, class on the roster). Its public
    twin, nutrition.BeneficiaryClaim, is written in the same transaction by
    rosters.programme.services; the two are never written apart.

    It stays with this school when the pupil transfers (TRANSFER_STAYS): the claim was
    this school's, and the open claim of a pupil who left is what the checks flag."""

    TRANSFER_STAYS = True

    student = models.ForeignKey(
        "registry.Student", on_delete=models.CASCADE, related_name="+", verbose_name="学生"
    )
    # The student's identifier when ticked: the public claim's key. Kept apart from the
    # student because a record that later returns to the school gets a fresh identifier
    # (registry.facade.move) while this row and its claim keep the old one.
    student_uuid = models.UUIDField()
    since = models.DateField("受益起始日期")
    until = models.DateField("受益结束日期", null=True, blank=True)
    ticked_by = models.CharField(max_length=100)
    ended_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "营养改善计划受益学生"
        verbose_name_plural = "营养改善计划受益学生"
        ordering = ["student_id", "since"]
        constraints = [
            models.UniqueConstraint(
                fields=["student"],
                condition=models.Q(until__isnull=True),
                name="rosters_beneficiary_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.student_id}:{self.since}-{self.until or ''}"
