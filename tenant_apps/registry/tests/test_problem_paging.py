"""The 问题学籍 list pages (issue 12: every list pages), and an action on a record sends
the user back to the page that shows it."""

from __future__ import annotations

import pytest
from django.db import connection

from conftest import World, login
from tenant_apps.registry.tests.factories import valid_row
from tenants.context import school_context

pytestmark = pytest.mark.django_db
BASE = 11000


def test_problem_records_page_and_an_action_returns_to_its_page(world: World) -> None:
    from tenant_apps.registry.models import ProblemRecord, Student
    from tenant_apps.registry.problems.views import PROBLEMS_PAGE_SIZE

    registrar = login(world.a.host, "registrar")
    ids = []
    for i in range(PROBLEMS_PAGE_SIZE + 5):
        created = registrar.post(
            "/api/v1/students/", valid_row(BASE + i), content_type="application/json"
        )
        assert created.status_code == 201, created.content
        ids.append(created.json()["id"])
    connection.set_schema_to_public()
    with school_context(world.a.schema):
        problems = [
            ProblemRecord.objects.create(
                student=Student.objects.get(identifier=identifier), kind="suspected"
            )
            for identifier in ids
        ]
    first = registrar.get("/registry/problems/").content.decode()
    second = registrar.get("/registry/problems/?page=2").content.decode()
    connection.set_schema_to_public()
    assert first.count('class="card problem"') == PROBLEMS_PAGE_SIZE
    assert second.count('class="card problem"') == 5
    assert "第 2 / 2 页" in second
    oldest = problems[0]  # newest first: the first made is on the last page
    assert f'id="p{oldest.pk}"' in second
    import io

    fake = io.BytesIO(b"not a picture")
    fake.name = "户口簿.png"
    # a refused upload sends the user back to the record, on its page
    back = registrar.post(f"/registry/problems/{oldest.pk}/evidence/", {"file": fake})
    connection.set_schema_to_public()
    assert back.status_code == 302
    assert back["Location"].endswith(f"/registry/problems/?page=2#p{oldest.pk}")
