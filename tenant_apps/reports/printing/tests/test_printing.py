"""打印中心 (issue 15, point 4): every document as PDF and Excel for a student, a class, a
grade or the school; who is on it (registry.counts), masking, the class teacher's scope,
another school's ids, the audit log, and large batches as a job whose progress rises.

The fixture school (school A of the test world) gets two classes of its own:

- class K (小学2023级(07)班): 张小明 and 李小红 (registered, 在读), 王草稿 (draft, 在读), 赵休学
  (registered, 休学); all entered 2023-09.
- class G (小学2019级(08)班, graduated 2025): 钱毕业 (registered, 毕业), 孙在读 (registered, 在读).
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from config.celery import app
from django.db import connection
from django.http import FileResponse
from django.test import Client
from openpyxl import load_workbook
from pypdf import PdfReader

from conftest import World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db

FULL_ID = "430181201701010012"
FATHER_PHONE = "13812345678"


@dataclass(frozen=True)
class Fixture:
    k: int  # class ids
    g: int
    ming: str  # student identifiers
    hong: str
    draft: str
    graduate: str
    in_g: str


def _class(entry_year: int, number: int, **extra: Any) -> Any:
    from tenant_apps.registry.models import SchoolClass

    no = SchoolClass.make_class_no("primary", entry_year, number)
    return SchoolClass.objects.create(
        stage="primary", entry_year=entry_year, number=number, class_no=no, **extra
    )


def _student(klass: Any, name: str, number: int, **extra: Any) -> Any:
    from tenant_apps.registry.models import Student

    values: dict[str, Any] = {
        "sex": "1",
        "birth_date": dt.date(2017, 1, 1),
        "ethnicity": "01",
        "household_type": "1",
        "audit_state": Student.Audit.REGISTERED,
        "entry_year_month": f"{klass.entry_year}09",
    }
    return Student.objects.create(
        name=name, school_class=klass, number_in_class=number, **(values | extra)
    )


@pytest.fixture
def school(world: World) -> Fixture:
    from django.utils import timezone

    from tenant_apps.grades.models import Course, Mark
    from tenant_apps.registry.models import FamilyMember, Student

    with school_context(world.a.schema):
        k = _class(2023, 7, teacher_username="printteacher")
        g = _class(2019, 8)
        ming = _student(
            k,
            "张小明",
            1,
            id_number=FULL_ID,
            national_number="G" + FULL_ID,
            current_address="湖南省浏阳市集里街道人民路一段一百二十八号幸福小区三栋二单元",
        )
        FamilyMember.objects.create(
            student=ming, slot=1, name="张大山", relation="1", phone=FATHER_PHONE
        )
        hong = _student(k, "李小红", 2, sex="2")
        draft = _student(k, "王草稿", 3, audit_state=Student.Audit.DRAFT)
        _student(k, "赵休学", 4, status=Student.Status.SUSPENDED)
        graduate = _student(g, "钱毕业", 1, status=Student.Status.GRADUATED)
        in_g = _student(g, "孙在读", 2)
        course, _ = Course.objects.get_or_create(code="P9", defaults={"name": "测试语文"})
        Mark.objects.create(
            student=ming,
            course=course,
            school_year="2025-2026",
            term=1,
            level=Mark.Level.EXCELLENT,
            score=95,
            entered_by="测试",
            entered_at=timezone.now(),
        )
        from accounts.models import User
        from accounts.roles import Right
        from accounts.services import user_create

        if not User.objects.filter(username="printteacher").exists():
            user_create(username="printteacher", full_name="打印班主任", roles=["class_teacher"])
        teacher = User.objects.get(username="printteacher")
        teacher.extra_rights = [Right.REPORTS_PRINT]
        teacher.set_password("Test-Passw0rd-xyz")
        teacher.must_change_password = False
        teacher.save()
        fixture = Fixture(
            k.pk,
            g.pk,
            *(str(s.identifier) for s in (ming, hong, draft, graduate, in_g)),
        )
    connection.set_schema_to_public()
    return fixture


def _post(client: Client, data: dict[str, Any]) -> Any:
    response = client.post("/reports/print/make/", data)
    connection.set_schema_to_public()
    return response


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def _rows(xlsx: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(xlsx)).worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts"


def _pdftoppm_ok(pdf: bytes, name: str) -> bool:
    """Page 1 as a PNG (test-artifacts/print-<name>.png), as a printer would draw it, to
    look at after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.pdf"
        path.write_bytes(pdf)
        done = subprocess.run(  # noqa: S603 - fixed arguments, the test's own file
            [
                "/usr/bin/pdftoppm",
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(path),
                str(ARTIFACTS / f"print-{name}"),
            ],
            check=False,
            capture_output=True,
        )
        return done.returncode == 0 and (ARTIFACTS / f"print-{name}.png").exists()


