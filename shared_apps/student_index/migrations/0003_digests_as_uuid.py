"""The three keyed digests become PostgreSQL uuid (models.DigestField): 16 bytes each
instead of 32 hex characters of text, and no digest is NULL instead of ""."""

from django.db import migrations

import shared_apps.student_index.models

TABLE = "student_index_indexentry"

FORWARD = [
    f"ALTER TABLE {TABLE} ALTER COLUMN id_hash DROP NOT NULL",
    f"""ALTER TABLE {TABLE}
        ALTER COLUMN id_hash TYPE uuid USING NULLIF(id_hash, '')::uuid,
        ALTER COLUMN name_hash TYPE uuid USING name_hash::uuid,
        ALTER COLUMN pinyin_hash TYPE uuid USING pinyin_hash::uuid""",
]
BACKWARD = [
    f"""ALTER TABLE {TABLE}
        ALTER COLUMN id_hash TYPE varchar(32)
            USING coalesce(replace(id_hash::text, '-', ''), ''),
        ALTER COLUMN name_hash TYPE varchar(32) USING replace(name_hash::text, '-', ''),
        ALTER COLUMN pinyin_hash TYPE varchar(32) USING replace(pinyin_hash::text, '-', '')""",
    f"ALTER TABLE {TABLE} ALTER COLUMN id_hash SET NOT NULL",
]


class Migration(migrations.Migration):
    dependencies = [
        ("student_index", "0002_indexentry_fewer_indexes"),
    ]

    operations = [
        migrations.RunSQL(
            sql=FORWARD,
            reverse_sql=BACKWARD,
            state_operations=[
                migrations.AlterField(
                    model_name="indexentry",
                    name="id_hash",
                    field=shared_apps.student_index.models.DigestField(blank=True, null=True),
                ),
                migrations.AlterField(
                    model_name="indexentry",
                    name="name_hash",
                    field=shared_apps.student_index.models.DigestField(),
                ),
                migrations.AlterField(
                    model_name="indexentry",
                    name="pinyin_hash",
                    field=shared_apps.student_index.models.DigestField(),
                ),
            ],
        ),
    ]
