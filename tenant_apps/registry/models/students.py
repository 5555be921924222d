"""Students, family members and their history of one school. Schema: each school's own.
Re-exported by registry.models.

Student and FamilyMember columns come from the national template (fields.py) so the
model, the import template, validation and exports cannot drift apart.
"""

from __future__ import annotations

import uuid

from django.db import models

from tenant_apps.registry.fields import MEMBER_COLUMNS, STUDENT_COLUMNS, Column
from tenant_apps.registry.models.classes import SchoolClass


def _model_field(col: Column, *, prefix: str = "") -> models.Field:
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
    personal of the national template. Written by registry.students.services (the audit
    states by registry.students.approval) only; each write also refreshes the student's
    public index entry in the same transaction."""

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

    class NationalCheck(models.TextChoices):
        # Apart from audit_state on purpose: a verified record is still "registered" for
        # every count (在读), blocker, index entry and report that asks for REGISTERED;
        # the national check only decides the number (L until verified, then G or J).
        PENDING = "", "待国家校验"
        VERIFIED = "verified", "已通过国家校验"
        FAILED = "failed", "国家校验未通过"

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
    national_check = models.CharField(
        "国家校验", max_length=10, choices=NationalCheck.choices, blank=True, default=""
    )
    national_checked_at = models.DateTimeField("国家校验时间", null=True, blank=True)
    name_initials = models.CharField("拼音首字母", max_length=20, blank=True)
    deleted_reason = models.CharField("删除原因", max_length=200, blank=True)
    # Maker/checker: the school approver must be someone else than the submitter.
    submitted_by = models.CharField("提交人", max_length=80, blank=True)
    # A tombstone left by a merge of duplicates (registry.merge): the identifier of the
    # record this one was merged into; such a record is DELETED and read-only.
    merged_into = models.UUIDField("已合并至", null=True, blank=True, editable=False)
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
