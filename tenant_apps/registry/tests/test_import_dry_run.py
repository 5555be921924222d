"""Import of a generated 2,000-row workbook with seeded errors of every kind: exact
counts per kind, nothing written before confirmation, the annotated workbook, both
confirmation modes, re-importing the same file, and refused uploads that leave no trace."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from config.celery import app
from django.core.files.storage import default_storage
from django.db import connection
from openpyxl import Workbook, load_workbook
from stdnum.cn import ric

from conftest import World, login
from tenant_apps.registry.fields import COLUMNS
from tenant_apps.registry.tests.factories import valid_row
from tenants.context import school_context

pytestmark = pytest.mark.django_db
BASE = 5000  # seq offset so these pupils never meet the other tests' pupils


@pytest.fixture
def eager() -> Iterator[None]:
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _wrong_check(id_number: str) -> str:
    right = ric.calc_check_digit(id_number[:17] + "0")
    wrong = "0" if right != "0" else "1"
    return id_number[:17] + wrong


# kind -> (how many rows, how to spoil a row)
SEEDS = {
    "id_check_digit": (30, lambda r: {"id_number": _wrong_check(str(r["id_number"]))}),
    "ethnicity_suffix": (25, lambda r: {"ethnicity": "汉"}),
    "region_unknown": (15, lambda r: {"birthplace": "430181999201"}),
    "name_space": (10, lambda r: {"name": "王 小明"}),
    "date_invalid": (10, lambda r: {"birth_date": "20180230"}),
    "required": (12, lambda r: {"home_address": ""}),
    "code_unknown": (8, lambda r: {"health": "很好"}),
    "phone": (9, lambda r: {"phone": "12345"}),
}
IN_FILE_DUPLICATES = 5
ELSEWHERE_DUPLICATES = 6
TOTAL = 2000


def _workbook(rows: list[dict[str, object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "学生信息"  # type: ignore[union-attr]
    sheet.append([c.header for c in COLUMNS])  # type: ignore[union-attr]
    for row in rows:
        sheet.append([row.get(c.key, "") for c in COLUMNS])  # type: ignore[union-attr]
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rows(world: World) -> tuple[list[dict[str, object]], dict[str, int]]:
    rows = [valid_row(seq=BASE + i) for i in range(TOTAL)]
    expected: dict[str, int] = {}
    i = 0
    for kind, (count, spoil) in SEEDS.items():
        for _ in range(count):
            rows[i].update(spoil(rows[i]))
            i += 1
        expected[kind] = count
    for n in range(IN_FILE_DUPLICATES):  # copies of valid rows further down the file
        rows[i] = dict(rows[TOTAL - 1 - n])
        i += 1
    # pupils already registered in school B
    b = login(world.b.host, "registrar")
    for _ in range(ELSEWHERE_DUPLICATES):
        response = b.post("/api/v1/students/", rows[i], content_type="application/json")
        assert response.status_code == 201, response.content
        i += 1
    connection.set_schema_to_public()
    expected["duplicate"] = IN_FILE_DUPLICATES + ELSEWHERE_DUPLICATES
    return rows, expected


def _upload(client, data: bytes, name: str = "students.xlsx", *, reset: bool = True):
    upload = io.BytesIO(data)
    upload.name = name
    response = client.post("/api/v1/imports/", {"file": upload})
    if reset:
        connection.set_schema_to_public()
    return response


def _count_students(schema: str) -> int:
    from tenant_apps.registry.models import Student

    with school_context(schema):
        return Student.objects.count()


def test_dry_run_counts_every_error_kind_and_writes_nothing_until_confirmed(
    world: World, eager: None, django_capture_on_commit_callbacks
) -> None:
    rows, expected = _rows(world)
    before = _count_students(world.a.schema)
    client = login(world.a.host, "registrar")
    # on_commit callbacks run where the request left the connection: in school A, as
    # they would right after the request's commit in production
    with django_capture_on_commit_callbacks(execute=True):
        started = _upload(client, _workbook(rows), reset=False)
    connection.set_schema_to_public()
    assert started.status_code == 202, started.content
    batch_id = started.json()["id"]
    report = client.get(f"/api/v1/imports/{batch_id}/").json()
    connection.set_schema_to_public()
    counts = report["counts"]
    bad = sum(n for n, _ in SEEDS.values()) + expected["duplicate"]
    assert counts["total"] == TOTAL
    assert counts["invalid"] == bad
    assert counts["valid"] == TOTAL - bad
    assert counts["by_kind"] == expected
    assert report["state"] == "ready"
    assert _count_students(world.a.schema) == before, "nothing is written by the dry run"
    # each error names the Excel row, the column and the rule in Chinese
    first = next(e for e in report["errors"] if e["kind"] == "id_check_digit")
    assert first["row"] == 2
    assert first["header"] == "身份证件号"
    assert "校验" in first["message"]
    elsewhere = [d for d in report["duplicates"] if d["other"]["school_name"] == world.b.name]
    assert len(elsewhere) == ELSEWHERE_DUPLICATES
    assert all("*" in d["other"]["name"] and "*" in d["other"]["id_number"] for d in elsewhere)
    # the annotated workbook marks the bad cells and explains each row
    with school_context(world.a.schema):
        from tenant_apps.registry.models import ImportBatch

        key = ImportBatch.objects.get(pk=batch_id).annotated_key
        annotated = load_workbook(default_storage.open(key, "rb"))
    connection.set_schema_to_public()
    sheet = annotated.worksheets[0]
    id_col = [c.header for c in COLUMNS].index("身份证件号") + 1
    cell = sheet.cell(row=2, column=id_col)
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert "校验" in cell.comment.text  # type: ignore[union-attr]
    assert sheet.cell(row=1, column=sheet.max_column).value == "错误说明"

    # "nothing unless all are valid" is refused while errors remain
    refused = client.post(
        f"/api/v1/imports/{batch_id}/confirm/",
        {"mode": "all_or_nothing"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert _count_students(world.a.schema) == before
    # "only the valid rows" writes exactly those, once
    done = client.post(
        f"/api/v1/imports/{batch_id}/confirm/",
        {"mode": "valid_only"},
        content_type="application/json",
    )
    assert done.status_code == 200, done.content
    assert done.json() == {"written": TOTAL - bad, "skipped": 0}
    assert _count_students(world.a.schema) == before + TOTAL - bad
    again = client.post(
        f"/api/v1/imports/{batch_id}/confirm/",
        {"mode": "valid_only"},
        content_type="application/json",
    )
    assert again.status_code == 400
    assert _count_students(world.a.schema) == before + TOTAL - bad

    # re-importing the same file creates no duplicates: every row is now already here
    with django_capture_on_commit_callbacks(execute=True):
        second = _upload(client, _workbook(rows), reset=False)
    connection.set_schema_to_public()
    report2 = client.get(f"/api/v1/imports/{second.json()['id']}/").json()
    connection.set_schema_to_public()
    assert report2["counts"]["valid"] == 0
    assert report2["counts"]["by_kind"]["duplicate"] == TOTAL - bad + expected["duplicate"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("a.xlsx", b"", "空"),
        ("a.xlsx", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "扩展名"),
        ("a.pdf", b"%PDF-1.4 hello", "xlsx"),
        ("a.csv", b"name\x00,x", "csv"),
    ],
)
def test_refused_uploads_leave_no_trace(world: World, name: str, data: bytes, message: str) -> None:
    from shared_apps.jobs.models import Job
    from tenant_apps.registry.models import ImportBatch

    jobs = Job.objects.count()
    client = login(world.a.host, "registrar")
    response = _upload(client, data, name)
    assert response.status_code == 400
    assert message.lower() in response.json()["error"]["message"].lower()
    assert Job.objects.count() == jobs
    with school_context(world.a.schema):
        assert ImportBatch.objects.count() == 0


def _no_fork() -> int:
    raise BlockingIOError(11, "Resource temporarily unavailable")


def test_the_dry_run_in_two_processes_reports_and_keeps_what_one_process_would(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common import forking
    from common.actor import Actor
    from tenant_apps.registry.imports import pending as pending_rows
    from tenant_apps.registry.imports import pipeline as imports
    from tenant_apps.registry.tasks import import_validate_task

    # given: 300 rows with a bad row at each end of the file and an in-file duplicate
    # across the split, so every kind of finding lands in both processes' shares
    rows = [valid_row(seq=BASE + 3000 + i) for i in range(300)]
    rows[0]["ethnicity"] = "汉"
    rows[299]["phone"] = "12345"
    rows[250] = dict(rows[10])
    data = _workbook(rows)
    monkeypatch.setattr(import_validate_task, "delay", lambda *args: None)
    shares: list[int] = []
    fork_map = imports.fork_map

    def spy(work, parts, **kwargs):
        shares.append(len(parts))
        return fork_map(work, parts, **kwargs)

    monkeypatch.setattr(imports, "fork_map", spy)
    monkeypatch.setattr(imports, "KEYS_CHUNK", 40)  # the child's keys come in pieces
    monkeypatch.setattr(imports, "PARENT_SHARE", 0.43)  # rows 2-130 here, 131-301 there
    asked: list[int] = []
    duplicates_find = imports.duplicates_find

    def asking(keys, **kwargs):
        asked.append(len(keys))  # in this process only
        return duplicates_find(keys, **kwargs)

    monkeypatch.setattr(imports, "duplicates_find", asking)
    outcomes = []
    with school_context(world.a.schema):
        actor = Actor(username="registrar", name="学籍员", schema=world.a.schema)
        for threshold, can_fork in ((10**6, True), (100, True), (100, False)):
            monkeypatch.setattr(imports, "PARALLEL_MIN_ROWS", threshold)
            if not can_fork:  # no process to be had: the child's share runs here
                monkeypatch.setattr(forking.os, "fork", _no_fork)
            batch = imports.import_start(filename="p.xlsx", data=data, actor=actor, owner_id=1)
            done = imports.import_validate(batch_id=str(batch.id))
            with default_storage.open(done.payload_key, "rb") as f:
                pending = pending_rows.payload_load(f.read())
            outcomes.append((done.counts, done.errors, done.duplicates, pending))
    connection.set_schema_to_public()

    assert shares == [1, 2, 2]
    # one process: one 查重 of the 298 valid rows; two: the parent's share (129 rows, one
    # of them invalid), then the child's 170 keys as they came, 40 at a time (the in-file
    # copy is found among the valid rows, after 查重)
    assert asked[:7] == [298, 128, 40, 40, 40, 40, 10]
    assert asked[7:] == [128, 170]  # without a child: both shares checked here, whole
    assert outcomes[2][:3] == outcomes[1][:3]
    assert outcomes[2][3].rows.keys() == outcomes[1][3].rows.keys()
    (counts1, errors1, dups1, pending1), (counts2, errors2, dups2, pending2) = outcomes[:2]
    assert counts1 == counts2
    assert counts2["invalid"] == 3
    assert counts2["valid"] == 297
    assert errors1 == errors2
    assert dups1 == dups2
    assert pending1.rows.row_no == pending2.rows.row_no
    assert pending1.rows.keys() == pending2.rows.keys()
    assert pending1.rows.members == pending2.rows.members
    assert pending1.classes == pending2.classes
