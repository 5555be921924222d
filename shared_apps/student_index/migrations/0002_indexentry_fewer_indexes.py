"""Drop the index table's unused indexes; keep the three hash indexes without rebuilding.

`db_index=True` on a CharField gave every hash column and audit_state a second,
varchar_pattern_ops index that only serves LIKE 'prefix%' (no query makes one), plus a
plain index on audit_state (always filtered together with school, which the composite
(school, audit_state) index serves) and one on school_id (the composite's first column).
Every index costs each imported row a random B-tree insert into a table of millions: 12
indexes became 6, and a 48,400-row import's index COPY about 2 s shorter (bench/RESULTS.md).

The state becomes Meta.indexes; the database keeps the existing hash indexes, only
renamed, so a big public index is not rebuilt (and not locked for it) by this migration.
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

HASHES = {
    "id_hash": "student_index_id_hash",
    "name_hash": "student_index_name_hash",
    "pinyin_hash": "student_index_pinyin_hash",
}


def _names(schema_editor: Any) -> tuple[str, Any]:
    # The names Django gave these indexes in 0001 (BaseDatabaseSchemaEditor's own rule).
    return "student_index_indexentry", schema_editor._create_index_name


def forwards(apps: Any, schema_editor: Any) -> None:
    table, name = _names(schema_editor)
    q = schema_editor.quote_name
    for column in (*HASHES, "audit_state"):
        schema_editor.execute(f"DROP INDEX IF EXISTS {q(name(table, [column], suffix='_like'))}")
    for column in ("audit_state", "school_id"):
        schema_editor.execute(f"DROP INDEX IF EXISTS {q(name(table, [column]))}")
    for column, new in HASHES.items():
        schema_editor.execute(f"ALTER INDEX {q(name(table, [column]))} RENAME TO {q(new)}")


def backwards(apps: Any, schema_editor: Any) -> None:
    table, name = _names(schema_editor)
    q = schema_editor.quote_name
    for column, new in HASHES.items():
        schema_editor.execute(f"ALTER INDEX {q(new)} RENAME TO {q(name(table, [column]))}")
    for column in ("audit_state", "school_id"):
        schema_editor.execute(f"CREATE INDEX {q(name(table, [column]))} ON {q(table)} ({q(column)})")
    for column in (*HASHES, "audit_state"):
        schema_editor.execute(
            f"CREATE INDEX {q(name(table, [column], suffix='_like'))}"
            f" ON {q(table)} ({q(column)} varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("student_index", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="indexentry",
                    name="audit_state",
                    field=models.CharField(max_length=20),
                ),
                migrations.AlterField(
                    model_name="indexentry",
                    name="id_hash",
                    field=models.CharField(blank=True, max_length=32),
                ),
                migrations.AlterField(
                    model_name="indexentry",
                    name="name_hash",
                    field=models.CharField(max_length=32),
                ),
                migrations.AlterField(
                    model_name="indexentry",
                    name="pinyin_hash",
                    field=models.CharField(max_length=32),
                ),
                migrations.AlterField(
                    model_name="indexentry",
                    name="school",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.school",
                    ),
                ),
                migrations.AddIndex(
                    model_name="indexentry",
                    index=models.Index(fields=["id_hash"], name="student_index_id_hash"),
                ),
                migrations.AddIndex(
                    model_name="indexentry",
                    index=models.Index(fields=["name_hash"], name="student_index_name_hash"),
                ),
                migrations.AddIndex(
                    model_name="indexentry",
                    index=models.Index(fields=["pinyin_hash"], name="student_index_pinyin_hash"),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
