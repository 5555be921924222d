"""导出Excel from the list runs as a job (issue 12, point 8: progress moves with the
work, a finished job says what it did): the list follows its progress, the job's
result link opens the file for the account that asked for it and nobody else, and the
export is in the audit log from the moment it is asked for."""

from __future__ import annotations

import io
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from config.celery import app
from django.db import connection
from openpyxl import load_workbook

from conftest import World, login
from tenant_apps.registry.tests.factories import valid_row
from tenants.context import school_context

pytestmark = pytest.mark.django_db
BASE = 13000


@pytest.fixture
def eager() -> Iterator[None]:
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_the_list_exports_through_a_job_whose_file_only_its_owner_opens(
    world: World, eager: None, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from accounts.models import AuditEntry
    from shared_apps.jobs import services as job_services
    from shared_apps.jobs.models import Job
    from tenant_apps.registry.students import exports

    registrar = login(world.a.host, "registrar")
    rows = [valid_row(BASE + i, name=f"导出{'甲乙丙丁戊己'[i]}明") for i in range(6)]
    for row in rows:
        created = registrar.post("/api/v1/students/", row, content_type="application/json")
        assert created.status_code == 201, created.content
    connection.set_schema_to_public()
    seen: list[int] = []
    real_progress = job_services.job_progress

    def recording(*, job_id, percent, message=""):
        seen.append(percent)
        real_progress(job_id=job_id, percent=percent, message=message)

    monkeypatch.setattr(job_services, "job_progress", recording)
    monkeypatch.setattr(exports, "PROGRESS_ROWS", 2)

    with django_capture_on_commit_callbacks(execute=True):
        started = registrar.post("/registry/students/export/", {"q": "导出"})
    connection.set_schema_to_public()
    assert started.status_code == 302
    job_id = parse_qs(urlparse(started["Location"]).query)["job"][0]
    job = Job.objects.get(pk=job_id)
    assert job.state == Job.State.SUCCEEDED
    assert job.message.startswith("已导出 6 名学生")
    assert len([p for p in seen if 0 < p < 95]) >= 3, seen  # progress moved with the rows
    assert seen == sorted(seen)
    with school_context(world.a.schema):
        entry = AuditEntry.objects.filter(action="read.export").latest("at")
        assert entry.after["rows"] == 6
    # the list shows the job with its result link
    page = registrar.get(started["Location"]).content.decode()
    connection.set_schema_to_public()
    assert job.result_url in page

    # the owner opens the file: a /files/ link made for them, then the workbook
    to_file = registrar.get(job.result_url)
    connection.set_schema_to_public()
    assert to_file.status_code == 302
    got = registrar.get(to_file["Location"])
    connection.set_schema_to_public()
    assert got.status_code in {200, 302}
    body = b"".join(got.streaming_content) if got.status_code == 200 else _s3(got["Location"])  # type: ignore[attr-defined]
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    names = {str(sheet.cell(row=r, column=1).value) for r in range(2, sheet.max_row + 1)}
    assert names == {str(r["name"]) for r in rows}
    assert not any(str(r["id_number"]) in str(c.value) for r in rows for c in sheet[2])

    # anyone else, holder of the same right or not, gets nothing from that link
    approver = login(world.a.host, "approver")
    assert approver.get(job.result_url).status_code == 404
    connection.set_schema_to_public()
    assert registrar.get(job.result_url.replace("/export/", "/export/x")).status_code == 404
    connection.set_schema_to_public()


def _s3(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url) as response:  # noqa: S310 - the test's own moto server
        return response.read()
