"""Classes, students, family members, registration audit, problem records and imports
of one school. Schema: each school's own.

Student and FamilyMember columns come from the national template (fields.py) so the
model, the import template, validation and exports cannot drift apart.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models

from tenant_apps.registry.fields import MEMBER_COLUMNS, STUDENT_COLUMNS, Column

STAGE_DIGIT = {"primary": "1", "junior": "2", "senior": "3"}
DIGIT_STAGE = {v: k for k, v in STAGE_DIGIT.items()}
STAGE_NAME = {"primary": "小学", "junior": "初中", "senior": "高中"}


class ClassType(models.TextChoices):
    """中小学班级类型 (JY/T 1001 ZXXBJLX, domain.md §4.14); the first digit is the stage's
    (1 primary, 2 junior, 4 senior)."""

    PRIMARY = "10", "普通小学班"
    PRIMARY_ETHNIC = "11", "少数民族小学班"
    PRIMARY_COMPOSITE = "12", "小学复式班"
    PRIMARY_POINT = "13", "小学教学点班"
    PRIMARY_SPECIAL = "14", "小学特长班"
    PRIMARY_VISUAL = "15", "视力残疾班（小学）"
    PRIMARY_HEARING = "16", "听力残疾班（小学）"
    PRIMARY_INTELLECTUAL = "17", "智力残疾班（小学）"
    JUNIOR = "20", "普通初中班"
    JUNIOR_ETHNIC = "21", "少数民族初中班"
    JUNIOR_COMPOSITE = "22", "初中复式班"
    JUNIOR_POINT = "23", "初中教学点班"
    JUNIOR_SPECIAL = "24", "初中特长班"
    JUNIOR_VISUAL = "25", "视力残疾班（初中）"
    JUNIOR_HEARING = "26", "听力残疾班（初中）"
    JUNIOR_INTELLECTUAL = "27", "智力残疾班（初中）"
    SENIOR = "40", "普通高中班"
    SENIOR_ETHNIC = "41", "少数民族高中班"
    SENIOR_SPECIAL = "42", "高中特长班"


CLASS_TYPE_DIGIT = {"primary": "1", "junior": "2", "senior": "4"}
DEFAULT_CLASS_TYPE = {"primary": "10", "junior": "20", "senior": "40"}
COMPOSITE_TYPES = frozenset({ClassType.PRIMARY_COMPOSITE, ClassType.JUNIOR_COMPOSITE})


class Grade(models.Model):
    """A grade (年级): one stage's intake of one year, e.g. 小学2024级, shown as 三年级 etc.
    in a given school year (registry.classes.services.grade_label); it keeps its name for good and
    stays readable after it graduates. Its 年级段长 is a name, or a user of the school
    (then the name is that user's). Schema: each school's own. PII: the grade head's name.
    Written by registry.classes.services."""

    stage = models.CharField("学段", max_length=10, choices=list(STAGE_NAME.items()))
    entry_year = models.PositiveSmallIntegerField("入学年份")
    head_name = models.CharField("年级段长", max_length=50, blank=True)
    head_username = models.CharField("年级段长账号", max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "年级"
        verbose_name_plural = "年级"
        ordering = ["stage", "-entry_year"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "entry_year"], name="registry_grade_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return f"{STAGE_NAME[self.stage]}{self.entry_year}级"


class SchoolClass(models.Model):
    """A class (班级), named for good by its stage and entry year (domain.md §2.2).
    Its grade is the Grade row of the same stage and entry year. Schema: each school's
    own. No PII. Written by registry.classes.services (registry.policy.rules sets the class teacher
    from the rights page)."""

    class Stage(models.TextChoices):
        PRIMARY = "primary", "小学"
        JUNIOR = "junior", "初中"
        SENIOR = "senior", "高中"

    stage = models.CharField("学段", max_length=10, choices=Stage.choices)
    entry_year = models.PositiveSmallIntegerField("入学年份")
    number = models.PositiveSmallIntegerField("班号")
    class_no = models.CharField("班级编号", max_length=7, unique=True, editable=False)
    class_type = models.CharField(
        "班级类型", max_length=2, choices=ClassType.choices, default=ClassType.PRIMARY
    )
    # A composite class (复式班) also teaches pupils of these other entry years.
    composite_years = ArrayField(
        models.PositiveSmallIntegerField(),
        verbose_name="复式班包含的其他年级",
        default=list,
        blank=True,
    )
    # The class teacher's account (username = staff number), picked from the school's
    # users; it may write this class (registry.policy.rules).
    teacher_username = models.CharField("班主任", max_length=150, blank=True, db_index=True)
    # The free-text teacher name of classes made before teachers were picked from the
    # user list, when migration 0007 found no unique account of that name; shown until
    # a 班主任 is picked, then cleared.
    legacy_teacher_name = models.CharField("原登记班主任姓名", max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "班级"
        verbose_name_plural = "班级"
        ordering = ["stage", "entry_year", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "entry_year", "number"], name="registry_class_unique_number"
            ),
            models.CheckConstraint(
                condition=models.Q(number__gte=1, number__lte=99),
                name="registry_class_number_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def make_class_no(stage: str, entry_year: int, number: int) -> str:
        """7 digits: entry year + stage digit + 2-digit class number (e.g. 2012101)."""
        return f"{entry_year:04d}{STAGE_DIGIT[stage]}{number:02d}"

    @property
    def name(self) -> str:
        """Display name, e.g. 小学2011级(02)班; it never changes at promotion."""
        return f"{STAGE_NAME[self.stage]}{self.entry_year}级({self.number:02d})班"

    @property
    def grade_name(self) -> str:
        return f"{STAGE_NAME[self.stage]}{self.entry_year}级"

    @property
    def is_composite(self) -> bool:
        return self.class_type in COMPOSITE_TYPES


class ClassRight(models.Model):
    """A class right (班级管理权限) of an ordinary account: which class it may see, and
    whether it may write it. The class teacher (SchoolClass.teacher_username) needs no row.
    Schema: each school's own. No PII. Written by registry.policy.rules."""

    user_username = models.CharField("用户名", max_length=150, db_index=True)
    school_class = models.ForeignKey(
        SchoolClass, verbose_name="班级", on_delete=models.CASCADE, related_name="rights"
    )
    can_write = models.BooleanField("可修改", default=False)

    class Meta:
        verbose_name = "班级权限"
        verbose_name_plural = "班级权限"
        ordering = ["user_username", "school_class"]
        constraints = [
            models.UniqueConstraint(
                fields=["user_username", "school_class"], name="registry_class_right_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_username}:{self.school_class_id}"


class FieldEditPolicy(models.Model):
    """Which student fields class teachers may edit in one grade (系统设置, domain.md
    §3.17); without a row registry.policy.rules's defaults apply. Schema: each school's own.
    No PII. Written by registry.policy.rules.policy_set only."""

    stage = models.CharField("学段", max_length=10, choices=SchoolClass.Stage.choices)
    entry_year = models.PositiveSmallIntegerField("入学年份")
    fields = ArrayField(models.CharField(max_length=40), verbose_name="开放字段", default=list)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=80, blank=True)

    class Meta:
        verbose_name = "班主任可修改字段"
        verbose_name_plural = "班主任可修改字段"
        ordering = ["stage", "entry_year"]
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "entry_year"], name="registry_field_policy_grade"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stage}{self.entry_year}"


