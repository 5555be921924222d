"""Grades as rows, class teachers picked from the user list (issue 13).

The free-text class teacher name becomes `legacy_teacher_name`: where exactly one active
account of the school carries that name, the class gets it as its 班主任 and the text is
cleared; otherwise the text stays visible on the class page until a 班主任 is picked.
Every (stage, entry year) that has a class gets its Grade row.
"""

import django.contrib.postgres.fields
from django.db import migrations, models


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    SchoolClass = apps.get_model("registry", "SchoolClass")
    Grade = apps.get_model("registry", "Grade")
    User = apps.get_model("accounts", "User")
    by_name: dict[str, list[str]] = {}
    for username, full_name in User.objects.filter(is_active=True).values_list(
        "username", "full_name"
    ):
        by_name.setdefault(full_name.strip(), []).append(username)
    for klass in SchoolClass.objects.exclude(legacy_teacher_name=""):
        if klass.teacher_username:
            klass.legacy_teacher_name = ""
        else:
            matches = by_name.get(klass.legacy_teacher_name.strip(), [])
            if len(matches) == 1:
                klass.teacher_username, klass.legacy_teacher_name = matches[0], ""
        klass.save(update_fields=["teacher_username", "legacy_teacher_name"])
    for stage, entry_year in SchoolClass.objects.values_list("stage", "entry_year").distinct():
        Grade.objects.get_or_create(stage=stage, entry_year=entry_year)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Nothing to undo: the teacher names stay in the (renamed-back) column."""


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0006_member_student_index_dropped"),
        ("accounts", "0005_extra_rights_registrar_term"),
    ]

    operations = [
        migrations.RenameField(
            model_name="schoolclass", old_name="teacher_name", new_name="legacy_teacher_name"
        ),
        migrations.AlterField(
            model_name="schoolclass",
            name="legacy_teacher_name",
            field=models.CharField(blank=True, max_length=50, verbose_name="原登记班主任姓名"),
        ),
        migrations.AddField(
            model_name="schoolclass",
            name="composite_years",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.PositiveSmallIntegerField(),
                blank=True,
                default=list,
                size=None,
                verbose_name="复式班包含的其他年级",
            ),
        ),
        migrations.AlterField(
            model_name="schoolclass",
            name="class_type",
            field=models.CharField(
                choices=[
                    ("10", "普通小学班"),
                    ("11", "少数民族小学班"),
                    ("12", "小学复式班"),
                    ("13", "小学教学点班"),
                    ("14", "小学特长班"),
                    ("15", "视力残疾班（小学）"),
                    ("16", "听力残疾班（小学）"),
                    ("17", "智力残疾班（小学）"),
                    ("20", "普通初中班"),
                    ("21", "少数民族初中班"),
                    ("22", "初中复式班"),
                    ("23", "初中教学点班"),
                    ("24", "初中特长班"),
                    ("25", "视力残疾班（初中）"),
                    ("26", "听力残疾班（初中）"),
                    ("27", "智力残疾班（初中）"),
                    ("40", "普通高中班"),
                    ("41", "少数民族高中班"),
                    ("42", "高中特长班"),
                ],
                default="10",
                max_length=2,
                verbose_name="班级类型",
            ),
        ),
        migrations.AlterField(
            model_name="schoolclass",
            name="teacher_username",
            field=models.CharField(
                blank=True, db_index=True, max_length=150, verbose_name="班主任"
            ),
        ),
        migrations.CreateModel(
            name="Grade",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "stage",
                    models.CharField(
                        choices=[("primary", "小学"), ("junior", "初中"), ("senior", "高中")],
                        max_length=10,
                        verbose_name="学段",
                    ),
                ),
                ("entry_year", models.PositiveSmallIntegerField(verbose_name="入学年份")),
                ("head_name", models.CharField(blank=True, max_length=50, verbose_name="年级段长")),
                (
                    "head_username",
                    models.CharField(blank=True, max_length=150, verbose_name="年级段长账号"),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "verbose_name": "年级",
                "verbose_name_plural": "年级",
                "ordering": ["stage", "-entry_year"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("stage", "entry_year"), name="registry_grade_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
