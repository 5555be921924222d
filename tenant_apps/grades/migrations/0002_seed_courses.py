"""Seed each school's course list from JY/T 1001 中小学课程 (ZXXKC, domain.md §3.14.5).
The list stays editable per school: courses can be switched off and school-developed
ones added."""

from django.db import migrations

P, J, S = "primary", "junior", "senior"
ALL: list[str] = []
ZXXKC = [
    ("11", "品德与生活(社会)", [P]),
    ("12", "思想品德(政治)", [J, S]),
    ("13", "语文", ALL),
    ("14", "数学", ALL),
    ("15", "科学", [P, J]),
    ("16", "物理", [J, S]),
    ("17", "化学", [J, S]),
    ("18", "生物", [J, S]),
    ("19", "历史与社会", [J]),
    ("20", "地理", [J, S]),
    ("21", "历史", [J, S]),
    ("22", "体育与健康", ALL),
    ("23", "艺术", ALL),
    ("24", "音乐", ALL),
    ("25", "美术", ALL),
    ("26", "信息技术", [S]),
    ("27", "通用技术", [S]),
    ("40", "外语", ALL),
    ("41", "英语", ALL),
    ("42", "日语", [J, S]),
    ("43", "俄语", [J, S]),
    ("49", "其他外国语", [J, S]),
    ("60", "综合实践活动", ALL),
    ("61", "信息技术", [P, J]),
    ("62", "劳动与技术", [P, J]),
]


def seed(apps, schema_editor):
    Course = apps.get_model("grades", "Course")
    for code, name, stages in ZXXKC:
        Course.objects.get_or_create(
            code=code,
            defaults={"name": name, "stages": stages, "is_national": True, "created_by": "JY/T 1001"},
        )


class Migration(migrations.Migration):
    dependencies = [("grades", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
