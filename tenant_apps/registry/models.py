"""Classes and students of one school. Schema: each school's own.

The registration issue extends Student to the full national template; this first cut
carries what the platform shell, the demo data and the bureau counts need.
"""

from __future__ import annotations

import uuid

from django.db import models

STAGE_DIGIT = {"primary": "1", "junior": "2", "senior": "3"}
STAGE_NAME = {"primary": "小学", "junior": "初中", "senior": "高中"}


class SchoolClass(models.Model):
    """A class (班级), named for good by its stage and entry year (domain.md §2.2).
    Schema: each school's own. No PII. Written by the demo loader until registration
    services arrive."""

    class Stage(models.TextChoices):
        PRIMARY = "primary", "小学"
        JUNIOR = "junior", "初中"
        SENIOR = "senior", "高中"

    stage = models.CharField("学段", max_length=10, choices=Stage.choices)
    entry_year = models.PositiveSmallIntegerField("入学年份")
    number = models.PositiveSmallIntegerField("班号")
    class_no = models.CharField("班级编号", max_length=7, unique=True, editable=False)
    teacher_name = models.CharField("班主任", max_length=50, blank=True)
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


class Student(models.Model):
    """A student's registry record. Schema: each school's own. PII: name, ID number,
    birth date, codes of places. Written by the demo loader until registration services
    arrive."""

    class Sex(models.TextChoices):
        MALE = "1", "男"
        FEMALE = "2", "女"

    class Status(models.TextChoices):
        # JY/T 1001 XSDQZT codes (domain.md §4.2)
        STUDYING = "01", "在读"
        SUSPENDED = "02", "休学"
        WITHDRAWN = "03", "退学"
        GRADUATED = "07", "毕业"
        TRANSFERRED_OUT = "10", "转学（转出）"
        DECEASED = "11", "死亡"
        OTHER = "99", "其他"

    identifier = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField("姓名", max_length=50)
    sex = models.CharField("性别", max_length=1, choices=Sex.choices)
    birth_date = models.DateField("出生日期")
    id_number = models.CharField("身份证件号", max_length=18, blank=True, db_index=True)
    ethnicity = models.CharField("民族", max_length=2, default="01")
    birthplace = models.CharField("出生地", max_length=12)
    household_region = models.CharField("户口所在地", max_length=12)
    school_class = models.ForeignKey(
        SchoolClass, verbose_name="班级", on_delete=models.PROTECT, related_name="students"
    )
    number_in_class = models.PositiveSmallIntegerField("班内学号")
    entry_year_month = models.CharField("入学年月", max_length=6)
    status = models.CharField(
        "学籍状态", max_length=2, choices=Status.choices, default=Status.STUDYING
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "学生"
        verbose_name_plural = "学生"
        ordering = ["school_class__class_no", "number_in_class"]
        constraints = [
            models.UniqueConstraint(
                fields=["school_class", "number_in_class"], name="registry_student_unique_seat"
            ),
        ]

    def __str__(self) -> str:
        return self.name
