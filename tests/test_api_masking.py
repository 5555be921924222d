"""The API obeys the pages' masking (issue 11, M4): for every role and every API route of
both hosts, no full ID number (of any family member too), G number or phone leaves
the server unless the caller asked to reveal a student (`?reveal=1` on the student's
detail) and may, as on the page; each reveal is one `read.reveal` audit entry.

The walk reuses the access matrix's role users and route list (tests/test_isolation.py),
so an API added later is checked without editing this file.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection

from accounts.roles import ROLE_RIGHTS, Right
from conftest import World, login
from tests.test_access_matrix import SCHOOL_USERS
from tests.test_isolation import _fill, _routes, a_values  # noqa: F401 - fixture

SEQ = 4321
NEW_PHONE = "13800007777"
SENTINEL_ID = "430181201803010016"
# Any full resident ID (18 characters) or G number, standing alone, besides the known
# values (phones are checked by value: a school's own contact number is public).
FULL_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
FULL_G = re.compile(r"(?<![0-9A-Za-z])G\d{17}[0-9Xx](?![0-9A-Za-z])")
REVEALERS = {
    role
    for role, code in SCHOOL_USERS.items()
    if {Right.REGISTRY_VIEW, Right.REGISTRY_VIEW_OWN} & ROLE_RIGHTS[code]
}


def _entries(schema: str, after_id: int, action: str) -> list[dict[str, Any]]:
    from accounts.models import AuditEntry
    from tenants.context import school_context

    with school_context(schema):
        rows = list(
            AuditEntry.objects.filter(id__gt=after_id, action=action)
            .order_by("id")
            .values("username", "action", "object_type", "object_id", "method", "path")
        )
    connection.set_schema_to_public()
    return rows  # type: ignore[return-value]


def _last_entry(schema: str) -> int:
    from accounts.models import AuditEntry
    from tenants.context import school_context

    with school_context(schema):
        last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    connection.set_schema_to_public()
    return last or 0


@pytest.fixture
def person(world: World, a_values: dict[str, str]) -> dict[str, Any]:  # noqa: F811
    """A pupil of school A's class 2024101 (taught by the class teacher) with both family
    members, a G number, a phone change in the history, an open problem record and an
    import report echoing an ID number and phones; every full value it holds."""
    from tenant_apps.registry.models import ImportBatch, ProblemRecord, SchoolClass, Student
    from tenant_apps.registry.tests.factories import valid_row
    from tenants.context import school_context

    row = valid_row(seq=SEQ)
    registrar = login(world.a.host, "registrar")
    created = registrar.post("/api/v1/students/", row, content_type="application/json")
    assert created.status_code == 201, created.content
    identifier = created.json()["id"]
    changed = registrar.put(
        f"/api/v1/students/{identifier}/",
        row | {"phone": NEW_PHONE},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    connection.set_schema_to_public()
    with school_context(world.a.schema):
        SchoolClass.objects.filter(class_no="2024101").update(teacher_username="teacher")
        student = Student.objects.get(identifier=identifier)
        Student.objects.filter(pk=student.pk).update(
            national_number=f"G{row['id_number']}", number_kind="G"
        )
        problem = ProblemRecord.objects.create(student=student, kind="suspected")
        batch = ImportBatch.objects.create(
            filename="b.xlsx",
            fmt="xlsx",
            file_key="k2",
            created_by="registrar",
            state=ImportBatch.State.READY,
            counts={
                "invalid": 2,
                "normalised": [
                    {
                        "row": 4,
                        "key": "m2_phone",
                        "header": "成员2联系电话",
                        "before": f"{row['m2_phone']} ",
                        "after": str(row["m2_phone"]),
                    }
                ],
            },
            errors=[
                {
                    "row": 2,
                    "key": "id_number",
                    "header": "身份证件号",
                    "value": str(row["id_number"]),
                    "message": "与第3行重复",
                    "kind": "duplicate",
                },
                {
                    "row": 3,
                    "key": "m1_phone",
                    "header": "成员1联系电话",
                    "value": str(row["m1_phone"]),
                    "message": "与学生本人电话相同",
                    "kind": "invalid",
                },
            ],
        )
    connection.set_schema_to_public()
    secrets = [
        str(row[k])
        for k in ("id_number", "phone", "m1_id_number", "m1_phone", "m2_id_number", "m2_phone")
    ]
    return {
        "id": identifier,
        "secrets": [*secrets, NEW_PHONE, SENTINEL_ID],
        "values": a_values
        | {"student_id": identifier, "problem_id": str(problem.pk), "batch_id": str(batch.pk)},
    }


def _leaks(body: str, secrets: list[str]) -> list[str]:
    found = [s for s in secrets if s in body]
    found += FULL_ID.findall(body) + FULL_G.findall(body)
    return found


def _api_routes(urlconf: str) -> list[str]:
    return [r for r in _routes(urlconf) if r.startswith("api/v1/")]


@pytest.mark.parametrize("role", list(SCHOOL_USERS))
def test_no_school_api_shows_a_full_identifier_unless_revealed(
    world: World, person: dict[str, Any], role: str
) -> None:
    """Every GET of the school host's API, plain and with ?reveal=1: masked everywhere
    but in the student's detail asked to reveal by a role the page lets reveal."""
    client = login(world.a.host, role)
    detail = f"api/v1/students/{person['id']}/"
    problems = []
    reached = 0
    for route in _api_routes("config.urls_school"):
        path = _fill(route, person["values"])
        for query in ("", "?reveal=1"):
            response = client.get(path + query)
            connection.set_schema_to_public()
            reached += response.status_code == 200
            leaks = _leaks(response.content.decode("utf-8", "replace"), person["secrets"])
            if path == "/" + detail and query and role in REVEALERS:
                continue  # the one place a reveal is allowed: checked below
            if leaks:
                problems.append(f"GET {path}{query} as {role}: {sorted(set(leaks))}")
    assert problems == []
    assert reached > 0


