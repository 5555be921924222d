"""Photos are in the school backup (issue 17 point 1): the photos' objects are kept next
to the dump, and a restore puts them back, into the same school (an object lost since the
backup) and into a new school (at the same keys under its own prefix). Committed data:
pg_dump and psql read it from other connections; the test removes what it made."""

from __future__ import annotations

from conftest import World
from shared_apps.transfers.tests.helpers import make_student
from tenants.context import school_context
from tests.test_photos_transfer import _exists, _photo, _read


def test_the_school_backup_holds_the_photos_and_a_restore_puts_them_back(
    live_db: World,
) -> None:
    from django.core.files.storage import default_storage

    from shared_apps.backups.dump import files_name, school_backup
    from shared_apps.backups.models import SchoolBackup
    from shared_apps.backups.restore import school_restore
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import Student
    from tenants.models import School

    world = live_db
    made = make_student(
        world.c.schema,
        world.c.id,
        name="照片备份",
        id_number="430182201803015029",
        with_marks=False,
    )
    restored_id = None
    key = original = ""
    try:
        key, original = _photo(world.c.schema, made.identifier)
        national = _read(world.c.schema, key)
        backup = school_backup(school_id=world.c.id, kind=SchoolBackup.Kind.MANUAL)
        with school_context("public"):
            assert default_storage.exists(files_name(backup.key))

        # An object lost after the backup comes back with a restore into the school.
        with school_context(world.c.schema):
            default_storage.delete(key)
        assert not _exists(world.c.schema, key)
        school_restore(backup_id=backup.pk, target="same", acting_user=None)
        _public()
        assert _read(world.c.schema, key) == national
        assert _exists(world.c.schema, original)

        # Into a new school: the objects at the same keys under the new school's prefix.
        restored = school_restore(
            backup_id=backup.pk,
            target="new",
            acting_user=None,
            new_code="2143990099",
            new_slug="photocopy",
            new_name="照片恢复测试校",
        )
        restored_id = restored.school_id
        _public()
        assert restored.schema_name != world.c.schema
        assert _read(restored.schema_name, key) == national
        with school_context(restored.schema_name):
            copy = Student.objects.get(identifier=made.identifier)
            assert copy.photos.get(status="current").file_key == key
    finally:
        _public()
        if restored_id is not None:
            from shared_apps.backups.restore import _school_discard

            schema = School.objects.get(pk=restored_id).schema_name
            with school_context(schema):
                for name in (key, original):
                    default_storage.delete(name)
            _school_discard(school_id=restored_id, schema=schema)
        for b in SchoolBackup.objects.filter(school_id=world.c.id):
            with school_context("public"):
                default_storage.delete(b.key.split("/", 1)[1])
                default_storage.delete(files_name(b.key))
            b.delete()
        with school_context(world.c.schema):
            Student.objects.filter(identifier=made.identifier).delete()
            for name in (key, original):
                default_storage.delete(name)
        IndexEntry.objects.filter(student_uuid=made.identifier).delete()


def _public() -> None:
    from django.db import connection

    connection.set_schema_to_public()