CASES = [
    # (document, scope, key field, the name that must be on it, extra form fields)
    ("roster", "class", "k", "张小明", {}),
    ("intake", "class", "k", "王草稿", {"year": "2023"}),
    ("graduates", "school", "", "钱毕业", {"year": "2025"}),
    ("card", "student", "ming", "张小明", {}),
    ("check", "student", "ming", "张小明", {}),
    ("transcript", "student", "ming", "张小明", {}),
    ("card", "class", "k", "李小红", {}),
]


@pytest.mark.parametrize(("document", "scope", "key", "name", "extra"), CASES)
def test_every_document_renders_chinese_text_with_its_font_embedded(
    world: World, school: Fixture, document: str, scope: str, key: str, name: str, extra: dict
) -> None:
    registrar = login(world.a.host, "registrar")
    data = {"document": document, "scope": scope, "format": "pdf", **extra}
    if scope == "class":
        data["class_id"] = str(getattr(school, key))
    if scope == "student":
        data["student"] = getattr(school, key)
    response = _post(registrar, data)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    text = _text(pdf)
    assert name in text
    assert world.a.name in text  # the header
    assert "打印日期" in text
    assert "第 1 页" in text
    assert b"/FontFile2" in pdf  # the CJK font travels with the file
    assert _pdftoppm_ok(pdf, f"{document}-{scope}")


def test_who_is_on_each_list_follows_the_one_definition(world: World, school: Fixture) -> None:
    registrar = login(world.a.host, "registrar")

    def names(document: str, **data: str) -> list[str]:
        got = _post(registrar, {"document": document, "format": "xlsx", **data})
        assert got.status_code == 200, got.content[:300]
        return [str(r[1]) for r in _rows(got.content)[1:]]

    # 花名册: 在读 only (the draft and the suspended pupil are not on it)
    assert names("roster", scope="class", class_id=str(school.k)) == ["张小明", "李小红"]
    # 新生名册: every live record that entered in the year, by class
    intake = names("intake", scope="class", class_id=str(school.k), year="2023")
    assert intake == ["张小明", "李小红", "王草稿", "赵休学"]
    assert names("intake", scope="class", class_id=str(school.k), year="2022") == []
    # 毕业生名册: registered with status 毕业, by graduation year (2019 + 6)
    assert names("graduates", scope="grade", grade="primary-2019", year="2025") == ["钱毕业"]
    assert names("graduates", scope="grade", grade="primary-2019", year="2024") == []


def test_rosters_mask_ids_the_card_shows_them_in_full_to_who_may_see_them(
    world: World, school: Fixture
) -> None:
    registrar = login(world.a.host, "registrar")
    roster = _post(registrar, {"document": "roster", "scope": "class", "class_id": school.k})
    text = _text(roster.content)
    assert "张小明" in text
    assert FULL_ID not in text
    assert "4301**********0012" in text
    card = _post(registrar, {"document": "card", "scope": "student", "student": school.ming})
    text = _text(card.content)
    assert FULL_ID in text
    assert "张大山" in text
    assert "父亲" in text
    assert FATHER_PHONE in text
    assert "照片" in text
    assert "汉族" in text
    assert "农业户口" in text
    xlsx = _post(
        registrar,
        {"document": "card", "scope": "class", "class_id": school.k, "format": "xlsx"},
    )
    rows = _rows(xlsx.content)
    assert rows[0][0] == "全国学籍号"
    assert rows[1][0] == "G" + FULL_ID
    assert [r[1] for r in rows[1:]] == ["张小明", "李小红"]
    # one card per page, each class's part on its own pages
    assert (
        _pages(
            _post(registrar, {"document": "card", "scope": "class", "class_id": school.k}).content
        )
        == 2
    )

    # the principal may print nothing here; a print-only account (no 查看学籍) sees masks
    from accounts.models import User
    from accounts.roles import Right

    with school_context(world.a.schema):
        staff = User.objects.get(username="staff")
        staff.extra_rights = [Right.REPORTS_PRINT]
        staff.save()
        from tenant_apps.registry.models import ClassRight

        ClassRight.objects.create(user_username="staff", school_class_id=school.k)
    connection.set_schema_to_public()
    masked = _post(
        login(world.a.host, "staff"),
        {"document": "card", "scope": "student", "student": school.ming},
    )
    assert masked.status_code == 200
    text = _text(masked.content)
    assert "张小明" in text
    assert FULL_ID not in text
    assert FATHER_PHONE not in text


