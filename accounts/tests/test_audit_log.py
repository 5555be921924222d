"""The audit log: every write and sensitive read recorded with who, when, where and what;
searchable and exportable by the school administrator and the school's bureau; append-only
for the application's database user; purged after the retention."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD, SENTINEL_STUDENT, World, login

APPEND_ONLY = "审计日志只能追加，不能修改或删除"


def _last_id(schema: str) -> int:
    from accounts.models import AuditEntry
    from tenants.context import school_context

    with school_context(schema):
        last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    connection.set_schema_to_public()
    return last or 0


def _entries_after(schema: str, last_id: int) -> list[dict[str, Any]]:
    """Entries written in `schema` since `last_id`, oldest first, as plain dicts."""
    from accounts.models import AuditEntry
    from tenants.context import school_context

    with school_context(schema):
        rows = list(
            AuditEntry.objects.filter(id__gt=last_id)
            .order_by("id")
            .values(
                "username",
                "user_display",
                "ip",
                "school",
                "action",
                "object_type",
                "object_id",
                "object_repr",
                "before",
                "after",
                "method",
                "path",
                "status",
            )
        )
    connection.set_schema_to_public()
    return rows  # type: ignore[return-value]


def _record(schema: str, **kwargs: Any) -> None:
    from accounts.audit import audit_record
    from tenants.context import school_context

    with school_context(schema):
        audit_record(**kwargs)
    connection.set_schema_to_public()


def _student(client: Client, seq: int, **overrides: object) -> dict[str, Any]:
    from tenant_apps.registry.tests.factories import valid_row

    created = client.post(
        "/api/v1/students/", valid_row(seq=seq, **overrides), content_type="application/json"
    )
    connection.set_schema_to_public()
    assert created.status_code == 201, created.content
    return created.json()


# -- writes ------------------------------------------------------------------------------

# A write whose service records no entry of its own, so the middleware's generic one is
# what is left (grade and class writes record theirs: registry/tests/test_classes_audit.py).
GENERIC_WRITE = "/api/v1/users/"


def _generic_write(client: Client, n: int, **extra: Any) -> Any:
    body = {"username": f"aud{n}", "full_name": f"审计{n}", "roles": ["subject_teacher"]}
    return client.post(GENERIC_WRITE, body, content_type="application/json", **extra)


def test_a_write_on_the_school_host_records_user_ip_school_path_and_status(
    world: World, db: None
) -> None:
    client = login(world.a.host, "admin")
    last = _last_id(world.a.schema)
    response = _generic_write(client, 9, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 201
    assert _entries_after(world.a.schema, last) == [
        {
            "username": "admin",
            "user_display": "测试甲小学admin",
            "ip": "10.1.2.3",
            "school": world.a.schema,
            "action": "write",
            "object_type": "",
            "object_id": "",
            "object_repr": "",
            "before": {},
            "after": {},
            "method": "POST",
            "path": GENERIC_WRITE,
            "status": 201,
        }
    ]
    assert _entries_after(world.b.schema, _last_id(world.b.schema)) == []


def test_refused_writes_and_token_writes_are_recorded_with_their_user(
    world: World, db: None
) -> None:
    from accounts.models import User
    from accounts.sessions import api_token_issue
    from tenants.context import school_context

    teacher = login(world.a.host, "teacher")
    with school_context(world.a.schema):
        key = api_token_issue(user=User.objects.get(username="admin"), client="t").token
    connection.set_schema_to_public()
    last = _last_id(world.a.schema)
    refused = teacher.post("/api/v1/students/submit/", {"ids": []}, content_type="application/json")
    by_token = _generic_write(Client(HTTP_HOST=world.a.host, HTTP_AUTHORIZATION=f"Token {key}"), 8)
    connection.set_schema_to_public()
    assert (refused.status_code, by_token.status_code) == (403, 201)
    rows = _entries_after(world.a.schema, last)
    assert [(r["username"], r["action"], r["path"], r["status"]) for r in rows] == [
        ("teacher", "write", "/api/v1/students/submit/", 403),
        ("admin", "write", GENERIC_WRITE, 201),
    ]


def test_forwarded_for_is_used_only_when_configured(world: World, db: None, settings) -> None:
    client = login(world.a.host, "admin")
    headers = {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.9"}
    last = _last_id(world.a.schema)
    _generic_write(client, 11, **headers)
    settings.USE_X_FORWARDED_FOR = True
    _generic_write(client, 12, **headers)
    assert [r["ip"] for r in _entries_after(world.a.schema, last)] == ["10.0.0.5", "203.0.113.9"]


def test_auditing_never_fails_the_request(world: World, db: None) -> None:
    client = login(world.a.host, "admin")
    last = _last_id(world.a.schema)
    with mock.patch("accounts.audit.audit_record", side_effect=RuntimeError("disk full")):
        response = _generic_write(client, 10)
    assert response.status_code == 201
    assert _entries_after(world.a.schema, last) == []


def test_a_student_update_entry_carries_before_and_after(world: World, db: None) -> None:
    from tenant_apps.registry.tests.factories import valid_row

    client = login(world.a.host, "registrar")
    student = _student(client, 4101)
    old = valid_row(seq=4101)
    last = _last_id(world.a.schema)
    changed = valid_row(seq=4101, current_address="湖南省浏阳市古港镇新街1号", phone="13912345678")
    response = client.put(
        f"/api/v1/students/{student['id']}/", changed, content_type="application/json"
    )
    # a rejected edit writes no StudentEvent, and its entry carries no stale values
    bad = client.put(
        f"/api/v1/students/{student['id']}/",
        valid_row(seq=4101, phone="12"),
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert (response.status_code, bad.status_code) == (200, 400)
    update, rejected = _entries_after(world.a.schema, last)
    assert update == {
        "username": "registrar",
        "user_display": "测试甲小学registrar",
        "ip": "127.0.0.1",
        "school": world.a.schema,
        "action": "write",
        "object_type": "student",
        "object_id": student["id"],
        "object_repr": old["name"],
        "before": {"current_address": old["current_address"], "phone": "13800004101"},
        "after": {"current_address": "湖南省浏阳市古港镇新街1号", "phone": "13912345678"},
        "method": "PUT",
        "path": f"/api/v1/students/{student['id']}/",
        "status": 200,
    }
    assert (rejected["status"], rejected["before"], rejected["after"]) == (400, {}, {})
    # the log keeps the full values as proof; its lists show them masked
    admin = login(world.a.host, "admin")
    listed = admin.get("/api/v1/audit-log/", {"q": student["id"], "action": "write"}).json()
    assert [(r["before"], r["after"]) for r in listed["results"]] == [
        ({}, {}),
        (
            {"current_address": old["current_address"], "phone": "138****4101"},
            {"current_address": "湖南省浏阳市古港镇新街1号", "phone": "139****5678"},
        ),
    ]


def test_a_created_student_is_named_by_the_page_it_redirects_to(world: World, db: None) -> None:
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.tests.factories import valid_row
    from tenants.context import school_context

    client = login(world.a.host, "registrar")
    last = _last_id(world.a.schema)
    response = client.post("/registry/students/new/", valid_row(seq=4102))
    connection.set_schema_to_public()
    assert response.status_code == 302
    with school_context(world.a.schema):
        identifier = str(Student.objects.get(name=valid_row(seq=4102)["name"]).identifier)
    (entry,) = _entries_after(world.a.schema, last)
    assert (entry["action"], entry["object_type"], entry["object_id"], entry["status"]) == (
        "write",
        "student",
        identifier,
        302,
    )
    assert entry["object_repr"] == valid_row(seq=4102)["name"]


# -- sensitive reads ---------------------------------------------------------------------


def _sentinel_uuid(world: World) -> str:
    from tenant_apps.registry.models import Student
    from tenants.context import school_context

    with school_context(world.a.schema):
        identifier = str(Student.objects.get(name=SENTINEL_STUDENT).identifier)
    connection.set_schema_to_public()
    return identifier


def test_revealing_the_full_id_number_is_recorded_once(world: World, db: None) -> None:
    identifier = _sentinel_uuid(world)
    client = login(world.a.host, "registrar")
    last = _last_id(world.a.schema)
    page = client.post(f"/registry/students/{identifier}/reveal/")
    connection.set_schema_to_public()
    assert page.status_code == 200
    assert "430181201803010016" in page.content.decode()
    assert _entries_after(world.a.schema, last) == [
        {
            "username": "registrar",
            "user_display": "测试甲小学registrar",
            "ip": "127.0.0.1",
            "school": world.a.schema,
            "action": "read.reveal",
            "object_type": "student",
            "object_id": identifier,
            "object_repr": "",
            "before": {},
            "after": {},
            "method": "POST",
            "path": f"/registry/students/{identifier}/reveal/",
            "status": None,
        }
    ]


def test_the_student_page_masks_phones_until_revealed(world: World, db: None) -> None:
    from tenant_apps.registry.models import SchoolClass, Student
    from tenants.context import school_context

    client = login(world.a.host, "registrar")
    student = _student(client, 4104)
    with school_context(world.a.schema):
        no_id = Student.objects.create(
            name="无证学生",
            sex="1",
            birth_date=dt.date(2018, 3, 1),
            id_number="",
            birthplace="430181108000",
            household_region="430181108000",
            school_class=SchoolClass.objects.get(class_no="2024101"),
            number_in_class=2,
            entry_year_month="202409",
            phone="13800009999",
        )
    page = client.get(f"/registry/students/{student['id']}/").content.decode()
    revealed = client.post(f"/registry/students/{student['id']}/reveal/").content.decode()
    no_id_page = client.get(f"/registry/students/{no_id.identifier}/").content.decode()
    no_id_revealed = client.post(f"/registry/students/{no_id.identifier}/reveal/").content.decode()
    connection.set_schema_to_public()
    # the pupil's and both family members' phones
    for masked, full in (
        ("138****4104", "13800004104"),
        ("139****4104", "13900004104"),
        ("137****4104", "13700004104"),
    ):
        assert masked in page
        assert full not in page
        assert full in revealed
    # without an ID number there is no ID reveal button: the phone brings its own
    assert "138****9999" in no_id_page
    assert "13800009999" not in no_id_page
    assert f"/registry/students/{no_id.identifier}/reveal/" in no_id_page
    assert "13800009999" in no_id_revealed


def _export_rows(content: bytes) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=False)) for row in rows]  # type: ignore[arg-type]


def test_exports_mask_phones_and_are_recorded(world: World, db: None) -> None:
    client = login(world.a.host, "registrar")
    student = _student(client, 4103)
    last = _last_id(world.a.schema)
    masked = client.get("/api/v1/students/export/", {"q": student["name"]})
    full = client.get("/api/v1/students/export/", {"q": student["name"], "full": "1"})
    connection.set_schema_to_public()
    assert masked.status_code == full.status_code == 200
    (row,) = _export_rows(masked.content)
    assert (row["联系电话"], row["身份证件号"]) == ("138****4103", student["id_number"])
    (row,) = _export_rows(full.content)
    assert row["联系电话"] == "13800004103"
    assert row["身份证件号"] != student["id_number"]  # the API's list value is masked
    assert len(row["身份证件号"]) == 18
    assert "*" not in row["身份证件号"]
    entries = _entries_after(world.a.schema, last)
    assert [(e["action"], e["object_type"], e["after"], e["method"]) for e in entries] == [
        ("read.export", "student", {"rows": 1, "filters": {"q": student["name"]}}, "GET"),
        ("read.export.full", "student", {"rows": 1, "filters": {"q": student["name"]}}, "GET"),
    ]
    assert {e["username"] for e in entries} == {"registrar"}


def test_file_downloads_are_recorded_on_both_hosts(world: World, db: None) -> None:
    from django.core import signing
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from tenants.context import school_context
    from tenants.storage import SIGNING_SALT

    with school_context(world.a.schema):
        key = default_storage.save("evidence/audit-test.txt", ContentFile(b"evidence"))
    connection.set_schema_to_public()
    school_token = signing.dumps(
        {"s": world.a.schema, "k": key, "h": world.a.schema}, salt=SIGNING_SALT
    )
    bureau_token = signing.dumps({"s": world.a.schema, "k": key, "h": "public"}, salt=SIGNING_SALT)
    registrar = login(world.a.host, "registrar")
    bureau = login(settings.BASE_DOMAIN, world.bureau_user)
    school_last, public_last = _last_id(world.a.schema), _last_id("public")
    assert registrar.get(f"/files/{school_token}/").status_code == 302
    assert bureau.get(f"/files/{bureau_token}/").status_code == 302
    # a link works only on the host it was made on
    assert registrar.get(f"/files/{bureau_token}/").status_code == 404
    assert bureau.get(f"/files/{school_token}/").status_code == 404
    connection.set_schema_to_public()
    (school_entry,) = _entries_after(world.a.schema, school_last)
    (public_entry,) = _entries_after("public", public_last)
    expected = {
        "action": "read.file",
        "object_type": "file",
        "object_repr": key,
        "school": world.a.schema,
        "method": "GET",
    }
    assert {k: school_entry[k] for k in expected} == expected
    assert {k: public_entry[k] for k in expected} == expected
    assert (school_entry["path"], public_entry["path"]) == (
        f"/files/{school_token}/",
        f"/files/{bureau_token}/",
    )
    assert (school_entry["username"], public_entry["username"]) == ("registrar", "liuyang")


def test_s3_downloads_of_evidence_are_recorded_before_the_presigned_url(
    world: World, db: None
) -> None:
    """Pages and APIs hand out /files/<token>/ links, never a presigned S3 URL: the link
    records read.file (who, which file, which school) and only then redirects to S3."""
    import re
    import urllib.request

    from tenant_apps.registry.tests.test_registration_flow import _make_problem, _png

    problem_id = _make_problem(world)
    registrar = login(world.a.host, "registrar")
    upload = io.BytesIO(_png())
    upload.name = "户口簿.png"
    uploaded = registrar.post(f"/api/v1/problems/{problem_id}/evidence/", {"file": upload})
    connection.set_schema_to_public()
    assert uploaded.status_code == 201, uploaded.content

    # the bureau's link (API) and the school's link (page) are both the application's
    bureau = login(settings.BASE_DOMAIN, world.bureau_user)
    (item,) = bureau.get("/api/v1/audit/evidence/").json()["results"]
    page = registrar.get("/registry/problems/").content.decode()
    connection.set_schema_to_public()
    (school_link,) = re.findall(r'href="(/files/[^"]+/)"', page)
    bureau_link = item["file_url"]
    assert bureau_link.startswith("/files/")
    assert "X-Amz" not in bureau_link + page

    school_last, public_last = _last_id(world.a.schema), _last_id("public")
    bureau_get = bureau.get(bureau_link)
    school_get = registrar.get(school_link)
    # opened without a session (a link passed on): the login page, nothing recorded
    anonymous_get = Client(HTTP_HOST=world.a.host).get(school_link)
    connection.set_schema_to_public()
    assert anonymous_get.status_code == 302
    assert anonymous_get["Location"].startswith("/accounts/login/")
    for response in (bureau_get, school_get):
        assert response.status_code == 302
        assert "X-Amz-Signature" in response["Location"]
        with urllib.request.urlopen(response["Location"], timeout=10) as s3:
            assert s3.read() == _png()
    public_rows = _entries_after("public", public_last)
    school_rows = _entries_after(world.a.schema, school_last)
    fields = ("action", "username", "school", "object_type", "after")
    assert [tuple(r[f] for f in fields) for r in public_rows] == [
        ("read.file", "liuyang", world.a.schema, "file", {})
    ]
    assert [tuple(r[f] for f in fields) for r in school_rows] == [
        ("read.file", "registrar", world.a.schema, "file", {}),
    ]
    key = public_rows[0]["object_repr"]
    assert key.startswith("evidence/")
    assert key.endswith(".png")
    assert {r["object_repr"] for r in school_rows} == {key}
    # the other county's bureau and school B never get the file
    other = login(settings.BASE_DOMAIN, world.other_bureau_user)
    assert other.get(bureau_link).status_code == 404
    assert login(world.b.host, "registrar").get(school_link).status_code == 404
    connection.set_schema_to_public()


# -- sign-ins ----------------------------------------------------------------------------


def test_login_logout_and_failed_login_are_recorded(world: World, db: None) -> None:
    from accounts.models import User
    from tenants.context import school_context

    with school_context(world.a.schema):
        teacher_pk = User.objects.get(username="teacher").pk
    connection.set_schema_to_public()
    last = _last_id(world.a.schema)
    client = Client(HTTP_HOST=world.a.host)
    failed = client.post("/accounts/login/", {"username": "teacher", "password": "wrong-one-1"})
    signed_in = client.post("/accounts/login/", {"username": "teacher", "password": PASSWORD})
    signed_out = client.post("/accounts/logout/")
    connection.set_schema_to_public()
    assert (failed.status_code, signed_in.status_code, signed_out.status_code) == (200, 302, 302)
    rows = _entries_after(world.a.schema, last)
    assert [
        (r["action"], r["username"], r["object_type"], r["object_id"], r["path"], r["ip"])
        for r in rows
    ] == [
        ("login.failed", "teacher", "", "", "/accounts/login/", "127.0.0.1"),
        ("login", "teacher", "user", str(teacher_pk), "/accounts/login/", "127.0.0.1"),
        ("logout", "teacher", "user", str(teacher_pk), "/accounts/logout/", "127.0.0.1"),
    ]
    assert {r["school"] for r in rows} == {world.a.schema}


def test_failed_logins_with_unknown_usernames_are_recorded(world: World, db: None) -> None:
    """A name that is no account is recorded with the name tried, the address and the
    host's school, on the page and the token API of both hosts; nobody is created."""
    from accounts.models import User
    from tenants.context import school_context

    school_last, public_last = _last_id(world.a.schema), _last_id("public")
    page = Client(HTTP_HOST=world.a.host, REMOTE_ADDR="10.1.2.3")
    page.post("/accounts/login/", {"username": "ghost-甲", "password": "Wrong-one-123"})
    Client(HTTP_HOST=world.a.host).post(
        "/api/v1/auth/token/",
        {"username": "ghost-api", "password": "Wrong-one-123"},
        content_type="application/json",
    )
    Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR="10.9.8.7").post(
        "/accounts/login/", {"username": "ghost-bureau", "password": "Wrong-one-123"}
    )
    # a known account's failure carries no such mark
    Client(HTTP_HOST=world.a.host).post(
        "/accounts/login/", {"username": "teacher", "password": "Wrong-one-123"}
    )
    connection.set_schema_to_public()
    fields = ("action", "username", "ip", "school", "path", "after")
    assert [tuple(r[f] for f in fields) for r in _entries_after(world.a.schema, school_last)] == [
        (
            "login.failed",
            "ghost-甲",
            "10.1.2.3",
            world.a.schema,
            "/accounts/login/",
            {"unknown_user": True},
        ),
        (
            "login.failed",
            "ghost-api",
            "127.0.0.1",
            world.a.schema,
            "/api/v1/auth/token/",
            {"unknown_user": True},
        ),
        ("login.failed", "teacher", "127.0.0.1", world.a.schema, "/accounts/login/", {}),
    ]
    assert [tuple(r[f] for f in fields) for r in _entries_after("public", public_last)] == [
        (
            "login.failed",
            "ghost-bureau",
            "10.9.8.7",
            "public",
            "/accounts/login/",
            {"unknown_user": True},
        )
    ]
    with school_context(world.a.schema):
        assert not User.objects.filter(username__startswith="ghost").exists()
    connection.set_schema_to_public()
    assert not User.objects.filter(username__startswith="ghost").exists()


