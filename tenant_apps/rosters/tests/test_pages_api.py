"""The 营养改善计划数据核对 pages and the /api/v1/rosters/ API as the registrar uses them,
the rights they need, and another school's staged ids answering 404."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from conftest import World, login
from tenant_apps.registry.models import Student
from tenant_apps.rosters.models import RosterUpload, StagedRow
from tenant_apps.rosters.tests.roster_file import DEFAULTS, roster_xlsx
from tenants.context import school_context

pytestmark = pytest.mark.django_db
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
START = 33000


def _file(start: int = START, n: int = 20) -> SimpleUploadedFile:
    return SimpleUploadedFile("营养名册.xlsx", roster_xlsx(n, start), content_type=XLSX)


def _latest(world: World) -> tuple[str, int]:
    with school_context(world.a.schema):
        upload = RosterUpload.objects.order_by("-created_at").first()
        assert upload is not None
        pk, ready = str(upload.pk), int(upload.counts.get("ready") or 0)
    connection.set_schema_to_public()
    return pk, ready


def test_the_pages_take_the_registrar_from_upload_to_promotion(world: World) -> None:
    client = login(world.a.host, "registrar")
    page = client.get("/rosters/nutrition/")
    assert page.status_code == 200
    assert "营养改善计划数据核对" in page.content.decode()
    response = client.post("/rosters/nutrition/", {"file": _file()})
    assert response.status_code == 302
    upload_id, _ = _latest(world)
    summary = client.get(f"/rosters/uploads/{upload_id}/").content.decode()
    assert "全部转学籍系统" in summary
    assert "表头在第2行" in summary
    mapping = client.get(f"/rosters/uploads/{upload_id}/mapping/").content.decode()
    assert "家长信息姓名" in mapping
    with school_context(world.a.schema):
        upload = RosterUpload.objects.get(pk=upload_id)
        form = {f"col{ci}": key for ci, key in enumerate(upload.counts["mapping"])}
        match = upload.source.classes.get(class_text="2班")
    connection.set_schema_to_public()
    form |= {f"default_{k}": v for k, v in DEFAULTS.items()}
    assert client.post(f"/rosters/uploads/{upload_id}/mapping/", form).status_code == 302
    classes = client.get(f"/rosters/uploads/{upload_id}/classes/").content.decode()
    assert "按名册新建班级" in classes
    client.post(f"/rosters/uploads/{upload_id}/classes/", {"match": match.pk, "create": "1"})
    rows = client.get(f"/rosters/uploads/{upload_id}/rows/").content.decode()
    # The grid lists problem rows with their messages; ID numbers only masked.
    assert "性别为必填项" in rows
    assert "430181" not in rows.replace("430181*", "")
    with school_context(world.a.schema):
        row = StagedRow.objects.filter(
            upload_id=uuid.UUID(upload_id),
            state=StagedRow.State.INVALID,
            errors__0__kind="required",
        ).first()
        assert row is not None
        sex = "男" if int(row.raw[2][-2]) % 2 else "女"  # the ID number's sex digit
    connection.set_schema_to_public()
    saved = client.post(
        f"/rosters/uploads/{upload_id}/rows/{row.pk}/", {"f_sex": sex, "back": "state=problem"}
    )
    assert saved.status_code == 302
    with school_context(world.a.schema):
        row.refresh_from_db()
        assert row.state == StagedRow.State.READY
        before = Student.objects.count()
    connection.set_schema_to_public()
    _, ready = _latest(world)
    done = client.post(f"/rosters/uploads/{upload_id}/promote/", follow=True)
    assert "已转入学籍系统" in done.content.decode()
    with school_context(world.a.schema):
        assert Student.objects.count() == before + ready
    connection.set_schema_to_public()


def test_the_api_stages_maps_corrects_and_promotes(world: World) -> None:
    client = login(world.a.host, "registrar")
    made = client.post("/api/v1/rosters/uploads/", {"file": _file(START + 100)})
    assert made.status_code == 201, made.content
    body = made.json()
    upload_id = body["id"]
    assert body["headers"][1] == "学生姓名"
    mapping = client.get(f"/api/v1/rosters/uploads/{upload_id}/mapping/").json()
    assert "name" in mapping["targets"]
    put = client.put(
        f"/api/v1/rosters/uploads/{upload_id}/mapping/",
        json.dumps({"mapping": mapping["mapping"], "defaults": DEFAULTS}),
        content_type="application/json",
    )
    assert put.status_code == 200, put.content
    twice = client.put(
        f"/api/v1/rosters/uploads/{upload_id}/mapping/",
        json.dumps({"mapping": ["name"] * len(mapping["mapping"]), "defaults": {}}),
        content_type="application/json",
    )
    assert twice.status_code == 400
    assert "只能对应一列" in twice.content.decode()
    rows = client.get(f"/api/v1/rosters/uploads/{upload_id}/rows/?state=invalid").json()
    assert rows["count"] > 0
    lost = next(r for r in rows["results"] if r["errors"][0]["kind"] == "id_number_as_number")
    assert "*" in lost["cells"]["id_number"] or lost["cells"]["id_number"] == ""
    patched = client.patch(
        f"/api/v1/rosters/uploads/{upload_id}/rows/{lost['id']}/",
        json.dumps({"values": {"name": lost["cells"]["name"]}}),
        content_type="application/json",
    )
    assert patched.status_code == 200
    assert patched.json()["state"] == "invalid"  # the digits are still lost
    promoted = client.post(f"/api/v1/rosters/uploads/{upload_id}/promote/")
    assert promoted.status_code == 200, promoted.content
    assert promoted.json()["written"] > 0
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/rosters/uploads/{upload_id}/promote/" in schema


def test_another_schools_staged_ids_are_404(world: World) -> None:
    client = login(world.a.host, "registrar")
    client.post("/rosters/nutrition/", {"file": _file(START + 200, 10)})
    upload_id, _ = _latest(world)
    with school_context(world.a.schema):
        row = StagedRow.objects.filter(upload_id=uuid.UUID(upload_id)).first()
        assert row is not None
        row_id = row.pk
    connection.set_schema_to_public()
    other = login(world.b.host, "registrar")
    for path in (
        f"/rosters/uploads/{upload_id}/",
        f"/rosters/uploads/{upload_id}/rows/",
        f"/api/v1/rosters/uploads/{upload_id}/",
        f"/api/v1/rosters/uploads/{upload_id}/rows/{row_id}/",
    ):
        assert other.get(path).status_code == 404, path
    assert other.post(f"/rosters/uploads/{upload_id}/promote/").status_code == 404
    assert (
        other.post(f"/rosters/uploads/{upload_id}/rows/{row_id}/", {"f_sex": "男"}).status_code
        == 404
    )
    # The class teacher has no 数据导入导出: refused on the school's own host.
    teacher = login(world.a.host, "teacher")
    assert teacher.get(f"/rosters/uploads/{upload_id}/").status_code == 403
    assert teacher.get("/api/v1/rosters/uploads/").status_code == 403