def test_the_check_sheet_has_tick_boxes_and_a_signature_line(world: World, school: Fixture) -> None:
    registrar = login(world.a.host, "registrar")
    sheet = _post(registrar, {"document": "check", "scope": "student", "student": school.ming})
    text = _text(sheet.content)
    assert "学生信息核对表" in text
    assert "□正确" in text
    assert "□有误" in text
    assert "家长（监护人）签字" in text
    assert "日期" in text
    assert FULL_ID in text
    transcript = _post(
        registrar, {"document": "transcript", "scope": "student", "student": school.ming}
    )
    text = _text(transcript.content)
    assert "2025-2026学年第一学期" in text
    assert "测试语文" in text
    assert "优秀" in text
    assert "95" in text
    rows = _rows(
        _post(
            registrar,
            {"document": "transcript", "scope": "class", "class_id": school.k, "format": "xlsx"},
        ).content
    )
    assert rows[1:] == [
        ["小学2023级(07)班", 1, "张小明", "2025-2026", "第一学期", "测试语文", "优秀", 95.0]
    ]


def test_a_class_teacher_prints_their_own_classes_only(world: World, school: Fixture) -> None:
    teacher = login(world.a.host, "printteacher")
    own = _post(teacher, {"document": "roster", "scope": "class", "class_id": school.k})
    assert own.status_code == 200
    assert "张小明" in _text(own.content)
    other = _post(teacher, {"document": "roster", "scope": "class", "class_id": school.g})
    assert other.status_code == 404
    card = _post(teacher, {"document": "card", "scope": "student", "student": school.in_g})
    assert card.status_code == 404
    # "the school" for a class teacher is their classes
    everyone = _post(teacher, {"document": "roster", "scope": "school", "format": "xlsx"})
    assert [r[1] for r in _rows(everyone.content)[1:]] == ["张小明", "李小红"]
    # 查看本班学籍 lets the card show the own pupil's identifiers in full
    assert FULL_ID in _text(
        _post(teacher, {"document": "card", "scope": "student", "student": school.ming}).content
    )
    # the API obeys the same scope
    api = teacher.post(
        "/api/v1/reports/print/",
        {"document": "roster", "scope": "class", "class_id": school.g},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert api.status_code == 404
    # the home page offers only the own classes
    page = teacher.get("/reports/print/").content.decode()
    connection.set_schema_to_public()
    assert "小学2023级(07)班" in page
    assert "小学2019级(08)班" not in page


def test_another_schools_student_or_class_is_not_found(world: World, school: Fixture) -> None:
    from tenant_apps.registry.models import SchoolClass

    with school_context(world.a.schema):
        a_classes = set(SchoolClass.objects.values_list("pk", flat=True))
    with school_context(world.b.schema):
        b_student = _student(SchoolClass.objects.order_by("pk").first(), "乙校学生", 9)
        b_class = next(c.pk for n in range(60, 70) if (c := _class(2022, n)).pk not in a_classes)
    connection.set_schema_to_public()
    registrar = login(world.a.host, "registrar")
    student = {"document": "card", "scope": "student", "student": str(b_student.identifier)}
    assert _post(registrar, student).status_code == 404
    klass = {"document": "roster", "scope": "class", "class_id": str(b_class)}
    assert _post(registrar, klass).status_code == 404
    api = registrar.post("/api/v1/reports/print/", student, content_type="application/json")
    connection.set_schema_to_public()
    assert api.status_code == 404


def test_every_print_is_in_the_audit_log_with_what_scope_and_count(
    world: World, school: Fixture
) -> None:
    from accounts.models import AuditEntry

    registrar = login(world.a.host, "registrar")
    _post(registrar, {"document": "roster", "scope": "class", "class_id": school.k})
    _post(registrar, {"document": "card", "scope": "student", "student": school.ming})
    with school_context(world.a.schema):
        roster, card = AuditEntry.objects.filter(object_type="student").order_by("-at", "-pk")[:2][
            ::-1
        ]
    connection.set_schema_to_public()
    assert roster.action == "read.export"
    assert roster.after["print"] == {
        "document": "roster",
        "scope": "class",
        "key": str(school.k),
        "year": None,
    }
    assert roster.after["rows"] == 2
    assert roster.after["format"] == "pdf"
    assert card.action == "read.export.full"
    assert card.object_id == school.ming
    assert card.after["rows"] == 1


@pytest.fixture
def eager() -> Iterator[None]:
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_a_large_batch_is_a_job_with_rising_progress_and_one_file(
    world: World, school: Fixture, eager: None, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from shared_apps.jobs import services as job_services
    from shared_apps.jobs.models import Job
    from tenant_apps.reports.printing import services

    monkeypatch.setattr(services, "BATCH_THRESHOLD", 2)
    seen: list[int] = []
    real = job_services.job_progress

    def recording(*, job_id: Any, percent: int, message: str = "") -> None:
        seen.append(percent)
        real(job_id=job_id, percent=percent, message=message)

    monkeypatch.setattr(job_services, "job_progress", recording)
    registrar = login(world.a.host, "registrar")
    with django_capture_on_commit_callbacks(execute=True):
        # (the job is sent when the request's transaction commits, in the school's schema)
        started = registrar.post("/reports/print/make/", {"document": "card", "scope": "school"})
    connection.set_schema_to_public()
    assert started.status_code == 302
    job_id = parse_qs(urlparse(started["Location"]).query)["job"][0]
    job = Job.objects.get(pk=job_id)
    assert job.state == Job.State.SUCCEEDED, job.message
    assert "学籍卡片" in job.message
    middle = [p for p in seen if 2 < p < 96]
    assert len(middle) >= 2, seen  # it moved class by class
    assert seen == sorted(seen), seen
    # the page follows the job and links its result
    page = registrar.get(started["Location"]).content.decode()
    connection.set_schema_to_public()
    assert job.result_url in page
    # the owner opens one ZIP with one PDF per class
    to_file = registrar.get(job.result_url)
    connection.set_schema_to_public()
    assert to_file.status_code == 302
    token = job.result_url.rstrip("/").rsplit("/", 1)[-1]
    api_file = registrar.get(f"/api/v1/reports/print/files/{token}/")
    connection.set_schema_to_public()
    assert api_file.status_code == 200
    assert "filename*=UTF-8''" in api_file["Content-Disposition"]  # its readable name
    assert isinstance(api_file, FileResponse)  # streamed, not read whole into memory
    archive = zipfile.ZipFile(io.BytesIO(b"".join(api_file.streaming_content)))
    assert {"小学2023级(07)班.pdf", "小学2019级(08)班.pdf"} <= set(archive.namelist())
    assert "孙在读" in _text(archive.read("小学2019级(08)班.pdf"))
    # nobody else opens it
    approver = login(world.a.host, "admin")
    assert approver.get(f"/api/v1/reports/print/files/{token}/").status_code == 403
    connection.set_schema_to_public()
    assert login(world.a.host, "printteacher").get(job.result_url).status_code == 404
    connection.set_schema_to_public()


def test_the_api_hands_small_scopes_out_and_large_ones_as_a_job(
    world: World, school: Fixture, eager: None, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from shared_apps.jobs.models import Job
    from tenant_apps.reports.printing import services

    registrar = login(world.a.host, "registrar")
    small = registrar.post(
        "/api/v1/reports/print/",
        {"document": "roster", "scope": "class", "class_id": school.k, "format": "xlsx"},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert small.status_code == 200
    assert [r[1] for r in _rows(small.content)[1:]] == ["张小明", "李小红"]
    monkeypatch.setattr(services, "BATCH_THRESHOLD", 1)
    with django_capture_on_commit_callbacks(execute=True):
        large = registrar.post(
            "/api/v1/reports/print/",
            {"document": "roster", "scope": "class", "class_id": school.k, "format": "xlsx"},
            content_type="application/json",
        )
    connection.set_schema_to_public()
    assert large.status_code == 202
    assert large.json()["students"] == 2
    assert Job.objects.get(pk=large.json()["job_id"]).state == Job.State.SUCCEEDED
    bad = registrar.post(
        "/api/v1/reports/print/",
        {"document": "nope", "scope": "class"},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert bad.status_code == 400