def test_bureau_logins_are_recorded_in_public(world: World, db: None) -> None:
    last = _last_id("public")
    login(settings.BASE_DOMAIN, world.bureau_user)
    assert [(r["action"], r["username"], r["school"]) for r in _entries_after("public", last)] == [
        ("login", "liuyang", "public")
    ]


# -- who reads the log -------------------------------------------------------------------


def test_school_admin_sees_own_school_entries_only(world: World, db: None) -> None:
    marker = "审计标记甲"
    _record(world.a.schema, actor="registrar", action="write", object_repr=marker)
    a_admin, b_admin = login(world.a.host, "admin"), login(world.b.host, "admin")
    a_body = a_admin.get("/api/v1/audit-log/", {"q": marker}).json()
    b_all = b_admin.get("/api/v1/audit-log/").json()
    b_marker = b_admin.get("/api/v1/audit-log/", {"q": marker}).json()
    a_page = a_admin.get("/accounts/audit/", {"q": marker}).content.decode()
    b_page = b_admin.get("/accounts/audit/").content.decode()
    connection.set_schema_to_public()
    assert a_body["count"] == 1
    (row,) = a_body["results"]
    assert (row["username"], row["action"], row["object_repr"], row["school"]) == (
        "registrar",
        "write",
        marker,
        world.a.schema,
    )
    assert row["school_name"] == world.a.name
    assert b_marker["count"] == 0
    assert b_all["count"] >= 1  # B's admin did sign in
    assert {r["school"] for r in b_all["results"]} == {world.b.schema}
    assert marker in a_page
    assert marker not in b_page
    assert world.a.schema not in b_page


