"""The 师训平台教师名单核对 pages as the school administrator uses them (教师信息管理's right,
without 数据导入导出): upload, mapping, correction, the diff with its counts, 确认 with
the new accounts' one-time passwords shown once; the pupils' roster pages and these
never open each other's uploads."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from common.actor import Actor
from conftest import World, login
from tenant_apps.rosters.models import RosterSource, RosterUpload, StagedRow
from tenant_apps.rosters.tests.teacher_file import SPECS, export_xlsx, records_seed
from tenants.context import school_context

pytestmark = pytest.mark.django_db
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _seed(world: World) -> None:
    with school_context(world.a.schema):
        records_seed(Actor(username="admin", name="管理员", schema=world.a.schema))
    connection.set_schema_to_public()


def _latest(world: World) -> RosterUpload:
    with school_context(world.a.schema):
        upload = (
            RosterUpload.objects.filter(source__kind=RosterSource.Kind.TEACHERS)
            .order_by("-created_at")
            .first()
        )
        assert upload is not None
    connection.set_schema_to_public()
    return upload


def test_the_pages_take_the_administrator_from_upload_to_confirmation(world: World) -> None:
    _seed(world)
    client = login(world.a.host, "admin")
    page = client.get("/rosters/teachers/").content.decode()
    assert "师训平台教师名单核对" in page
    file = SimpleUploadedFile("师训平台导出.xlsx", export_xlsx(), content_type=XLSX)
    response = client.post("/rosters/teachers/", {"file": file})
    assert response.status_code == 302
    upload = _latest(world)
    base = f"/rosters/teachers/{upload.pk}/"
    assert response["Location"] == base
    summary = client.get(base).content.decode()
    assert "表头在第2行" in summary
    # The diff with its counts before the corrections, and 确认 not offered yet.
    assert re.search(r'data-kind="new">2<', summary)
    assert re.search(r'data-kind="changed">2<', summary)
    assert re.search(r'data-kind="gone">1<', summary)
    assert "还有 5 行待修改" in summary
    assert re.search(r'<button class="btn primary" type="submit" disabled>确认', summary)
    mapping = client.get(f"{base}mapping/").content.decode()
    assert "基本信息证件号码" in mapping
    assert "出生日期（只核对身份证号）" in mapping
    form = {f"col{ci}": key for ci, key in enumerate(upload.counts["mapping"])}
    form |= {"default_title": "", "default_employment": "established"}
    assert client.post(f"{base}mapping/", form).status_code == 302
    rows = client.get(f"{base}rows/").content.decode()
    # Problem rows with the teacher rules' messages; ID numbers only masked.
    assert "性别为必填项，不能为空。" in rows
    assert "被Excel当作数字保存" in rows
    for spec in SPECS.values():
        assert spec.id_number not in rows
    with school_context(world.a.schema):
        faulty = {r.raw[5]: r.pk for r in StagedRow.objects.filter(upload=upload, state="invalid")}
    connection.set_schema_to_public()
    fixes = {
        "T101": {"f_id_number": SPECS["T101"].id_number},
        "T102": {"f_id_number": SPECS["T102"].id_number},
        "T104": {"f_birth_date": SPECS["T104"].birth.isoformat()},
        "T105": {"f_sex": SPECS["T105"].sex},
        "T107": {"f_id_number": SPECS["T107"].id_number},
    }
    for staff_no, values in fixes.items():
        saved = client.post(
            f"{base}rows/{faulty[staff_no]}/", values | {"back": "state=problem"}, follow=True
        )
        assert "已改正" in saved.content.decode(), staff_no
    summary = client.get(base).content.decode()
    assert re.search(r'data-kind="new">7<', summary)
    assert "待修改" not in summary.split('id="diff"')[1].split("</table>")[0]
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', summary)
    assert fingerprint is not None
    done = client.post(
        f"{base}confirm/", {"fingerprint": fingerprint[1], "open_accounts": "1"}
    ).content.decode()
    # The new accounts' one-time passwords, this once.
    assert "已为新增教师开通账号" in done
    assert len(re.findall(r'<code class="secret">[^<]+</code>', done)) == 7
    again = client.get(base).content.decode()
    assert "已确认" in again
    assert 'class="secret"' not in again
    with school_context(world.a.schema):
        from tenant_apps.registry.models.teachers import Teacher

        assert Teacher.objects.filter(staff_no__startswith="T10").count() == 7
    connection.set_schema_to_public()


def test_each_flow_opens_only_its_own_uploads_and_needs_its_own_right(world: World) -> None:
    _seed(world)
    admin = login(world.a.host, "admin")
    file = SimpleUploadedFile("师训平台导出.xlsx", export_xlsx(fixed=True), content_type=XLSX)
    admin.post("/rosters/teachers/", {"file": file})
    upload = _latest(world)
    registrar = login(world.a.host, "registrar")  # holds both rights
    assert registrar.get(f"/rosters/teachers/{upload.pk}/").status_code == 200
    # The pupils' roster pages do not open a teacher export.
    assert registrar.get(f"/rosters/uploads/{upload.pk}/").status_code == 404
    assert registrar.get(f"/rosters/uploads/{upload.pk}/rows/").status_code == 404
    assert registrar.post(f"/rosters/uploads/{upload.pk}/promote/").status_code == 404
    assert registrar.get(f"/api/v1/rosters/uploads/{upload.pk}/").status_code == 404
    listed = registrar.get("/api/v1/rosters/uploads/?kind=teachers").json()
    assert listed == []
    # A class teacher keeps no teacher records.
    teacher = login(world.a.host, "teacher")
    assert teacher.get("/rosters/teachers/").status_code == 403
    assert teacher.post(f"/rosters/teachers/{upload.pk}/confirm/").status_code == 403
