"""Courses, the courses each class has in a term, who enters which marks, and the marks.
Schema: each school's own (domain.md §3.14).

A grade-entry cell is one ClassCourse: (class, course, school year, term). At most one
TeachingAssignment per cell (the database enforces it), so a course of a class has one
writer by assignment; the 交叉授权 warning (grades.selectors) catches the other ways a
second ordinary user could write the cell.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from tenant_apps.registry.models import SchoolClass, Student


class Course(models.Model):
    """A course (课程) the school teaches: seeded from JY/T 1001 ZXXKC by a data migration,
    plus school-developed ones (校本课程). Schema: each school's own. No PII. Written by
    grades.services."""

    code = models.CharField("课程代码", max_length=10, unique=True)
    name = models.CharField("课程名称", max_length=50)
    # Stages (SchoolClass.Stage) the course is offered in; empty means every stage.
    stages = ArrayField(models.CharField(max_length=10), verbose_name="适用学段", default=list)
    is_active = models.BooleanField("启用", default=True)
    is_national = models.BooleanField("国家课程代码", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=80, blank=True)

    class Meta:
        verbose_name = "课程"
        verbose_name_plural = "课程"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def fits(self, stage: str) -> bool:
        return not self.stages or stage in self.stages


class ClassCourse(models.Model):
    """A course a class has in one term (班级课程): the grade-entry cell. Schema: each
    school's own. No PII. Written by grades.services."""

    school_class = models.ForeignKey(
        SchoolClass, verbose_name="班级", on_delete=models.CASCADE, related_name="courses"
    )
    course = models.ForeignKey(
        Course, verbose_name="课程", on_delete=models.PROTECT, related_name="classes"
    )
    school_year = models.CharField("学年", max_length=9)
    term = models.PositiveSmallIntegerField("学期")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=80, blank=True)

    class Meta:
        verbose_name = "班级课程"
        verbose_name_plural = "班级课程"
        ordering = ["school_class", "course__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["school_class", "course", "school_year", "term"],
                name="grades_class_course_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(term__in=[1, 2]), name="grades_class_course_term"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_class.name}·{self.course.name}"


class TeachingAssignment(models.Model):
    """成绩录入权限: the ordinary user who enters the marks of one cell. One per cell.
    Schema: each school's own. No PII. Written by grades.services."""

    class_course = models.OneToOneField(
        ClassCourse, verbose_name="班级课程", on_delete=models.CASCADE, related_name="assignment"
    )
    # The teacher's account (username = staff number), as registry.ClassRight names it.
    user_username = models.CharField("工号", max_length=150, db_index=True)
    assigned_at = models.DateTimeField(auto_now=True)
    assigned_by = models.CharField(max_length=80, blank=True)

    class Meta:
        verbose_name = "成绩录入权限"
        verbose_name_plural = "成绩录入权限"
        ordering = ["user_username", "class_course"]

    def __str__(self) -> str:
        return f"{self.user_username}:{self.class_course_id}"


class Mark(models.Model):
    """A student's mark in one course and term (JY/T 1004 课程成绩): the four-level graded
    mark, an optional score and the audit fields of §3.14.6. Schema: each school's own.
    PII: a pupil's results. Written by grades.services.marks_save only."""

    class Level(models.IntegerChoices):
        # Ordered: a higher value is the better mark.
        EXCELLENT = 4, "优秀"
        GOOD = 3, "良好"
        PASS = 2, "合格"
        FAIL = 1, "不合格"

    student = models.ForeignKey(
        Student, verbose_name="学生", on_delete=models.CASCADE, related_name="marks"
    )
    course = models.ForeignKey(
        Course, verbose_name="课程", on_delete=models.PROTECT, related_name="marks"
    )
    school_year = models.CharField("学年", max_length=9)
    term = models.PositiveSmallIntegerField("学期")
    level = models.PositiveSmallIntegerField("等级成绩", choices=Level.choices)
    score = models.DecimalField(
        "分数",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    exam_date = models.DateField("考试日期", null=True, blank=True)
    teacher_number = models.CharField("任课教师工号", max_length=150, blank=True)
    entered_by = models.CharField("录入人", max_length=80)
    entered_at = models.DateTimeField("录入时间")

    class Meta:
        verbose_name = "成绩"
        verbose_name_plural = "成绩"
        ordering = ["school_year", "term", "course__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "course", "school_year", "term"], name="grades_mark_unique"
            ),
            models.CheckConstraint(condition=models.Q(term__in=[1, 2]), name="grades_mark_term"),
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=4), name="grades_mark_level"
            ),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=0, score__lte=100),
                name="grades_mark_score_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student_id}:{self.course_id}:{self.school_year}/{self.term}"
