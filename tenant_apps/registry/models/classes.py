"""Grades, classes, class rights and the field-edit policy of one school (domain.md §2.1,
§2.2). Schema: each school's own. Re-exported by registry.models."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

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