def _model_field(col: Column, *, prefix: str = "") -> models.Field:  # type: ignore[type-arg]
    """The database column for one template column; every one may be blank in the
    database because validation, not the schema, decides what is required when."""
    label = col.header.removeprefix(prefix)
    if col.kind == "date8":
        return models.DateField(label, null=True, blank=True)
    if col.kind == "yesno":
        return models.BooleanField(label, null=True, blank=True)
    if col.kind == "int":
        return models.PositiveSmallIntegerField(label, null=True, blank=True)
    if col.kind == "decimal":
        return models.DecimalField(label, max_digits=6, decimal_places=2, null=True, blank=True)
    length = {
        "code": 3,
        "region12": 12,
        "ym6": 6,
        "postcode": 6,
        "phone": 20,
        "id_validity": 17,
    }.get(col.kind, col.max_length)
    return models.CharField(label, max_length=length, blank=True, default="")


# Columns the Student model declares itself (relations, typed registry attributes).
OWN_COLUMNS = {
    "grade",
    "class_no",
    "number_in_class",
    "name",
    "sex",
    "birth_date",
    "id_number",
    "entry_year_month",
    "aux_number",
}


class Student(models.Model):
    """A student's registry record (学籍). Schema: each school's own. PII: everything
    personal of the national template. Written by registry.students.services only; each write
    also refreshes the student's public index entry in the same transaction."""

    class Sex(models.TextChoices):
        MALE = "1", "男"
        FEMALE = "2", "女"

    class Status(models.TextChoices):
        # JY/T 1001 XSDQZT codes (domain.md §4.2). Only 在读 is "in school" (在校); every
        # other value is reached through an approved status change (registry.changes.services),
        # promotion/graduation or a transfer.
        STUDYING = "01", "在读"
        SUSPENDED = "02", "休学"
        WITHDRAWN = "03", "退学"
        DROPPED_OUT = "06", "流失"
        GRADUATED = "07", "毕业"
        COMPLETED = "08", "结业"
        TRANSFERRED_OUT = "10", "转学（转出）"
        DECEASED = "11", "死亡"
        ABROAD = "13", "出国（境）"
        MISSING = "15", "下落不明"
        OTHER = "99", "其他"

    class Audit(models.TextChoices):
        DRAFT = "draft", "待提交"
        PROBLEM = "problem", "问题学籍"
        SCHOOL_PENDING = "school_pending", "待学校审核"
        COUNTY_PENDING = "county_pending", "待教育局审核"
        REGISTERED = "registered", "已注册"
        DELETED = "deleted", "已删除"

    class NumberKind(models.TextChoices):
        TEMPORARY = "L", "临时学籍号"
        FORMAL_ID = "G", "正式学籍号"
        FORMAL_NO_ID = "J", "正式学籍号（无身份证）"

    identifier = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField("姓名", max_length=50)
    sex = models.CharField("性别", max_length=1, choices=Sex.choices)
    birth_date = models.DateField("出生日期")
    id_number = models.CharField("身份证件号", max_length=30, blank=True)
    school_class = models.ForeignKey(
        SchoolClass, verbose_name="班级", on_delete=models.PROTECT, related_name="students"
    )
    number_in_class = models.PositiveSmallIntegerField("班内学号", null=True, blank=True)
    entry_year_month = models.CharField("入学年月", max_length=6)
    aux_number = models.CharField("学籍辅号", max_length=30, blank=True)
    status = models.CharField(
        "学籍状态", max_length=2, choices=Status.choices, default=Status.STUDYING
    )
    audit_state = models.CharField(
        "注册状态", max_length=20, choices=Audit.choices, default=Audit.DRAFT
    )
    national_number = models.CharField("全国学籍号", max_length=19, blank=True)
    number_kind = models.CharField(max_length=1, choices=NumberKind.choices, blank=True)
    name_initials = models.CharField("拼音首字母", max_length=20, blank=True)
    deleted_reason = models.CharField("删除原因", max_length=200, blank=True)
    # Maker/checker: the school approver must be someone else than the submitter.
    submitted_by = models.CharField("提交人", max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "学生"
        verbose_name_plural = "学生"
        ordering = ["school_class__class_no", "number_in_class"]
        # Plain B-trees, declared here rather than with db_index=True, which would add a
        # varchar_pattern_ops twin to each: no query makes a LIKE 'x%' these could serve
        # (the list search ORs name LIKE '%x%', which scans the school's rows anyway), and
        # each twin costs every imported student another index insert (bench/RESULTS.md).
        indexes = [
            models.Index(fields=["id_number"], name="registry_student_id_number"),
            models.Index(fields=["audit_state"], name="registry_student_audit_state"),
            models.Index(fields=["national_number"], name="registry_student_national_no"),
            models.Index(fields=["name_initials"], name="registry_student_initials"),
        ]

    def __str__(self) -> str:
        return self.name


for _col in STUDENT_COLUMNS:
    if _col.key not in OWN_COLUMNS:
        Student.add_to_class(_col.key, _model_field(_col))


class FamilyMember(models.Model):
    """A family member or guardian (成员1/成员2) of a student. Schema: each school's own.
    PII. Written by registry.students.services with the student."""

    # No index of its own: the unique (student, slot) index starts with the student and
    # serves every look-up by student; a second one only slowed bulk imports down.
    student = models.ForeignKey(
        Student, on_delete=models.CASCADE, related_name="family", db_index=False
    )
    slot = models.PositiveSmallIntegerField("序号")

    class Meta:
        verbose_name = "家庭成员"
        verbose_name_plural = "家庭成员"
        ordering = ["student", "slot"]
        constraints = [
            models.UniqueConstraint(fields=["student", "slot"], name="registry_member_slot")
        ]

    def __str__(self) -> str:
        return str(getattr(self, "name", ""))


for _col in MEMBER_COLUMNS["member1"]:
    FamilyMember.add_to_class(_col.key.removeprefix("m1_"), _model_field(_col, prefix="成员1"))


class StudentEvent(models.Model):
    """One step in a student's history: who did what, when, why, and what changed.
    Schema: each school's own. Append-only; written by registry.students.services."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField("操作人", max_length=80)
    action = models.CharField("操作", max_length=40)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    reason = models.CharField("原因", max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "学籍记录"
        verbose_name_plural = "学籍记录"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.at:%Y-%m-%d %H:%M}"


class ProblemRecord(models.Model):
    """A 问题学籍: why the record is held, who else matched (masked), and how it ends.
    Schema: each school's own. Written by registry.students.services."""

    class Kind(models.TextChoices):
        DUPLICATE = "duplicate", "身份证件号重复"
        SUSPECTED = "suspected", "疑似重复（姓名性别出生日期或姓名拼音出生日期相同）"

    class State(models.TextChoices):
        OPEN = "open", "待处理"
        EVIDENCE_PENDING = "evidence_pending", "佐证待教育局审核"
        RESOLVED = "resolved", "已解决"
        DELETED = "deleted", "已删除"

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="problems")
    kind = models.CharField("问题类型", max_length=20, choices=Kind.choices)
    others = models.JSONField("相关记录", default=list)  # masked summaries, never full PII
    state = models.CharField("状态", max_length=20, choices=State.choices, default=State.OPEN)
    resolution = models.CharField("处理方式", max_length=20, blank=True)
    reason = models.CharField("说明", max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "问题学籍"
        verbose_name_plural = "问题学籍"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.student_id}"