@pytest.mark.parametrize("username", ["registrar", "approver", "teacher", "staff"])
def test_only_the_school_administrator_reads_the_school_log(
    world: World, db: None, username: str
) -> None:
    client = login(world.a.host, username)
    for path in ("/accounts/audit/", "/accounts/audit/export/", "/api/v1/audit-log/"):
        assert client.get(path).status_code == 403, path
    connection.set_schema_to_public()


def test_filters_by_user_action_and_date(world: World, db: None) -> None:
    marker = "筛选标记"
    old = timezone.now() - dt.timedelta(days=10)
    with mock.patch("django.utils.timezone.now", return_value=old):
        _record(world.a.schema, actor="approver", action="read.export", object_repr=marker)
    _record(world.a.schema, actor="registrar", action="write", object_repr=marker)
    _record(world.a.schema, actor="registrar", action="read.reveal", object_repr=marker)
    admin = login(world.a.host, "admin")

    def found(**params: str) -> list[tuple[str, str]]:
        body = admin.get("/api/v1/audit-log/", {"q": marker, **params}).json()
        return [(r["username"], r["action"]) for r in body["results"]]

    today = timezone.localdate().isoformat()
    assert found() == [
        ("registrar", "read.reveal"),
        ("registrar", "write"),
        ("approver", "read.export"),
    ]
    assert found(user="approver") == [("approver", "read.export")]
    assert found(action="read") == [("registrar", "read.reveal"), ("approver", "read.export")]
    assert found(action="write") == [("registrar", "write")]
    assert found(date_from=today) == [("registrar", "read.reveal"), ("registrar", "write")]
    assert found(date_to=(timezone.localdate() - dt.timedelta(days=1)).isoformat()) == [
        ("approver", "read.export")
    ]
    assert found(date_from="not-a-date", action="no-such") == found()
    connection.set_schema_to_public()


