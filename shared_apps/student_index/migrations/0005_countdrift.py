import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("student_index", "0004_live_counts"),
        ("tenants", "0003_schoolstats_pending"),
    ]

    operations = [
        migrations.CreateModel(
            name="CountDrift",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("found_at", models.DateTimeField(auto_now_add=True)),
                ("cells", models.PositiveIntegerField(verbose_name="不一致的格数")),
                ("indexed", models.PositiveIntegerField(verbose_name="索引计数")),
                ("recorded", models.PositiveIntegerField(verbose_name="学籍计数")),
                ("detail", models.JSONField(default=list)),
                (
                    "school",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.school",
                    ),
                ),
            ],
            options={
                "verbose_name": "实时统计偏差",
                "verbose_name_plural": "实时统计偏差",
                "indexes": [
                    models.Index(
                        fields=["school", "found_at"], name="student_index_drift_school"
                    )
                ],
            },
        ),
    ]
