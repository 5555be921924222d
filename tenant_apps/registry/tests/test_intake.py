"""Junior-middle intake (初中新生档案迁移, domain.md §3.9–3.10): lookups per rule (the
学籍辅号 only inside the county), the INTAKE case and its chain, the move on the last
approval, a list in one batch with a result per row, 异地离校生转入/其他增加 with their
required explanation file, and temporary paper records completed once the ID exists."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from common.actor import Actor
from common.exceptions import ApplicationError
from conftest import World, login
from tenant_apps.registry.tests.factories import resident_id, valid_row
from tenant_apps.registry.tests.test_rollover import pupil
from tenants.context import school_context

pytestmark = pytest.mark.django_db

YEAR = 2026  # this intake's grade 7 (the clock is in the 2026–2027 school year)
BUREAU_RIGHTS = frozenset({"bureau.audit"})


def _actor(schema: str) -> Actor:
    return Actor(username="registrar", name="学籍管理员", schema=schema)


def _junior_class(schema: str, number: int = 1) -> int:
    from tenant_apps.registry.models import SchoolClass

    with school_context(schema):
        klass, _ = SchoolClass.objects.get_or_create(
            stage="junior",
            entry_year=YEAR,
            number=number,
            defaults={"class_no": SchoolClass.make_class_no("junior", YEAR, number)},
        )
    connection.set_schema_to_public()
    return klass.pk


def _graduate(world: World, seq: int, aux: str = "") -> dict[str, str]:
    """A registered primary graduate of school A (entered 2020, 毕业, in the index)."""
    from shared_apps.student_index.services import index_set_state
    from tenant_apps.registry.models import Student

    with school_context(world.a.schema):
        pk = pupil(seq, status="07", aux_number=aux)
        s = Student.objects.get(pk=pk)
        found = {
            "uuid": str(s.identifier),
            "name": s.name,
            "id": s.id_number,
            "national": s.national_number,
        }
    connection.set_schema_to_public()
    index_set_state(student_uuids=[found["uuid"]], status="07")  # type: ignore[list-item]
    return found


def _bureau(username: str, region: str) -> object:
    from shared_apps.transfers.services import CaseActor

    return CaseActor(
        username=username, schema_name="public", region_code=region, rights=BUREAU_RIGHTS
    )


def test_lookup_follows_the_rules_of_each_source(world: World) -> None:
    from tenant_apps.registry.lifecycle.intake import intake_lookup

    g = _graduate(world, 101, aux="1208100010001")
    with school_context(world.a.schema):
        studying = pupil(102, entry_year=2021)  # still 在读 in primary: not a graduate
        from tenant_apps.registry.models import Student

        s = Student.objects.get(pk=studying)
        studying_id, studying_name = s.id_number, s.name
    with school_context(world.b.schema):  # same county (浏阳)
        by_aux = intake_lookup(name=g["name"], aux_number="1208100010001")
        assert [(h.student_uuid, h.eligible, h.same_county) for h in by_aux] == [
            (g["uuid"], True, True)
        ]
        assert by_aux[0].name != g["name"]
        assert "*" in by_aux[0].name
        assert intake_lookup(name=g["name"], id_number=g["id"].lower())[0].eligible
        assert intake_lookup(name="别人", aux_number="1208100010001") == []
        other = intake_lookup(name=studying_name, id_number=studying_id)
        assert [h.eligible for h in other] == [False]
        assert "不是小学毕业生" in other[0].why
    with school_context(world.c.schema):  # another county (宁乡)
        # The 学籍辅号 is 浏阳's own numbering: refused outside the county.
        assert intake_lookup(name=g["name"], aux_number="1208100010001") == []
        by_id = intake_lookup(name=g["name"], id_number=g["id"])
        assert [(h.student_uuid, h.same_county) for h in by_id] == [(g["uuid"], False)]
        by_national = intake_lookup(name=g["name"], national_number=g["national"])
        assert [h.student_uuid for h in by_national] == [g["uuid"]]
        with pytest.raises(ApplicationError, match="须同时输入学生姓名"):
            intake_lookup(name="", id_number=g["id"])
        with pytest.raises(ApplicationError, match="须同时输入学生姓名"):
            intake_lookup(name="", national_number=g["national"])
        with pytest.raises(ApplicationError, match="身份证件号格式不正确"):
            intake_lookup(name=g["name"], id_number="43018120130101001")
    connection.set_schema_to_public()


def test_intake_case_moves_the_graduate_into_grade_7_on_approval(world: World) -> None:
    from shared_apps.student_index.models import IndexEntry
    from shared_apps.transfers.services import case_decide
    from tenant_apps.registry.lifecycle.intake import intake_apply
    from tenant_apps.registry.models import Student, StudentEvent

    g = _graduate(world, 111, aux="1208100010002")
    klass = _junior_class(world.b.schema)
    with school_context(world.b.schema):
        with pytest.raises(ApplicationError, match="七年级"):
            intake_apply(
                actor=_actor(world.b.schema),
                school_id=world.a.id,
                student_uuid=g["uuid"],
                target_class_id=Student.objects.first().school_class_id,  # type: ignore[union-attr]  # a primary class
            )
        case = intake_apply(
            actor=_actor(world.b.schema),
            school_id=world.a.id,
            student_uuid=g["uuid"],
            target_class_id=klass,
            note="统一招生",
        )
        # One open business per student: a second application is refused.
        with pytest.raises(ApplicationError, match="在办业务"):
            intake_apply(
                actor=_actor(world.b.schema),
                school_id=world.a.id,
                student_uuid=g["uuid"],
                target_class_id=klass,
            )
    connection.set_schema_to_public()
    assert case.kind == "INTAKE"
    assert [s["region"] for s in case.chain] == ["430181000000"]  # same county: one bureau
    assert g["name"] not in str(case.summary)
    case_decide(case_id=case.pk, actor=_bureau("liuyang", "430181000000"), approve=True)  # type: ignore[arg-type]
    case.refresh_from_db()
    assert case.state == "done"
    with school_context(world.b.schema):
        moved = Student.objects.select_related("school_class").get(identifier=g["uuid"])
        assert (moved.status, moved.school_class_id) == ("01", klass)
        assert (moved.entry_year_month, moved.aux_number) == ("202609", "")
        assert moved.national_number == g["national"]  # one person, one number
        assert moved.family.count() == 2
        actions = list(moved.events.values_list("action", flat=True))
        assert actions[-2:] == ["初中新生转入", "初中入学"]
    with school_context(world.a.schema):
        kept = Student.objects.get(identifier=g["uuid"])
        assert kept.status == "07"
        assert StudentEvent.objects.filter(student=kept, action="档案迁出").exists()
    connection.set_schema_to_public()
    entry = IndexEntry.objects.get(student_uuid=g["uuid"])
    assert (entry.school_id, entry.stage, entry.status) == (world.b.id, "junior", "01")


def test_another_county_needs_both_bureaus(world: World) -> None:
    from shared_apps.transfers.services import case_decide
    from tenant_apps.registry.lifecycle.intake import intake_apply
    from tenant_apps.registry.models import Student

    g = _graduate(world, 121)
    klass = _junior_class(world.c.schema)
    with school_context(world.c.schema):
        case = intake_apply(
            actor=_actor(world.c.schema),
            school_id=world.a.id,
            student_uuid=g["uuid"],
            target_class_id=klass,
        )
    connection.set_schema_to_public()
    assert [s["region"] for s in case.chain] == ["430182000000", "430181000000"]
    with pytest.raises(ApplicationError):  # 浏阳 is not the current owner yet
        case_decide(case_id=case.pk, actor=_bureau("liuyang", "430181000000"), approve=True)  # type: ignore[arg-type]
    case_decide(case_id=case.pk, actor=_bureau("ningxiang", "430182000000"), approve=True)  # type: ignore[arg-type]
    case_decide(case_id=case.pk, actor=_bureau("liuyang", "430181000000"), approve=True)  # type: ignore[arg-type]
    with school_context(world.c.schema):
        assert Student.objects.get(identifier=g["uuid"]).status == "01"
    connection.set_schema_to_public()


def test_a_list_in_one_batch_reports_every_row(world: World) -> None:
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.lifecycle.intake_batch import intake_batch

    first = _graduate(world, 131)
    second = _graduate(world, 132, aux="1208100010009")
    klass = _junior_class(world.b.schema)
    lines = [
        "姓名,身份证件号,学籍辅号",
        f"{first['name']},{first['id']},",  # 2: found by ID
        f"{second['name']},,1208100010009",  # 3: found by 辅号 (same county)
        "王小明,43018120130101001,",  # 4: bad ID number
        f"查无此人,{resident_id(dt.date(2013, 1, 1), 991)},",  # 5: nobody
        f"{first['name']},{first['id']},",  # 6: the same pupil again
        ",,1208100010009",  # 7: no name
        "李四,,",  # 8: neither key
    ]
    data = "\n".join(lines).encode("utf-8-sig")
    with school_context(world.b.schema):
        rows = intake_batch(
            actor=_actor(world.b.schema), filename="名单.csv", data=data, target_class_id=klass
        )
    connection.set_schema_to_public()
    got = {r.row: (r.ok, r.message) for r in rows}
    assert [r.row for r in rows] == [2, 3, 4, 5, 6, 7, 8]
    assert got[2][0]
    assert got[3][0]
    assert "身份证件号格式不正确" in got[4][1]
    assert got[5] == (False, "未找到该学生。")
    assert got[6][1] in ("与第2行是同一名学生。",) or "在办业务" in got[6][1]
    assert got[7] == (False, "姓名为空。")
    assert "至少填写一项" in got[8][1]
    assert rows[0].key.startswith("4301")
    assert "*" in rows[0].key
    assert Case.objects.filter(kind="INTAKE", school_id=world.b.id).count() == 2
    # The same 辅号 from another county finds nothing, with the reason.
    klass_c = _junior_class(world.c.schema)
    with school_context(world.c.schema):
        rows = intake_batch(
            actor=_actor(world.c.schema),
            filename="list.csv",
            data="姓名,学籍辅号\n某某,1208100010009\n".encode(),
            target_class_id=klass_c,
        )
    connection.set_schema_to_public()
    assert rows[0].ok is False
    assert "只在本县" in rows[0].message
    # An Excel list works the same way (an ID number typed as text, a title row above).
    from openpyxl import Workbook

    third = _graduate(world, 133)
    book = Workbook()
    sheet = book.active
    sheet.append(["2026年七年级新生名单"])  # type: ignore[union-attr]
    sheet.append(["序号", "姓名", "身份证号"])  # type: ignore[union-attr]
    sheet.append([1, third["name"], third["id"]])  # type: ignore[union-attr]
    buffer = io.BytesIO()
    book.save(buffer)
    with school_context(world.b.schema):
        rows = intake_batch(
            actor=_actor(world.b.schema),
            filename="名单.xlsx",
            data=buffer.getvalue(),
            target_class_id=klass,
        )
    connection.set_schema_to_public()
    assert [(r.row, r.ok) for r in rows] == [(3, True)]
    with school_context(world.b.schema), pytest.raises(ApplicationError, match="表头"):
        intake_batch(
            actor=_actor(world.b.schema),
            filename="x.csv",
            data=b"a,b\n1,2\n",
            target_class_id=klass,
        )
    connection.set_schema_to_public()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def _junior_draft(schema: str, seq: int) -> int:
    from tenant_apps.registry.students import services

    _junior_class(schema)
    birth = dt.date(2013, 10, 1) + dt.timedelta(days=seq % 200)
    row = valid_row(
        seq,
        class_no=f"{YEAR}201",
        grade=f"初中{YEAR}级",
        entry_year_month=f"{YEAR}09",
        birth_date=f"{birth:%Y%m%d}",
        id_number=resident_id(birth, 2 * (seq // 200) + (1 if seq % 2 == 0 else 0)),
        id_validity="20200101-20991231",
    )
    with school_context(schema):
        pk = services.student_register(raw=row, actor=_actor(schema)).pk
    connection.set_schema_to_public()
    return pk


def test_left_elsewhere_and_other_need_the_explanation_file(world: World) -> None:
    from shared_apps.transfers.services import CaseActor, case_decide
    from tenant_apps.registry.lifecycle.intake_new import Upload, intake_register_new
    from tenant_apps.registry.models import Student

    pk = _junior_draft(world.b.schema, 141)
    with school_context(world.b.schema):
        args = {"actor": _actor(world.b.schema), "student_id": pk, "reason": "原在外省务工随迁"}
        with pytest.raises(ApplicationError, match="请上传书面说明"):
            intake_register_new(kind="INTAKE_OTHER", explanation=None, **args)  # type: ignore[arg-type]
        with pytest.raises(ApplicationError, match="不能超过2MB"):
            intake_register_new(
                kind="INTAKE_OTHER",
                explanation=Upload("说明.pdf", b"%PDF-" + b"0" * (2 * 1024 * 1024)),
                **args,  # type: ignore[arg-type]
            )
        with pytest.raises(ApplicationError):
            intake_register_new(
                kind="INTAKE_OTHER",
                explanation=Upload("说明.pdf", b"not a pdf"),
                **args,  # type: ignore[arg-type]
            )
        with pytest.raises(ApplicationError, match="情况说明"):
            intake_register_new(
                kind="INTAKE_OTHER",
                explanation=Upload("说明.png", _png()),
                **{**args, "reason": " "},  # type: ignore[arg-type]
            )
        case = intake_register_new(
            kind="INTAKE_LEFT_ELSEWHERE",
            explanation=Upload("说明.png", _png()),
            **args,  # type: ignore[arg-type]
        )
        assert Student.objects.get(pk=pk).events.filter(action="异地离校生转入登记").exists()
    connection.set_schema_to_public()
    assert case.kind == "INTAKE_LEFT_ELSEWHERE"
    assert [s["owner"] for s in case.chain] == ["school", "bureau"]
    assert case.payload["evidence_name"] == "说明.png"
    approver = CaseActor(
        username="approver",
        schema_name=world.b.schema,
        region_code=None,
        rights=frozenset({"registry.approve"}),
    )
    case_decide(case_id=case.pk, actor=approver, approve=True)
    case_decide(case_id=case.pk, actor=_bureau("liuyang", "430181000000"), approve=True)  # type: ignore[arg-type]
    with school_context(world.b.schema):
        student = Student.objects.get(pk=pk)
        assert student.audit_state == "registered"
        assert student.national_number.startswith("G")
    connection.set_schema_to_public()


def test_temporary_paper_record_is_completed_once_the_id_exists(world: World) -> None:
    from tenant_apps.registry.lifecycle.paper import (
        PaperInput,
        paper_complete,
        paper_create,
        paper_reminders,
    )
    from tenant_apps.registry.students import services

    klass = _junior_class(world.b.schema)
    birth = dt.date(2013, 12, 3)
    actor = _actor(world.b.schema)
    with school_context(world.b.schema):
        with pytest.raises(ApplicationError) as refused:
            paper_create(data=PaperInput("", "1", "2013123", klass, "", "12"), actor=actor)
        assert set(refused.value.extra) == {"name", "birth_date", "guardian_name", "guardian_phone"}
        row = valid_row(
            151,
            class_no=f"{YEAR}201",
            grade=f"初中{YEAR}级",
            entry_year_month=f"{YEAR}09",
            birth_date=f"{birth:%Y%m%d}",
            id_number=resident_id(birth, 150),  # seq 151 is a girl: an even serial
            id_validity="20200101-20991231",
        )
        record = paper_create(
            data=PaperInput(str(row["name"]), "2", f"{birth:%Y%m%d}", klass, "张父", "13800001111"),
            actor=actor,
        )
        assert [r["record"].pk for r in paper_reminders()] == [record.pk]
        with pytest.raises(ApplicationError, match="请先在“新增学生”中录入"):
            paper_complete(record_id=record.pk, id_number=str(row["id_number"]), actor=actor)
        student = services.student_register(raw=row, actor=actor)
        done = paper_complete(record_id=record.pk, id_number=str(row["id_number"]), actor=actor)
        assert (done.state, done.student_id) == ("completed", student.pk)
        assert paper_reminders() == []
        assert student.events.filter(action="临时档案转为学籍").exists()
        with pytest.raises(ApplicationError, match="已建立学籍"):
            paper_complete(record_id=record.pk, id_number=str(row["id_number"]), actor=actor)
    connection.set_schema_to_public()


def test_pages_lookup_apply_batch_and_access(world: World) -> None:
    from shared_apps.transfers.models import Case

    g = _graduate(world, 161, aux="1208100010077")
    klass = _junior_class(world.b.schema)
    client = login(world.b.host, "registrar")
    page = client.get("/registry/intake/", {"name": g["name"], "aux_number": "1208100010077"})
    body = page.content.decode()
    assert page.status_code == 200
    assert "提交接收" in body
    assert body.count(g["name"]) == 1  # only the search field echoes it; the row is masked
    response = client.post(
        "/registry/intake/apply/",
        {"school_id": world.a.id, "student_uuid": g["uuid"], "target_class": klass},
    )
    assert response.status_code == 302
    connection.set_schema_to_public()
    assert Case.objects.filter(student_uuid=g["uuid"], kind="INTAKE").count() == 1
    listing = client.get("/registry/intake/").content.decode()
    assert "初中新生档案迁移" in listing
    upload = SimpleUploadedFile("名单.csv", "姓名,身份证件号\n某人,\n".encode())
    batch = client.post("/registry/intake/batch/", {"file": upload, "target_class": klass})
    assert batch.status_code == 200
    assert "至少填写一项" in batch.content.decode()
    new = client.post("/registry/intake/new/", {"kind": "INTAKE_OTHER", "student": "x"})
    assert new.status_code == 400
    assert "请选择学生" in new.content.decode()
    api = client.get("/api/v1/intake/lookup/", {"name": g["name"], "aux_number": "1208100010077"})
    assert api.status_code == 200
    assert api.json()[0]["student_uuid"] == g["uuid"]
    connection.set_schema_to_public()
    assert login(world.b.host, "teacher").get("/registry/intake/").status_code == 403
