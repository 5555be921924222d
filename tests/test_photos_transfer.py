"""Photos follow the record (issue 17 point 1): a transfer copies the photo's rows and
objects into the receiving school's prefix (readable there through its own links) and
the sending school keeps its copy with its 转出 record; a transfer failing at any point
leaves no object in the receiving school. The backup: tests/test_photos_backup.py."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import override_settings

from common.actor import Actor
from conftest import World
from shared_apps.transfers.tests.helpers import make_student
from tenants.context import school_context

pytestmark = pytest.mark.django_db

ACTOR = Actor(username="registrar", name="学籍管理员", schema="")


def _photo(schema: str, identifier) -> tuple[str, str]:
    """Give the student a current photo (with its original); (file key, original key)."""
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.photos import services
    from tests.test_photos_single import blue_jpeg

    with school_context(schema):
        student = Student.objects.get(identifier=identifier)
        staged = services.photo_stage(
            student_id=student.pk, data=blue_jpeg(), name="a.jpg", actor=ACTOR
        )
        photo = services.photo_accept(photo_id=staged.pk, actor=ACTOR)
        return photo.file_key, photo.original_key


def _exists(schema: str, key: str) -> bool:
    from django.core.files.storage import default_storage

    with school_context(schema):
        return bool(default_storage.exists(key))


def _read(schema: str, key: str) -> bytes:
    from django.core.files.storage import default_storage

    with school_context(schema), default_storage.open(key, "rb") as f:
        return bytes(f.read())


def _plan(world: World, identifier):
    from tenant_apps.registry.facade import plan_for
    from tenant_apps.registry.models import SchoolClass

    with school_context(world.a.schema):
        target = SchoolClass.objects.order_by("pk").values_list("pk", flat=True)[0]
    connection.set_schema_to_public()
    return plan_for(
        identifier=identifier,
        sending_id=world.b.id,
        receiving_id=world.a.id,
        target_class_id=target,
        actor_label="测试",
        note="转学（测试）",
    )


def test_a_transfer_carries_the_photo_and_the_sender_keeps_its_copy(world: World) -> None:
    from tenant_apps.registry.facade import student_move
    from tenant_apps.registry.models import Student, StudentPhoto
    from tenant_apps.registry.photos import selectors

    made = make_student(world.b.schema, world.b.id, name="照片转学", id_number="430181201803015001")
    key, original = _photo(world.b.schema, made.identifier)
    national = _read(world.b.schema, key)
    assert not _exists(world.a.schema, key)

    result = student_move(_plan(world, made.identifier))
    assert result.copied["registry.studentphoto"] == 1
    with school_context(world.a.schema):
        moved = Student.objects.get(identifier=made.identifier)
        photo = selectors.photo_current(student_id=moved.pk)
        assert photo is not None
        assert (photo.file_key, photo.original_key) == (key, original)
        assert photo.status == StudentPhoto.Status.CURRENT
        link = selectors.photo_url(photo)
    assert _read(world.a.schema, key) == national, "readable at the new school"
    assert _exists(world.a.schema, original)
    assert _exists(world.b.schema, key), "the sending school keeps its copy"
    with school_context(world.b.schema):
        assert StudentPhoto.objects.filter(student__identifier=made.identifier).count() == 1
    from tenants.storage import download_grant

    grant = download_grant(link.split("/")[2])
    assert grant is not None
    assert (grant.schema, grant.key) == (world.a.schema, key)


@pytest.mark.parametrize("point", ["after_receiving_write", "after_source_write", "before_commit"])
def test_a_failed_transfer_leaves_no_photo_behind(world: World, point: str) -> None:
    from tenant_apps.registry.facade import student_move
    from tenant_apps.registry.facade.move import InjectedFailure
    from tenant_apps.registry.models import Student, StudentPhoto

    made = make_student(
        world.b.schema, world.b.id, name="照片转学败", id_number="430181201803015010"
    )
    key, original = _photo(world.b.schema, made.identifier)
    plan = _plan(world, made.identifier)
    with (
        override_settings(TRANSFERS_FAIL_AT=point),
        pytest.raises(InjectedFailure),
        transaction.atomic(),
    ):
        student_move(plan)
    connection.set_schema_to_public()
    assert not _exists(world.a.schema, key)
    assert not _exists(world.a.schema, original)
    assert _exists(world.b.schema, key)
    with school_context(world.a.schema):
        assert not Student.objects.filter(identifier=made.identifier).exists()
        assert not StudentPhoto.objects.filter(file_key=key).exists()
