"""营养改善计划 (issue 18 point 3): ticking only registered 在读 pupils, the school record
and the public claim written together, the checks that flag a child claimed by two
schools or a beneficiary who left, and the monthly figures and exports."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.test import override_settings
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import AuditEntry
from common.actor import Actor
from common.exceptions import ApplicationError
from conftest import World, login
from shared_apps.nutrition.calendar import Month
from shared_apps.nutrition.models import BeneficiaryClaim, ProgrammeSchool
from shared_apps.nutrition.selectors import county_month
from shared_apps.nutrition.services import programme_mark, programme_unmark
from shared_apps.student_index.models import IndexEntry
from shared_apps.student_index.services import index_set_state
from shared_apps.transfers.tests.helpers import make_student
from tenant_apps.registry.models import SchoolClass, Student
from tenant_apps.rosters.models import Beneficiary
from tenant_apps.rosters.programme.selectors import month_roster
from tenant_apps.rosters.programme.services import beneficiaries_save
from tenants.context import school_context

pytestmark = pytest.mark.django_db
SEPT = dt.date(2026, 9, 1)
ID_1 = "430181201803010032"
ID_2 = "430181201803010059"
ACTOR = Actor(username="registrar", name="学籍员", schema="")


def _mark(world: World, *keys: str, on: dt.date = SEPT) -> None:
    connection.set_schema_to_public()
    for key in keys:
        ref = getattr(world, key)
        programme_mark(school_id=ref.id, school_name=ref.name, on=on, actor_label="局")


def _pupil(world: World, key: str, name: str, id_number: str) -> int:
    ref = getattr(world, key)
    made = make_student(ref.schema, ref.id, name=name, id_number=id_number, with_marks=False)
    with school_context(ref.schema):
        return Student.objects.get(identifier=made.identifier).pk


def _save(world: World, key: str, *, tick=(), untick=(), on: dt.date = SEPT) -> None:
    with school_context(getattr(world, key).schema):
        beneficiaries_save(tick=list(tick), untick=list(untick), on=on, actor=ACTOR)


def test_a_tick_writes_the_school_record_and_the_public_claim_together(world: World) -> None:
    _mark(world, "a")
    pk = _pupil(world, "a", "营养甲", ID_1)

    _save(world, "a", tick=[pk])

    with school_context(world.a.schema):
        row = Beneficiary.objects.get(student_id=pk, until__isnull=True)
        assert row.since == SEPT
        entry = IndexEntry.objects.get(student_uuid=row.student_uuid)
        claim = BeneficiaryClaim.objects.get(school_id=world.a.id, student_uuid=row.student_uuid)
    assert (claim.id_hash, claim.name_hash) == (entry.id_hash, entry.name_hash)
    assert claim.until is None

    # Unticking later ends both from that day; a second save changes nothing more.
    _save(world, "a", untick=[pk], on=dt.date(2026, 10, 8))
    _save(world, "a", untick=[pk], on=dt.date(2026, 10, 9))
    with school_context(world.a.schema):
        assert Beneficiary.objects.get(student_id=pk).until == dt.date(2026, 10, 8)
    claim.refresh_from_db()
    assert claim.until == dt.date(2026, 10, 8)


def test_a_draft_or_departed_pupil_is_refused_by_name_and_nothing_is_written(
    world: World,
) -> None:
    _mark(world, "a")
    good = _pupil(world, "a", "营养乙", ID_1)
    left = _pupil(world, "a", "营养丙", ID_2)
    with school_context(world.a.schema):
        Student.objects.filter(pk=left).update(status=Student.Status.WITHDRAWN)
        klass = SchoolClass.objects.get(pk=Student.objects.get(pk=good).school_class_id)
        draft = Student.objects.create(
            name="营养丁",
            sex="2",
            birth_date=dt.date(2018, 5, 1),
            school_class=klass,
            number_in_class=9,
            entry_year_month="202409",
        )
        assert draft.audit_state == Student.Audit.DRAFT

        with pytest.raises(ApplicationError) as refused:
            beneficiaries_save(tick=[good, left, draft.pk], untick=[], on=SEPT, actor=ACTOR)

        text = " ".join([refused.value.message, *refused.value.extra["students"]])
        assert "营养丙" in text
        assert "退学" in text
        assert "营养丁" in text
        assert "待提交" in text
        assert "营养乙" not in text
        assert not Beneficiary.objects.exists()
    assert not BeneficiaryClaim.objects.exists()


def test_a_school_outside_the_programme_cannot_tick(world: World) -> None:
    pk = _pupil(world, "a", "营养戊", ID_1)
    with (
        school_context(world.a.schema),
        pytest.raises(ApplicationError, match="不是营养改善计划学校"),
    ):
        beneficiaries_save(tick=[pk], untick=[], on=SEPT, actor=ACTOR)
    _mark(world, "a")
    programme_unmark(
        school_id=world.a.id, school_name=world.a.name, on=dt.date(2026, 10, 1), actor_label="局"
    )
    # Out of the programme from 1 October: a tick on that day is refused, one before is not.
    with school_context(world.a.schema), pytest.raises(ApplicationError):
        beneficiaries_save(tick=[pk], untick=[], on=dt.date(2026, 10, 1), actor=ACTOR)
    _save(world, "a", tick=[pk], on=dt.date(2026, 9, 30))
    assert BeneficiaryClaim.objects.filter(school_id=world.a.id).count() == 1


def test_a_failing_claim_leaves_no_school_record_either(world: World) -> None:
    _mark(world, "a")
    pk = _pupil(world, "a", "营养己", ID_1)
    with school_context(world.a.schema):
        ident = Student.objects.get(pk=pk).identifier
    # The claim cannot be written (an open claim of the same pupil is already public,
    # which the school's own table does not know): the school's row goes too.
    BeneficiaryClaim.objects.create(
        school_id=world.a.id, student_uuid=ident, name_hash="0" * 32, since=SEPT, created_by="x"
    )
    with school_context(world.a.schema), pytest.raises(IntegrityError):
        beneficiaries_save(tick=[pk], untick=[], on=SEPT, actor=ACTOR)
    connection.set_schema_to_public()
    BeneficiaryClaim.objects.all().delete()
    # No index entry to take the digests from: refused by name, nothing written.
    IndexEntry.objects.filter(student_uuid=ident).delete()
    with school_context(world.a.schema):
        with pytest.raises(ApplicationError, match="营养己"):
            beneficiaries_save(tick=[pk], untick=[], on=SEPT, actor=ACTOR)
        assert not Beneficiary.objects.exists()
    assert not BeneficiaryClaim.objects.exists()


def test_a_child_claimed_by_two_schools_is_flagged_to_both_and_to_the_county(
    world: World, bureau_host: str
) -> None:
    _mark(world, "a", "b")
    in_a = _pupil(world, "a", "双报学生", ID_1)
    in_b = _pupil(world, "b", "双报学生", ID_1)  # the same ID number in school B
    today = timezone.localdate()
    _save(world, "a", tick=[in_a], on=today)

    # One claim is no flag.
    page_a = login(world.a.host, "registrar").get("/rosters/programme/").content.decode()
    assert "需要核实的受益学生" not in page_a

    # School B ticks the same child through its page.
    client_b = login(world.b.host, "registrar")
    with school_context(world.b.schema):
        class_id = Student.objects.get(pk=in_b).school_class_id
    connection.set_schema_to_public()
    saved = client_b.post(
        "/rosters/programme/", {"class_id": class_id, "shown": [in_b], "ids": [in_b]}
    )
    assert saved.status_code == 302
    assert BeneficiaryClaim.objects.filter(until__isnull=True).count() == 2
    with school_context(world.b.schema):
        entry = AuditEntry.objects.get(object_type="nutrition_beneficiaries")
        assert (entry.action, entry.after) == ("write", {"ticked": 1, "ended": 0})
    connection.set_schema_to_public()

    page_a = login(world.a.host, "registrar").get("/rosters/programme/").content.decode()
    assert "需要核实的受益学生" in page_a
    assert f"{world.b.name}自{today:%Y-%m-%d}起也申报该学生为受益学生（身份证件号相同）" in page_a
    page_b = client_b.get("/rosters/programme/").content.decode()
    assert f"{world.a.name}自{today:%Y-%m-%d}起也申报该学生为受益学生" in page_b

    county = login(bureau_host, world.bureau_user).get("/bureau/nutrition/flags/").content.decode()
    assert county.count("身份证件号相同") == 2
    assert world.a.name in county
    assert world.b.name in county
    assert "双**生" in county
    assert "双报学生" not in county
    schools = login(bureau_host, world.bureau_user).get("/bureau/nutrition/").content.decode()
    assert schools.count('<a href="/bureau/nutrition/flags/">1</a>') == 2
    # Another county's officer sees none of it.
    other = login(bureau_host, world.other_bureau_user).get("/bureau/nutrition/flags/")
    assert "双**生" not in other.content.decode()

    # B ends its claim from the flag: no flag is left on either side.
    client_b.post("/rosters/programme/", {"end": [in_b]})
    page_a = login(world.a.host, "registrar").get("/rosters/programme/").content.decode()
    assert "需要核实的受益学生" not in page_a


def test_a_beneficiary_who_graduated_or_transferred_out_is_flagged(
    world: World, bureau_host: str
) -> None:
    from tenant_apps.registry.facade.move import plan_for, student_move

    _mark(world, "a")
    stays = _pupil(world, "a", "毕业学生", ID_1)
    moves = _pupil(world, "a", "转走学生", ID_2)
    today = timezone.localdate()
    _save(world, "a", tick=[stays, moves], on=today)
    with school_context(world.a.schema):
        graduated = Student.objects.get(pk=stays)
        graduated.status = Student.Status.GRADUATED
        graduated.save(update_fields=["status"])
        moving = Student.objects.get(pk=moves).identifier
    index_set_state(student_uuids=[graduated.identifier], status=Student.Status.GRADUATED)
    with school_context(world.b.schema):
        target = SchoolClass.objects.order_by("pk").first()
        assert target is not None
    connection.set_schema_to_public()
    student_move(
        plan_for(
            identifier=moving,
            sending_id=world.a.id,
            receiving_id=world.b.id,
            target_class_id=target.pk,
            actor_label="测试",
            note="转学",
        )
    )

    page = login(world.a.host, "registrar").get("/rosters/programme/").content.decode()
    assert "学籍状态为“毕业”，已不在读，仍在受益学生名单中" in page
    assert f"已转学至{world.b.name}，仍在原学校的受益学生名单中" in page
    # The tick stays with the school that made it; the receiving school has none, and is
    # told that its new pupil is still claimed by the school the pupil came from.
    with school_context(world.b.schema):
        assert not Beneficiary.objects.exists()
    page_b = login(world.b.host, "registrar").get("/rosters/programme/").content.decode()
    assert f"已转入本校，{world.a.name}仍将该学生列为受益学生" in page_b
    assert "转走学生" in page_b
    assert "毕业学生" not in page_b
    county = login(bureau_host, world.bureau_user).get("/bureau/nutrition/flags/").content.decode()
    assert "毕**生" in county
    assert "转**生" in county
    assert f"已转学至{world.b.name}" in county
    # Flagged, not silently ended.
    assert BeneficiaryClaim.objects.filter(school_id=world.a.id, until__isnull=True).count() == 2


@override_settings(
    NUTRITION_SUBSIDY_STANDARDS=[("2011-11-01", "3.00"), ("2026-11-16", "4.00")],
    WORKDAY_HOLIDAYS=[],
    WORKDAY_EXTRA=[],
    NUTRITION_VACATIONS=[],
)
def test_the_monthly_roster_pays_each_school_day_at_its_standard(
    world: World, bureau_host: str
) -> None:
    from common import workdays

    workdays._dates.cache_clear()
    _mark(world, "a")
    whole = _pupil(world, "a", "整月学生", ID_1)
    part = _pupil(world, "a", "半月学生", ID_2)
    _save(world, "a", tick=[whole], on=dt.date(2026, 10, 20))
    _save(world, "a", tick=[part], on=dt.date(2026, 11, 10))
    _save(world, "a", untick=[part], on=dt.date(2026, 11, 20))
    november = Month(2026, 11)

    # November 2026 has 21 weekdays: 2-13 (10) at 3 yuan, 16-30 (11) at 4 yuan.
    with school_context(world.a.schema):
        roster = month_roster(november)
    by_name = {r.name: r for r in roster.rows}
    assert (by_name["整月学生"].days, by_name["整月学生"].amount) == (21, Decimal("74.00"))
    assert by_name["整月学生"].standards == "3.00/4.00"
    # 10-13 (4 days at 3) and 16-19 (4 at 4): ended on the 20th, which no longer counts.
    assert (by_name["半月学生"].days, by_name["半月学生"].amount) == (8, Decimal("28.00"))
    assert (roster.school_days, roster.pupils, roster.pupil_days) == (21, 2, 29)
    assert roster.amount == Decimal("102.00")
    county = county_month(school_ids=[world.a.id, world.b.id], month=november)
    assert list(county) == [world.a.id]
    assert (county[world.a.id].pupil_days, county[world.a.id].amount) == (29, Decimal("102.00"))
    # In October only the first pupil counts: 20-30 October, 9 weekdays at 3 yuan.
    with school_context(world.a.schema):
        october = month_roster(Month(2026, 10))
    assert [(r.name, r.days, r.amount) for r in october.rows] == [("整月学生", 9, Decimal("27.00"))]

    # The school leaves the programme on 27 November: the 27th and 30th no longer count.
    connection.set_schema_to_public()
    programme_unmark(
        school_id=world.a.id, school_name=world.a.name, on=dt.date(2026, 11, 27), actor_label="局"
    )
    with school_context(world.a.schema):
        roster = month_roster(november)
    assert roster.school_days == 19
    assert {r.name: (r.days, r.amount) for r in roster.rows}["整月学生"] == (19, Decimal("66.00"))

    # The page and its export say the same, and the export is audited.
    client = login(world.a.host, "registrar")
    page = client.get("/rosters/programme/roster/?month=2026-11").content.decode()
    assert "66.00" in page
    assert "28.00" in page
    export = client.get("/rosters/programme/roster/export/?month=2026-11")
    assert export.status_code == 200
    rows = list(load_workbook(io.BytesIO(export.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[2][:3] == ("序号", "姓名", "班级")
    assert [r[1] for r in rows[3:]] == ["整月学生", "半月学生"]
    assert [r[5] for r in rows[3:]] == [19, 8]
    assert [r[7] for r in rows[3:]] == [66.0, 28.0]
    with school_context(world.a.schema):
        assert AuditEntry.objects.filter(
            action="read.export", object_type="nutrition_roster"
        ).exists()

    connection.set_schema_to_public()
    officer = login(bureau_host, world.bureau_user)
    counts = officer.get("/bureau/nutrition/counts/export/?month=2026-11")
    sheet = list(
        load_workbook(io.BytesIO(counts.content)).worksheets[0].iter_rows(values_only=True)
    )
    assert sheet[2][2:] == (world.a.name, 19, 2, 27, 94.0)
    workdays._dates.cache_clear()


def test_the_county_marks_only_its_own_schools(world: World, bureau_host: str) -> None:
    officer = login(bureau_host, world.bureau_user)
    done = officer.post(f"/bureau/nutrition/schools/{world.a.id}/mark/", {"action": "mark"})
    assert done.status_code == 302
    assert ProgrammeSchool.objects.filter(school_id=world.a.id, until__isnull=True).exists()
    entry = AuditEntry.objects.filter(object_type="school", object_id=str(world.a.id)).latest("pk")
    assert entry.after == {"nutrition": "纳入"}
    page = officer.get("/bureau/nutrition/").content.decode()
    assert "退出计划" in page
    assert world.a.name in page
    # School C is in another county.
    refused = officer.post(f"/bureau/nutrition/schools/{world.c.id}/mark/", {"action": "mark"})
    assert refused.status_code == 404
    assert not ProgrammeSchool.objects.filter(school_id=world.c.id).exists()
    # The school sees it may tick now.
    page_a = login(world.a.host, "registrar").get("/rosters/programme/").content.decode()
    assert "为营养改善计划学校" in page_a
    assert "不是营养改善计划学校" not in page_a


def test_after_a_restore_the_public_claims_mirror_the_school_records_again(
    world: World,
) -> None:
    """A restore puts back an older state of the school: claims it no longer records go,
    records it holds again are claimed again, with the index's digests."""
    from shared_apps.backups.index_resync import _claims_resync

    _mark(world, "a")
    kept = _pupil(world, "a", "恢复甲", ID_1)
    dropped = _pupil(world, "a", "恢复乙", ID_2)
    _save(world, "a", tick=[kept, dropped])
    with school_context(world.a.schema):
        # The restored state: 恢复乙 was never ticked, 恢复甲 was ticked and ended.
        Beneficiary.objects.filter(student_id=dropped).delete()
        Beneficiary.objects.filter(student_id=kept).update(until=dt.date(2026, 10, 1))
        kept_uuid = Student.objects.get(pk=kept).identifier
    connection.set_schema_to_public()
    BeneficiaryClaim.objects.filter(student_uuid=kept_uuid).delete()

    _claims_resync(school_id=world.a.id, schema=world.a.schema)

    claims = list(BeneficiaryClaim.objects.filter(school_id=world.a.id))
    assert [(c.student_uuid, c.since, c.until) for c in claims] == [
        (kept_uuid, SEPT, dt.date(2026, 10, 1))
    ]
    entry = IndexEntry.objects.get(student_uuid=kept_uuid)
    assert (claims[0].id_hash, claims[0].name_hash) == (entry.id_hash, entry.name_hash)
