"""Imports confirmed before the near-key 查重 moved after the commit (issue 19 point 7,
registry.imports.near_check) had it in their dry run: mark them checked, so that their
report does not wait for a check that will never be queued."""

from django.db import migrations

SQL = """
UPDATE registry_importbatch
SET counts = counts || '{"near_checked": 0}'::jsonb
WHERE state = 'committed' AND NOT counts ? 'near_checked'
"""


class Migration(migrations.Migration):
    dependencies = [("registry", "0016_student_merge")]

    operations = [migrations.RunSQL(SQL, migrations.RunSQL.noop)]