def test_no_bureau_api_shows_a_full_identifier(
    world: World,
    person: dict[str, Any],
    bureau_host: str,
) -> None:
    client = login(bureau_host, world.bureau_user)
    problems = []
    for route in _api_routes("config.urls_public"):
        path = _fill(route, person["values"])
        for query in ("", "?reveal=1"):
            response = client.get(path + query)
            connection.set_schema_to_public()
            leaks = _leaks(response.content.decode("utf-8", "replace"), person["secrets"])
            if leaks:
                problems.append(f"GET {path}{query}: {sorted(set(leaks))}")
    assert problems == []


def test_the_student_api_masks_like_the_page(world: World, person: dict[str, Any]) -> None:
    """Without a reveal the detail carries the masked values the page shows."""
    body = login(world.a.host, "teacher").get(f"/api/v1/students/{person['id']}/").json()
    connection.set_schema_to_public()
    ident = person["secrets"][0]
    assert body["id_number"] == ident[:4] + "**********" + ident[-4:]
    assert body["national_number"] == "G" + ident[:4] + "**********" + ident[-4:]
    assert body["fields"]["phone"] == NEW_PHONE[:3] + "****" + NEW_PHONE[-4:]
    assert [m["phone"][3:7] for m in body["family"]] == ["****", "****"]
    assert [m["id_number"][4:14] for m in body["family"]] == ["*" * 10, "*" * 10]
    phone_change = next(e["changes"]["phone"] for e in body["history"] if "phone" in e["changes"])
    assert phone_change == [f"138****{SEQ:04d}", "138****7777"]


@pytest.mark.parametrize("role", list(SCHOOL_USERS))
def test_a_reveal_on_the_api_is_granted_and_audited_as_on_the_page(
    world: World, person: dict[str, Any], role: str
) -> None:
    # given
    client = login(world.a.host, role)
    identifier = person["id"]
    last = _last_entry(world.a.schema)
    # when: the plain detail, the API's reveal, the page's reveal
    plain = client.get(f"/api/v1/students/{identifier}/")
    api = client.get(f"/api/v1/students/{identifier}/?reveal=1")
    page = client.post(f"/registry/students/{identifier}/reveal/")
    connection.set_schema_to_public()
    # then
    entries = _entries(world.a.schema, last, "read.reveal")
    if role in REVEALERS:
        assert (plain.status_code, api.status_code, page.status_code) == (200, 200, 200)
        text = api.content.decode()
        assert [s for s in person["secrets"][:7] if s not in text] == []
        assert f'"national_number":"G{person["secrets"][0]}"' in text
        assert "no-store" in api["Cache-Control"]
        assert entries == [
            {
                "username": role,
                "action": "read.reveal",
                "object_type": "student",
                "object_id": identifier,
                "method": "GET",
                "path": f"/api/v1/students/{identifier}/",
            },
            {
                "username": role,
                "action": "read.reveal",
                "object_type": "student",
                "object_id": identifier,
                "method": "POST",
                "path": f"/registry/students/{identifier}/reveal/",
            },
        ]
    else:
        assert api.status_code == page.status_code == 403
        assert entries == []


def test_a_class_teacher_reveals_only_the_own_class(world: World, person: dict[str, Any]) -> None:
    from tenant_apps.registry.models import SchoolClass
    from tenants.context import school_context

    with school_context(world.a.schema):
        SchoolClass.objects.filter(class_no="2024101").update(teacher_username="")
    connection.set_schema_to_public()
    client = login(world.a.host, "teacher")
    last = _last_entry(world.a.schema)
    api = client.get(f"/api/v1/students/{person['id']}/?reveal=1")
    page = client.post(f"/registry/students/{person['id']}/reveal/")
    connection.set_schema_to_public()
    assert (api.status_code, page.status_code) == (404, 404)
    assert _entries(world.a.schema, last, "read.reveal") == []


def test_the_staff_list_api_masks_phones(world: World, db: None) -> None:
    """No page lists staff phones in full, so neither does GET /api/v1/users/."""
    admin = login(world.a.host, "admin")
    created = admin.post(
        "/api/v1/users/",
        {
            "username": "T901",
            "full_name": "钱老师",
            "phone": "13912345678",
            "roles": ["class_teacher"],
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    listed = admin.get("/api/v1/users/")
    connection.set_schema_to_public()
    assert listed.status_code == 200
    body = listed.content.decode()
    assert "13912345678" not in body
    assert next(u for u in listed.json() if u["username"] == "T901")["phone"] == "139****5678"