def test_bureau_reads_its_schools_log_and_gets_404_elsewhere(world: World, db: None) -> None:
    marker = "审计标记乙"
    _record(world.a.schema, actor="registrar", action="write", object_repr=marker)
    bureau = login(settings.BASE_DOMAIN, world.bureau_user)
    other = login(settings.BASE_DOMAIN, world.other_bureau_user)
    in_a = bureau.get("/api/v1/audit-log/", {"school_id": world.a.id, "q": marker}).json()  # type: ignore[arg-type]
    own = bureau.get("/api/v1/audit-log/").json()
    page = bureau.get("/accounts/audit/", {"school_id": world.a.id, "q": marker})  # type: ignore[arg-type]
    refused = [
        other.get(path, {"school_id": world.a.id}).status_code
        for path in ("/api/v1/audit-log/", "/accounts/audit/", "/accounts/audit/export/")
    ]
    bad_id = bureau.get("/api/v1/audit-log/", {"school_id": "1 OR 1=1"}).status_code
    other_page = other.get("/accounts/audit/").content.decode()
    connection.set_schema_to_public()
    assert in_a["count"] == 1
    (row,) = in_a["results"]
    assert (row["username"], row["object_repr"], row["school"], row["school_name"]) == (
        "registrar",
        marker,
        world.a.schema,
        world.a.name,
    )
    # without a school: the bureau's own public entries, not another county's
    assert {r["school"] for r in own["results"]} <= {"public", world.a.schema, world.b.schema}
    usernames = {r["username"] for r in own["results"]}
    assert "liuyang" in usernames
    assert "ningxiang" not in usernames
    assert page.status_code == 200
    assert marker in page.content.decode()
    assert refused == [404, 404, 404]
    assert bad_id == 404
    assert world.a.name not in other_page
    assert marker not in other_page