class Evidence(models.Model):
    """A 佐证 file (image or PDF, stored on S3 under the school's prefix) and the
    bureau's decision. Schema: each school's own. Written by registry.students.services."""

    class Decision(models.TextChoices):
        PENDING = "pending", "待审核"
        ACCEPTED = "accepted", "已通过"
        REJECTED = "rejected", "未通过"

    problem = models.ForeignKey(ProblemRecord, on_delete=models.CASCADE, related_name="evidence")
    file_key = models.CharField(max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    note = models.CharField("说明", max_length=300, blank=True)
    uploaded_by = models.CharField(max_length=80)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.CharField(max_length=80, blank=True)
    decision_reason = models.CharField(max_length=300, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "佐证材料"
        verbose_name_plural = "佐证材料"
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.original_name


class ImportBatch(models.Model):
    """One uploaded workbook and its dry run. Schema: each school's own. The valid,
    normalised rows wait in storage (payload_key) until the user confirms; nothing is
    written to students before that. Written by registry.imports.pipeline."""

    class State(models.TextChoices):
        VALIDATING = "validating", "校验中"
        READY = "ready", "待确认"
        COMMITTING = "committing", "写入中"
        COMMITTED = "committed", "已导入"
        CANCELLED = "cancelled", "已取消"
        FAILED = "failed", "失败"

    class Mode(models.TextChoices):
        VALID_ONLY = "valid_only", "只导入正确的行"
        ALL_OR_NOTHING = "all_or_nothing", "全部正确才导入"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job_id = models.UUIDField(null=True)
    filename = models.CharField(max_length=200)
    fmt = models.CharField(max_length=5)
    file_key = models.CharField(max_length=300)
    payload_key = models.CharField(max_length=300, blank=True)
    annotated_key = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.VALIDATING)
    mode = models.CharField(max_length=16, choices=Mode.choices, blank=True)
    counts = models.JSONField(default=dict)
    errors = models.JSONField(default=list)  # [{row, key, header, value, message, kind}]
    duplicates = models.JSONField(default=list)  # [{row, kind, rule, other: masked summary}]
    created_by = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "导入批次"
        verbose_name_plural = "导入批次"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename


class StatusChange(models.Model):
    """An in-school status change (学籍异动: 休学, 复学, 退学, 死亡 …) of one student.
    Schema: each school's own. PII: only through the student; the reason text may name
    circumstances. The approval itself is a public business case (transfers.Case,
    `case_id`); `state` mirrors it for lists. Written by registry.changes.services only."""

    class Kind(models.TextChoices):
        # Codes shared with transfers.CaseKind (domain.md §4.1, codes ours).
        SUSPEND = "SUSPEND", "休学"
        RESUME = "RESUME", "复学"
        WITHDRAW = "WITHDRAW", "退学"
        DROPOUT = "DROPOUT", "流失（辍学）"
        DEATH = "DEATH", "死亡"
        ABROAD = "ABROAD", "出国（境）"
        RETURN_FROM_ABROAD = "RETURN_FROM_ABROAD", "回国复学"
        MISSING = "MISSING", "失踪"
        OTHER_LEAVE = "OTHER_LEAVE", "其他离校"
        OTHER = "OTHER", "其他"

    class State(models.TextChoices):
        OPEN = "open", "审批中"
        DONE = "done", "已生效"
        REJECTED = "rejected", "未通过"
        WITHDRAWN = "withdrawn", "已撤回"

    student = models.ForeignKey(
        Student, verbose_name="学生", on_delete=models.PROTECT, related_name="status_changes"
    )
    kind = models.CharField("异动类型", max_length=24, choices=Kind.choices)
    change_date = models.DateField("异动日期")
    reason_code = models.CharField("异动原因", max_length=2, blank=True)
    reason_text = models.CharField("异动说明", max_length=500, blank=True)
    leave_from = models.DateField("休学开始日期", null=True, blank=True)
    leave_to = models.DateField("休学截止日期", null=True, blank=True)
    from_status = models.CharField("异动前状态", max_length=2, choices=Student.Status.choices)
    to_status = models.CharField("异动后状态", max_length=2, choices=Student.Status.choices)
    case_id = models.UUIDField("业务编号", null=True, unique=True)
    case_number = models.CharField("业务单号", max_length=30, blank=True)
    state = models.CharField(
        "办理状态", max_length=10, choices=State.choices, default=State.OPEN, db_index=True
    )
    created_by = models.CharField("申请人", max_length=150)
    created_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=200, blank=True)
    close_reason = models.CharField("审批意见", max_length=300, blank=True)

    class Meta:
        verbose_name = "学籍异动"
        verbose_name_plural = "学籍异动"
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one open change per student, whatever the pages allow.
            models.UniqueConstraint(
                fields=["student"],
                condition=models.Q(state="open"),
                name="registry_status_change_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.student_id}"


class ChangeEvidence(models.Model):
    """A proof file of a status change (JPG/PNG/PDF ≤ 2 MB, stored under the school's
    prefix). Schema: each school's own. PII (scans). Written by registry.changes.services."""

    change = models.ForeignKey(StatusChange, on_delete=models.CASCADE, related_name="evidence")
    file_key = models.CharField(max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    uploaded_by = models.CharField(max_length=200)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "异动佐证"
        verbose_name_plural = "异动佐证"
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name
