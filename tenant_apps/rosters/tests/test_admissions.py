"""招生 consistency (issue 18 point 4): the county's admitted list published per school,
the diff's three kinds on a fixture with known answers, the registration refused
without a match (single entry and import row) unless the county excepts the pupil
(audited), no list → no block, and the county-wide file split per school without
reaching another county's school."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from accounts.models import AuditEntry
from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_id_number
from conftest import SENTINEL_STUDENT, World, login
from tenant_apps.registry.imports.export import rows_export
from tenant_apps.registry.imports.pipeline import import_validate
from tenant_apps.registry.models import ImportBatch, Student
from tenant_apps.registry.students.services import student_register
from tenant_apps.registry.tests.factories import resident_id, valid_row
from tenant_apps.rosters import admissions
from tenant_apps.rosters.diff import Person, roster_diff
from tenant_apps.rosters.models import AdmissionList, AdmittedPupil
from tenants.context import school_context

pytestmark = pytest.mark.django_db
HEADER = "姓名,性别,出生日期,身份证件号,录取班级"
BASE = 61000  # factories seqs used here (apart from other suites')
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _line(seq: int, **change: str) -> str:
    row = valid_row(BASE + seq)
    cells = {
        "name": row["name"],
        "sex": row["sex"],
        "birth_date": row["birth_date"],
        "id_number": row["id_number"],
        "place": "一年级1班",
    } | change
    return ",".join(cells.values())


def _actor(schema: str) -> Actor:
    return Actor(username="registrar", name="登记员", schema=schema)


def _register(schema: str, seq: int) -> Student:
    return student_register(raw=valid_row(BASE + seq), actor=_actor(schema))


def _known_list() -> bytes:
    """Pupils 0–4 registered with known differences in 1–4, 5 registered only, 100 and
    101 admitted only."""
    birth4 = dt.datetime.strptime(valid_row(BASE + 4)["birth_date"], "%Y%m%d").date()  # noqa: DTZ007
    birth2 = valid_row(BASE + 2)["birth_date"]
    other_day = str(int(birth2) + 1)
    lines = [
        HEADER,
        _line(0),
        _line(1, name="李改名"),  # name differs
        _line(2, birth_date=other_day),  # birth date differs
        _line(3, sex="男"),  # sex differs (pupil 3 is a girl)
        _line(4, id_number=resident_id(birth4, 3)),  # another number, same birth and sex
        _line(100),
        _line(101),
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _publish(schema: str, data: bytes, year: int = 2024) -> AdmissionList:
    with school_context(schema):
        admission = admissions.list_publish(
            stage="primary",
            entry_year=year,
            filename="录取名单.csv",
            data=data,
            actor=_actor(schema),
        )
    connection.set_schema_to_public()
    return admission


def test_the_diff_pairs_on_one_unique_key_after_another() -> None:
    a = Person("第2行", "张三", "1", dt.date(2018, 1, 1), "X1")
    b = Person("1", "张三", "1", dt.date(2018, 1, 2), "")
    # two 李四 born the same day on one side: neither is guessed at
    c1 = Person("第3行", "李四", "1", dt.date(2018, 2, 1))
    c2 = Person("第4行", "李四", "1", dt.date(2018, 2, 1))
    d = Person("2", "李四", "1", dt.date(2018, 2, 1))
    diff = roster_diff([a, c1, c2], [b, d])
    assert diff.matched == 1
    assert [(m.key, m.listed, m.registry) for m in diff.mismatched[0].fields] == [
        ("birth_date", "2018-01-01", "2018-01-02"),
        ("id_number", "X1", ""),
    ]
    assert {p.ref for p in diff.only_listed} == {"第3行", "第4行"}
    assert [p.ref for p in diff.only_registry] == ["2"]


def test_the_three_kinds_on_a_fixture_with_known_answers(world: World) -> None:
    with school_context(world.a.schema):
        students = {n: _register(world.a.schema, n) for n in range(6)}
    connection.set_schema_to_public()
    admission = _publish(world.a.schema, _known_list())
    assert admission.counts == {"rows": 7, "admitted": 7, "unreadable": 0}
    with school_context(world.a.schema):
        found = admissions.intake_diff("primary", 2024)
        assert found is not None
        diff = found.diff
        names = {n: s.name for n, s in students.items()}
        assert {p.name for p in diff.only_registry} == {names[5], SENTINEL_STUDENT}
        assert {p.name for p in diff.only_listed} == {
            valid_row(BASE + 100)["name"],
            valid_row(BASE + 101)["name"],
        }
        got = {
            pair.registry.name: [(m.key, m.listed, m.registry) for m in pair.fields]
            for pair in diff.mismatched
        }
        birth2 = students[2].birth_date
        assert got == {
            names[1]: [("name", "李改名", names[1])],
            names[2]: [
                ("birth_date", f"{birth2 + dt.timedelta(days=1):%Y-%m-%d}", f"{birth2:%Y-%m-%d}")
            ],
            names[3]: [("sex", "男", "女")],
            names[4]: [
                (
                    "id_number",
                    resident_id(students[4].birth_date, 3),
                    students[4].id_number,
                )
            ],
        }
        assert diff.matched == 5
        assert diff.kinds == {"name": 1, "birth_date": 1, "sex": 1, "id_number": 1}
        # The page shows it masked: no whole ID number.
        shown = admissions.intake_shown("primary", 2024)
        assert shown is not None
        assert shown.counts["mismatched"] == 4
        id_rows = [m for p in shown.mismatched for m in p.fields if m.label == "身份证件号"]
        assert students[4].id_number not in (id_rows[0].listed, id_rows[0].registry)
        assert "*" in id_rows[0].registry
    connection.set_schema_to_public()


def test_the_school_page_and_its_export(world: World) -> None:
    with school_context(world.a.schema):
        _register(world.a.schema, 0)
    connection.set_schema_to_public()
    client = login(world.a.host, "registrar")
    empty = client.get("/rosters/admissions/?stage=primary&year=2024").content.decode()
    assert "尚未发布2024级小学一年级的录取名单" in empty
    _publish(world.a.schema, _known_list())
    page = client.get("/rosters/admissions/?stage=primary&year=2024").content.decode()
    assert "李改名" in page
    assert "关键字段不一致" in page
    assert valid_row(BASE + 100)["id_number"] not in page  # masked
    response = client.get("/rosters/admissions/export/?stage=primary&year=2024")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    with school_context(world.a.schema):
        assert AuditEntry.objects.filter(action="read.export", object_type="admissions").exists()
    connection.set_schema_to_public()


def test_registration_is_refused_without_a_match_unless_the_county_excepts(
    world: World, bureau_host: str
) -> None:
    schema = world.a.schema
    _publish(schema, _known_list())
    with school_context(schema):
        assert _register(schema, 100).pk  # on the list: registered
        with pytest.raises(ApplicationError) as refused:
            _register(schema, 200)
        assert "不在县招生系统的2024级小学一年级录取名单中，不能注册" in refused.value.message
        assert "请县教育局为该生开具例外" in refused.value.message
        assert valid_row(BASE + 200)["id_number"] not in refused.value.message
        assert refused.value.extra["id_number"] == [refused.value.message]
        # it names the pupil by its ID number, masked as every list masks it
        assert mask_id_number(valid_row(BASE + 200)["id_number"]) in refused.value.message
        assert not Student.objects.filter(id_number=valid_row(BASE + 200)["id_number"]).exists()
    connection.set_schema_to_public()
    # The county excepts pupil 200: audited in the bureau's log, then the school registers.
    client = login(bureau_host, "liuyang")
    response = client.post(
        f"/bureau/admissions/{world.a.id}/overrides/",
        {
            "stage": "primary",
            "year": "2024",
            "id_number": valid_row(BASE + 200)["id_number"],
            "reason": "随迁子女，县教育局统筹安排",
        },
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(object_type="admission_override")
    assert entry.username == "liuyang"
    assert entry.after == {"reason": "随迁子女，县教育局统筹安排", "state": "granted"}
    assert valid_row(BASE + 200)["id_number"] not in entry.object_repr
    with school_context(schema):
        assert _register(schema, 200).pk
        shown = admissions.intake_shown("primary", 2024)
        assert shown is not None
        assert shown.counts["excepted"] == 1
        override_id = admissions.overrides_of("primary", 2024)[0].pk
    connection.set_schema_to_public()
    page = login(world.a.host, "registrar").get("/rosters/admissions/?stage=primary&year=2024")
    assert "随迁子女，县教育局统筹安排" in page.content.decode()
    # Revoked (audited): the next such pupil is refused again.
    revoked = client.post(
        f"/bureau/admissions/{world.a.id}/overrides/{override_id}/revoke/",
        {"stage": "primary", "year": "2024", "reason": "开具有误"},
    )
    assert revoked.status_code == 302
    assert AuditEntry.objects.filter(
        object_type="admission_override", after__state="revoked"
    ).exists()
    with school_context(schema), pytest.raises(ApplicationError):
        admissions.override_grant(
            stage="primary",
            entry_year=2024,
            name="",
            sex="",
            birth_date=None,
            id_number="",
            reason="x",
            actor=_actor(schema),
        )
    connection.set_schema_to_public()


def test_an_import_row_without_a_match_is_refused_with_its_row_and_field(world: World) -> None:
    schema = world.a.schema
    _publish(schema, _known_list())
    with school_context(schema):
        batch = ImportBatch(id=uuid.uuid4(), filename="新生.xlsx", fmt="xlsx", created_by="t")
        data = rows_export(rows=[valid_row(BASE + 101), valid_row(BASE + 300)])
        batch.file_key = default_storage.save(f"imports/{batch.id}/upload.xlsx", ContentFile(data))
        batch.save()
        batch = import_validate(batch_id=str(batch.pk))
        refused = [e for e in batch.errors if e["kind"] == "not_admitted"]
        assert [(e["row"], e["key"], e["header"]) for e in refused] == [
            (3, "id_number", "身份证件号")
        ]
        assert "不在县招生系统的2024级小学一年级录取名单中" in refused[0]["message"]
        assert valid_row(BASE + 300)["id_number"] not in refused[0]["message"]
        assert batch.counts["valid"] == 1
    connection.set_schema_to_public()


def test_no_list_no_block(world: World) -> None:
    # School B has no list: its new pupils register as before.
    with school_context(world.b.schema):
        assert _register(world.b.schema, 400).pk
    connection.set_schema_to_public()
    # School A's list is for 2025: its 2024 class is not blocked either.
    _publish(world.a.schema, _known_list(), year=2025)
    with school_context(world.a.schema):
        assert _register(world.a.schema, 401).pk
    connection.set_schema_to_public()


def test_the_county_file_is_split_per_school_and_never_reaches_another_county(
    world: World, bureau_host: str
) -> None:
    row_a, row_b, row_c = (valid_row(BASE + n) for n in (500, 501, 502))

    def csv(*rows: tuple[str, dict[str, object]]) -> SimpleUploadedFile:
        text = "学校标识码,姓名,性别,出生日期,身份证件号\n" + "".join(
            f"{code},{r['name']},{r['sex']},{r['birth_date']},{r['id_number']}\n"
            for code, r in rows
        )
        return SimpleUploadedFile("全县录取.csv", text.encode("gbk"), content_type="text/csv")

    client = login(bureau_host, "liuyang")
    form = {"stage": "primary", "year": "2024", "scope": "county"}
    # School C is of 宁乡市: the whole file is refused, nothing published anywhere.
    response = client.post(
        "/bureau/admissions/upload/",
        form | {"file": csv((world.a.code, row_a), (world.c.code, row_c))},
        follow=True,
    )
    assert "不是本辖区已开通的学校，整份名单未导入：第3行" in response.content.decode()
    for school in (world.a, world.b, world.c):
        with school_context(school.schema):
            assert not AdmissionList.objects.exists()
        connection.set_schema_to_public()
    response = client.post(
        "/bureau/admissions/upload/",
        form | {"file": csv((world.a.code, row_a), (world.b.code, row_b), (world.a.code, row_c))},
    )
    assert response.status_code == 302
    expected = {world.a.schema: {row_a["name"], row_c["name"]}, world.b.schema: {row_b["name"]}}
    for schema, names in expected.items():
        with school_context(schema):
            assert set(AdmittedPupil.objects.values_list("name", flat=True)) == names
        connection.set_schema_to_public()
    with school_context(world.c.schema):
        assert not AdmittedPupil.objects.exists()
    connection.set_schema_to_public()
    assert AuditEntry.objects.filter(object_type="admissions", action="write").count() == 2
    table = client.get("/bureau/admissions/?stage=primary&year=2024").content.decode()
    assert world.a.name in table
    assert world.c.name not in table
    drill = client.get(f"/bureau/admissions/{world.a.id}/?stage=primary&year=2024")
    assert drill.status_code == 200
    assert row_a["name"] not in drill.content.decode()  # names masked for the county
    export = client.get("/bureau/admissions/export/?stage=primary&year=2024")
    assert export.status_code == 200
    assert export["Content-Type"] == XLSX
    # The other county's officer reaches none of it.
    other = login(bureau_host, "ningxiang")
    assert other.get(f"/bureau/admissions/{world.a.id}/").status_code == 404
    assert (
        other.post(
            f"/bureau/admissions/{world.a.id}/overrides/",
            {"stage": "primary", "year": "2024", "id_number": row_a["id_number"], "reason": "x"},
        ).status_code
        == 404
    )
    with school_context(world.a.schema):
        assert not admissions.overrides_of("primary", 2024)
    connection.set_schema_to_public()


def test_the_nutrition_roster_gets_the_same_diff(world: World) -> None:
    from tenant_apps.rosters.models import RosterSource
    from tenant_apps.rosters.services import upload_stage

    with school_context(world.a.schema):
        _register(world.a.schema, 0)
        upload = upload_stage(
            kind=RosterSource.Kind.NUTRITION,
            filename="营养名册.csv",
            data=("\n".join([HEADER, _line(0, name="李改名"), _line(600)]) + "\n").encode(),
            actor=_actor(world.a.schema),
        )
    connection.set_schema_to_public()
    page = login(world.a.host, "registrar").get(f"/rosters/uploads/{upload.pk}/diff/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "李改名" in text
    assert SENTINEL_STUDENT in text
    assert valid_row(BASE + 600)["name"] in text


def test_a_grade_7_intake_from_primary_records_is_checked_too(world: World) -> None:
    """初中新生档案迁移 takes a graduate into a grade-7 class: with the county's junior list
    of that year published, a graduate not on it (by ID number) is refused."""
    from tenant_apps.registry.lifecycle.intake import intake_apply
    from tenant_apps.registry.tests.test_intake import YEAR, _graduate, _junior_class

    on_list, off_list = _graduate(world, 131), _graduate(world, 132)
    klass = _junior_class(world.b.schema)
    data = f"{HEADER}\n{on_list['name']},,,{on_list['id']},七年级\n".encode()
    with school_context(world.b.schema):
        admissions.list_publish(
            stage="junior", entry_year=YEAR, filename="初一录取.csv", data=data, actor=_actor("b")
        )
        with pytest.raises(ApplicationError, match="不在县招生系统的2026级初中七年级录取名单中"):
            intake_apply(
                actor=_actor(world.b.schema),
                school_id=world.a.id,
                student_uuid=off_list["uuid"],
                target_class_id=klass,
            )
        assert intake_apply(
            actor=_actor(world.b.schema),
            school_id=world.a.id,
            student_uuid=on_list["uuid"],
            target_class_id=klass,
        )
    connection.set_schema_to_public()