# -- export ------------------------------------------------------------------------------


def test_csv_export_contains_the_rows_and_is_itself_recorded(world: World, db: None) -> None:
    marker = "导出标记"
    _record(
        world.a.schema,
        actor="registrar",
        action="write",
        object_type="student",
        object_id="abc",
        object_repr=marker,
        before={"phone": "13800001234", "id_number": "430181201803010016"},
        after={"phone": "13900005678", "id_number": "430181201803010024"},
    )
    _record(world.a.schema, actor="approver", action="read.reveal", object_repr=marker + "2")
    admin = login(world.a.host, "admin")
    last = _last_id(world.a.schema)
    response = admin.get("/accounts/audit/export/", {"q": marker})
    connection.set_schema_to_public()
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    header, *rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header == [
        "时间",
        "用户名",
        "姓名",
        "IP地址",
        "学校",
        "操作",
        "对象类型",
        "对象编号",
        "对象",
        "修改前",
        "修改后",
        "请求方法",
        "路径",
        "状态码",
    ]
    assert [r[1:] for r in rows] == [
        [
            "approver",
            "",
            "",
            world.a.name,
            "显示完整号码",
            "",
            "",
            marker + "2",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "registrar",
            "",
            "",
            world.a.name,
            "写入",
            "学生",
            "abc",
            marker,
            "联系电话：138****1234；身份证件号：4301**********0016",
            "联系电话：139****5678；身份证件号：4301**********0024",
            "",
            "",
            "",
        ],
    ]
    (entry,) = _entries_after(world.a.schema, last)
    assert (entry["action"], entry["object_type"], entry["username"], entry["after"]) == (
        "read.export",
        "audit_log",
        "admin",
        {"rows": 2, "filters": {"q": marker}},
    )
    assert (entry["method"], entry["path"]) == ("GET", "/accounts/audit/export/")


