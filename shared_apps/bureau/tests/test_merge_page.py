"""The county's 合并重复学籍 page: an officer finds two records of one school by 全国学籍号,
sees them masked (显示完整信息 audited per record), merges with per-field choices (audit
entries before and after), undoes; another county's officer gets 404 everywhere."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from conftest import World, login
from shared_apps.transfers.tests.helpers import Made, make_student
from tenant_apps.registry.tests.factories import resident_id
from tenants.context import school_context

pytestmark = pytest.mark.django_db

BIRTH = dt.date(2018, 3, 1)


def _pair(world: World) -> tuple[Made, Made]:
    a = world.a
    survivor = make_student(a.schema, a.id, name="合并页面甲", id_number=resident_id(BIRTH, 21))
    merged = make_student(a.schema, a.id, name="合并页面乙", id_number=resident_id(BIRTH, 23))
    connection.set_schema_to_public()
    return survivor, merged


def _entries(action: str, object_type: str) -> list[tuple[str, str]]:
    from accounts.models import AuditEntry

    connection.set_schema_to_public()
    return list(
        AuditEntry.objects.filter(action=action, object_type=object_type)
        .order_by("pk")
        .values_list("object_repr", "object_id")
    )


def test_officer_compares_merges_and_undoes(world: World, bureau_host: str) -> None:
    from common.masking import mask_id_number
    from tenant_apps.registry.models import Student, StudentMerge

    survivor, merged = _pair(world)
    client = login(bureau_host, world.bureau_user)
    query: dict[str, Any] = {
        "school": world.a.id,
        "a": survivor.national_number,
        "b": merged.national_number,
    }
    page = client.get("/bureau/merge/", query)
    assert page.status_code == 200
    html = page.content.decode()
    assert "合并页面甲" not in html  # masked until revealed
    # (the helper's 全国学籍号 is "G" + the ID number; apart from it the ID is masked)
    assert survivor.id_number not in html.replace(survivor.national_number, "")
    assert mask_id_number(survivor.id_number) in html
    assert 'name="choice_id_number"' in html
    assert _entries("read.reveal", "student") == []

    revealed = client.get("/bureau/merge/", query | {"reveal": "1"})
    assert "合并页面甲" in revealed.content.decode()
    assert sorted(i for _, i in _entries("read.reveal", "student")) == sorted(
        [str(survivor.identifier), str(merged.identifier)]
    )

    done = client.post(
        "/bureau/merge/",
        query
        | {
            "survivor": str(survivor.identifier),
            "merged": str(merged.identifier),
            "choice_name": "merged",
            "family_from": "survivor",
            "reason": "重复建籍",
        },
    )
    assert done.status_code == 302
    entries = _entries("write", "student_merge")
    assert [r for r, _ in entries] == [
        f"合并学籍（合并前）：{world.a.name}",
        f"合并学籍（合并后）：{world.a.name}",
    ]
    with school_context(world.a.schema):
        assert Student.objects.get(identifier=survivor.identifier).name == "合并页面乙"
        tomb = Student.objects.get(identifier=merged.identifier)
        assert tomb.merged_into == survivor.identifier
        merge = StudentMerge.objects.get(merged_uuid=merged.identifier)
    connection.set_schema_to_public()
    listing = client.get("/bureau/merge/", {"school": world.a.id}).content.decode()
    assert "撤销合并" in listing
    assert merged.national_number in listing

    undone = client.post(f"/bureau/merge/{world.a.id}/{merge.pk}/undo/")
    assert undone.status_code == 302
    with school_context(world.a.schema):
        assert Student.objects.get(identifier=survivor.identifier).name == "合并页面甲"
        tomb = Student.objects.get(identifier=merged.identifier)
        assert (tomb.audit_state, tomb.merged_into) == ("registered", None)
    connection.set_schema_to_public()
    assert _entries("write", "student_merge")[-1][0] == f"撤销合并学籍：{world.a.name}"
    # A second undo is refused with the reason, nothing else changes.
    again = client.post(f"/bureau/merge/{world.a.id}/{merge.pk}/undo/", follow=True)
    assert "该合并已于" in again.content.decode()


def test_another_countys_officer_cannot_merge_or_undo(world: World, bureau_host: str) -> None:
    from tenant_apps.registry.facade import merge_in_school
    from tenant_apps.registry.models import Student

    survivor, merged = _pair(world)
    intruder = login(bureau_host, world.other_bureau_user)
    query: dict[str, Any] = {
        "school": world.a.id,
        "a": survivor.national_number,
        "b": merged.national_number,
    }
    assert intruder.get("/bureau/merge/", query).status_code == 404
    post = intruder.post(
        "/bureau/merge/",
        query | {"survivor": str(survivor.identifier), "merged": str(merged.identifier)},
    )
    assert post.status_code == 404
    with school_context(world.a.schema):
        assert Student.objects.get(identifier=merged.identifier).merged_into is None
    connection.set_schema_to_public()
    from common.actor import Actor

    done = merge_in_school(
        schema_name=world.a.schema,
        survivor_uuid=survivor.identifier,
        merged_uuid=merged.identifier,
        choices={},
        family_from="survivor",
        actor=Actor(username="liuyang", name="县", schema="public"),
        reason="",
    )
    connection.set_schema_to_public()
    assert intruder.post(f"/bureau/merge/{world.a.id}/{done.merge_id}/undo/").status_code == 404
    with school_context(world.a.schema):
        assert Student.objects.get(identifier=merged.identifier).merged_into == survivor.identifier
    connection.set_schema_to_public()


def test_officer_merges_across_two_schools_of_the_county(world: World, bureau_host: str) -> None:
    from tenant_apps.registry.models import Student, StudentMerge

    survivor = make_student(
        world.a.schema, world.a.id, name="合并页面丙", id_number=resident_id(BIRTH, 41)
    )
    merged = make_student(
        world.b.schema, world.b.id, name="合并页面丁", id_number=resident_id(BIRTH, 43)
    )
    connection.set_schema_to_public()
    client = login(bureau_host, world.bureau_user)
    query: dict[str, Any] = {
        "school": world.a.id,
        "school_b": world.b.id,
        "a": survivor.national_number,
        "b": merged.national_number,
    }
    page = client.get("/bureau/merge/", query).content.decode()
    assert world.b.name in page
    assert 'name="choice_id_number"' in page
    done = client.post(
        "/bureau/merge/",
        query | {"survivor": str(survivor.identifier), "merged": str(merged.identifier)},
    )
    assert done.status_code == 302
    with school_context(world.b.schema):
        assert Student.objects.get(identifier=merged.identifier).merged_into == survivor.identifier
    with school_context(world.a.schema):
        merge = StudentMerge.objects.get(merged_uuid=merged.identifier)
    connection.set_schema_to_public()
    listing = client.get("/bureau/merge/", {"school": world.a.id}).content.decode()
    assert merged.national_number in listing
    assert client.post(f"/bureau/merge/{world.a.id}/{merge.pk}/undo/").status_code == 302
    with school_context(world.b.schema):
        assert Student.objects.get(identifier=merged.identifier).merged_into is None
    connection.set_schema_to_public()
    # The other county's school C cannot be named as either side.
    assert client.get("/bureau/merge/", query | {"school_b": world.c.id}).status_code == 404