def test_bureau_export_of_a_school_is_recorded_in_public(world: World, db: None) -> None:
    marker = "局导出标记"
    _record(world.a.schema, actor="registrar", action="write", object_repr=marker)
    bureau = login(settings.BASE_DOMAIN, world.bureau_user)
    last = _last_id("public")
    response = bureau.get("/accounts/audit/export/", {"school_id": world.a.id, "q": marker})  # type: ignore[arg-type]
    connection.set_schema_to_public()
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]
    assert [(r[1], r[4], r[8]) for r in rows] == [("registrar", world.a.name, marker)]
    (entry,) = _entries_after("public", last)
    assert (entry["action"], entry["school"], entry["username"], entry["after"]) == (
        "read.export",
        world.a.schema,
        "liuyang",
        {"rows": 1, "filters": {"q": marker}, "school_id": world.a.id},
    )


# -- append-only and retention -----------------------------------------------------------


@pytest.mark.parametrize("schema", ["a", "public"])
def test_the_log_is_append_only_for_the_application(world: World, db: None, schema: str) -> None:
    from accounts.models import AuditEntry
    from tenants.context import school_context

    name = world.a.schema if schema == "a" else "public"
    _record(name, actor="registrar", action="write", object_repr="不可改")
    attempts = [
        lambda: AuditEntry.objects.filter(object_repr="不可改").update(action="x"),
        lambda: AuditEntry.objects.filter(object_repr="不可改").delete(),
        lambda: AuditEntry.objects.all().delete(),
        lambda: _save_changed(AuditEntry.objects.get(object_repr="不可改")),
        lambda: _sql("UPDATE accounts_auditentry SET action = 'x'"),
        lambda: _sql("DELETE FROM accounts_auditentry"),
    ]
    with school_context(name):
        for attempt in attempts:
            with pytest.raises(DatabaseError, match=APPEND_ONLY), transaction.atomic():
                attempt()
        assert AuditEntry.objects.filter(object_repr="不可改", action="write").count() == 1
    connection.set_schema_to_public()


def _save_changed(entry: Any) -> None:
    entry.action = "x"
    entry.save()


def _sql(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def _aged(schema: str, days: int, marker: str) -> None:
    with mock.patch(
        "django.utils.timezone.now", return_value=timezone.now() - dt.timedelta(days=days)
    ):
        _record(schema, actor="registrar", action="write", object_repr=marker)


def test_purge_deletes_only_entries_older_than_the_retention(world: World, db: None) -> None:
    from accounts.audit import audit_purge
    from accounts.models import AuditEntry
    from tenants.context import school_context

    _aged(world.a.schema, 1096, "过期")
    _aged(world.a.schema, 1094, "未过期")
    _record(world.a.schema, actor="registrar", action="write", object_repr="今天")
    _aged(world.b.schema, 1096, "乙校过期")
    with school_context(world.a.schema):
        assert audit_purge(older_than_days=1095) == 1
        kept = set(AuditEntry.objects.values_list("object_repr", flat=True))
        # the purge's permission ends with it: the same transaction cannot delete again
        with pytest.raises(DatabaseError, match=APPEND_ONLY), transaction.atomic():
            AuditEntry.objects.filter(object_repr="今天").delete()
        with pytest.raises(ValueError, match="at least one day"):
            audit_purge(older_than_days=0)
    with school_context(world.b.schema):
        b_kept = set(AuditEntry.objects.values_list("object_repr", flat=True))
    connection.set_schema_to_public()
    assert "过期" not in kept
    assert {"未过期", "今天"} <= kept
    assert "乙校过期" in b_kept  # another school's schema is purged by its own task


def test_nightly_purge_covers_every_school_and_public(world: World, db: None, settings) -> None:
    from config.celery import app

    from accounts.models import AuditEntry
    from accounts.tasks import audit_purge, audit_purge_fan_out
    from tenants.context import school_context
    from tenants.models import School
    from tenants.services import school_set_status

    assert settings.CELERY_BEAT_SCHEDULE["audit-purge"]["task"] == audit_purge_fan_out.name
    settings.AUDIT_RETENTION_DAYS = 30
    school_set_status(school_id=world.c.id, status=School.Status.SUSPENDED, scope=None)
    _aged("public", 31, "平台过期")
    _aged(world.a.schema, 31, "甲校过期")
    sent: list[str] = []

    def send_task(name: str, *args: Any, **kwargs: Any) -> None:
        sent.append(f"{name}@{connection.schema_name}")

    with mock.patch.object(app, "send_task", side_effect=send_task):
        assert audit_purge_fan_out() == len(sent)
    task = "accounts.tasks.audit_purge"
    assert {f"{task}@{s}" for s in (world.a.schema, world.b.schema, world.c.schema)} <= set(sent)
    assert f"{task}@{settings.TENANT_BASE_SCHEMA}" not in sent
    assert f"{task}@public" not in sent
    connection.set_schema_to_public()
    assert not AuditEntry.objects.filter(object_repr="平台过期").exists()
    with school_context(world.a.schema):
        assert audit_purge() == 1  # what the worker runs in each school
        assert not AuditEntry.objects.filter(object_repr="甲校过期").exists()
    connection.set_schema_to_public()


def test_the_audit_page_shows_no_record_uuid(world: World, db: None) -> None:
    """A write to /api/v1/students/<uuid>/ is listed as /api/v1/students/…/: the page
    names records, it does not print their keys (the CSV keeps them for investigations)."""
    from tenant_apps.registry.tests.factories import valid_row

    registrar = login(world.a.host, "registrar")
    row = valid_row(seq=12001)
    created = registrar.post("/api/v1/students/", row, content_type="application/json")
    assert created.status_code == 201, created.content
    identifier = created.json()["id"]
    changed = registrar.put(
        f"/api/v1/students/{identifier}/",
        row | {"talents": "书法"},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    connection.set_schema_to_public()
    page = login(world.a.host, "admin").get("/accounts/audit/").content.decode()
    connection.set_schema_to_public()
    assert "/api/v1/students/…/" in page
    assert identifier not in page
    assert identifier.replace("-", "") not in page
