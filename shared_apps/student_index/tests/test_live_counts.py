"""The bureau's live counts (SchoolCount, issue 16 point 2): after every writing path the
school's rows equal the recount from its own records (registry facade live_cells) and
move by exactly the hand-computed cells; concurrent writers lose nothing; the nightly
check finds and repairs a forged drift.

Each test first makes the school's index mirror its records (the test world's seeded
pupils were written without index entries): that is the exact state every write must keep.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection, connections
from django.utils import timezone
from PIL import Image

from common.actor import Actor
from conftest import SchoolRef, World
from shared_apps.transfers.tests.helpers import make_student
from tenant_apps.registry.tests.factories import valid_row
from tenants.context import school_context

FLAGS = 7  # registry.counts.FLAG_KEYS
NO_FLAGS = (0,) * FLAGS
LEFT_BEHIND, ONLY_CHILD, BOARDING = 0, 6, 3  # positions in FLAG_KEYS
BASE = 21000  # valid_row seqs no other test registers


def _figures(students: int, **flags: int) -> tuple[int, ...]:
    from tenant_apps.registry.counts import FLAG_KEYS

    return (students, *(flags.get(k, 0) for k in FLAG_KEYS))


def _cell(
    audit_state: str,
    status: str = "01",
    *,
    sex: str = "1",
    stage: str = "primary",
    entry_year: int = 2024,
    has_problem: bool = False,
    ethnicity: str = "01",
) -> tuple[str, int, str, str, str, str, bool]:
    return (stage, entry_year, sex, ethnicity, status, audit_state, has_problem)


def _sync(school: SchoolRef) -> None:
    """Index = records for the school (the restore's resync), in the test's transaction."""
    from shared_apps.backups.index_resync import _index_resync

    _index_resync(school_id=school.id, schema=school.schema)
    connection.set_schema_to_public()


def _exact(school: SchoolRef) -> dict[tuple[object, ...], tuple[int, ...]]:
    """The school's SchoolCount rows, asserted equal to the recount of its records."""
    from shared_apps.student_index.live import school_cells
    from tenant_apps.registry.facade import live_cells

    truth = live_cells(schema_name=school.schema, school_id=school.id)
    connection.set_schema_to_public()
    found = school_cells(school_id=school.id)
    assert found == truth
    return found  # type: ignore[return-value]


def _moved(
    before: dict[tuple[object, ...], tuple[int, ...]],
    after: dict[tuple[object, ...], tuple[int, ...]],
) -> dict[tuple[object, ...], tuple[int, ...]]:
    """Per cell, what changed (after − before), cells that did not change left out."""
    out = {}
    for cell in before.keys() | after.keys():
        old = before.get(cell, (0,) * (FLAGS + 1))
        new = after.get(cell, (0,) * (FLAGS + 1))
        diff = tuple(n - o for n, o in zip(new, old, strict=True))
        if any(diff):
            out[cell] = diff
    return out


def _actor(school: SchoolRef, username: str = "registrar") -> Actor:
    return Actor(username=username, name=username, schema=school.schema)


def _register(school: SchoolRef, seq: int, **over: object) -> int:
    from tenant_apps.registry.students.services import student_register

    with school_context(school.schema):
        pk = student_register(raw=valid_row(seq=BASE + seq, **over), actor=_actor(school)).pk
    connection.set_schema_to_public()
    return pk


@pytest.fixture
def a(db: None, world: World) -> Iterator[SchoolRef]:
    """School A with its index mirroring its records, in a rolled-back transaction."""
    _sync(world.a)
    yield world.a
    connection.set_schema_to_public()


# -- the bits --------------------------------------------------------------------------


def test_flag_bits_follow_flag_keys_and_the_count_columns(db: None) -> None:
    from shared_apps.student_index.models import FLAG_COLUMNS
    from tenant_apps.registry import counts

    assert FLAG_COLUMNS == counts.FLAG_KEYS
    assert counts.flag_bits({}) == 0
    assert counts.flag_bits({"left_behind": "2", "only_child": True}) == 0b1000001
    assert counts.flag_bits({"inclusive": "1", "attendance": "2"}) == 0b0001100
    assert counts.flag_bits({"left_behind": "0", "migrant_child": False}) == 0


# -- registration, edit, the audits -----------------------------------------------------


def test_registration_and_a_flag_edit_move_their_cell(a: SchoolRef) -> None:
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.services import student_update
    from tenants.models import SchoolStats

    before = _exact(a)
    # a boy (even seq), 独生子女, a draft of class 2024101
    pk = _register(a, 0, only_child="是")
    after = _exact(a)
    assert _moved(before, after) == {_cell("draft"): _figures(1, only_child=1)}
    # the headline numbers follow in the same transaction: every draft, the seeded one too
    drafts = sum(f[0] for c, f in after.items() if c[5] == "draft")
    assert SchoolStats.objects.get(school_id=a.id).pending == drafts >= 2

    # 留守 set on the existing record: only the flag sum moves
    with school_context(a.schema):
        student_update(
            student_id=pk,
            raw=valid_row(seq=BASE, only_child="是", left_behind="双亲留守儿童"),
            actor=_actor(a),
        )
        assert Student.objects.values_list("left_behind", flat=True).get(pk=pk) == "2"
    edited = _exact(a)
    assert _moved(after, edited) == {_cell("draft"): _figures(0, left_behind=1)}


def test_submit_and_both_audits_move_the_record_between_lines(a: SchoolRef) -> None:
    from tenant_apps.registry.facade import students_county_decide
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.approval import students_school_decide, students_submit
    from tenants.models import SchoolStats

    first, second = _register(a, 1, attendance="住校"), _register(a, 3)  # two girls
    with school_context(a.schema):
        uuids = dict(Student.objects.filter(pk__in=[first, second]).values_list("pk", "identifier"))
    connection.set_schema_to_public()
    start = _exact(a)

    with school_context(a.schema):
        students_submit(student_ids=[first, second], actor=_actor(a))
    submitted = _exact(a)
    assert _moved(start, submitted) == {
        _cell("draft", sex="2"): _figures(-2, boarding=-1),
        _cell("school_pending", sex="2"): _figures(2, boarding=1),
    }

    with school_context(a.schema):
        students_school_decide(
            student_ids=[second], approve=False, reason="照片不清", actor=_actor(a, "approver")
        )
        students_school_decide(
            student_ids=[first], approve=True, reason="", actor=_actor(a, "approver")
        )
    decided = _exact(a)
    assert _moved(submitted, decided) == {
        _cell("school_pending", sex="2"): _figures(-2, boarding=-1),
        _cell("county_pending", sex="2"): _figures(1, boarding=1),
        _cell("draft", sex="2"): _figures(1),
    }

    bureau = Actor(username="liuyang", name="浏阳学籍", schema="public")
    students_county_decide(
        schema_name=a.schema, student_uuids=[uuids[first]], approve=True, reason="", actor=bureau
    )
    registered = _exact(a)
    assert _moved(decided, registered) == {
        _cell("county_pending", sex="2"): _figures(-1, boarding=-1),
        _cell("registered", sex="2"): _figures(1, boarding=1),
    }
    stats = SchoolStats.objects.get(school_id=a.id)
    in_school = {c: f[0] for c, f in registered.items() if c[5] == "registered" and c[4] == "01"}
    girls = sum(n for c, n in in_school.items() if c[2] == "2")
    assert (stats.students, stats.female) == (sum(in_school.values()), girls)
    assert girls >= 1

    # the county's rejection: a second pupil through both school steps, then back to draft
    with school_context(a.schema):
        students_submit(student_ids=[second], actor=_actor(a))
        students_school_decide(
            student_ids=[second], approve=True, reason="", actor=_actor(a, "approver")
        )
    pending = _exact(a)
    students_county_decide(
        schema_name=a.schema,
        student_uuids=[uuids[second]],
        approve=False,
        reason="户籍不符",
        actor=bureau,
    )
    assert _moved(pending, _exact(a)) == {
        _cell("county_pending", sex="2"): _figures(-1),
        _cell("draft", sex="2"): _figures(1),
    }


def test_the_import_confirmation_counts_every_copied_row(a: SchoolRef) -> None:
    from tenant_apps.registry.imports import pipeline as imports
    from tenant_apps.registry.students.services import class_map
    from tenant_apps.registry.validation.rows import RowValidator

    before = _exact(a)
    with school_context(a.schema):
        validator = RowValidator(class_nos=set(class_map()))
        rows = []
        for i in range(6):  # seqs 100..105: boys at even seqs, girls at odd
            over = {"left_behind": "单亲留守儿童"} if i < 2 else {}
            result = validator.validate(valid_row(seq=BASE + 100 + i, **over))
            assert not result.errors, result.errors
            suspected = [{"school_name": "某校", "name": "张*", "rule": "name_sex_birth"}]
            rows.append((i + 2, result.data, suspected if i == 5 else []))
        assert imports.students_create_bulk(rows=rows, actor=_actor(a)) == {
            "written": 6,
            "skipped": 0,
        }
    after = _exact(a)
    assert _moved(before, after) == {
        # seqs 100, 102, 104: boys, 100 留守
        _cell("draft"): _figures(3, left_behind=1),
        # seqs 101, 103: girls, 101 留守; 105 is 问题学籍
        _cell("draft", sex="2"): _figures(2, left_behind=1),
        _cell("problem", sex="2", has_problem=True): _figures(1),
    }


# -- problem records --------------------------------------------------------------------


def test_problem_paths_flag_resolve_and_delete(a: SchoolRef) -> None:
    from tenant_apps.registry.models import ProblemRecord, Student
    from tenant_apps.registry.problems.services import problem_delete, problems_flag

    pk = _register(a, 5)  # a girl, draft
    other = _register(a, 7)  # a girl, draft
    with school_context(a.schema):
        Student.objects.filter(pk=other).update(audit_state="registered")
        ident = dict(Student.objects.filter(pk__in=[pk, other]).values_list("pk", "identifier"))
    connection.set_schema_to_public()
    _sync(a)  # the record made registered by hand is what the index holds now
    start = _exact(a)

    # the nightly 查重 flags a draft (it turns 问题学籍) and a registered record (it stays
    # registered, carrying the open problem)
    with school_context(a.schema):
        items = [
            {"student_uuid": str(ident[p]), "kind": "suspected", "others": []} for p in (pk, other)
        ]
        assert problems_flag(items=items) == 2
    flagged = _exact(a)
    assert _moved(start, flagged) == {
        _cell("draft", sex="2"): _figures(-1),
        _cell("problem", sex="2", has_problem=True): _figures(1),
        _cell("registered", sex="2"): _figures(-1),
        _cell("registered", sex="2", has_problem=True): _figures(1),
    }

    # 删除: the draft's record is counted nowhere any more
    with school_context(a.schema):
        problem = ProblemRecord.objects.get(student_id=pk)
        problem_delete(problem_id=problem.pk, reason="重复录入", actor=_actor(a))
    deleted = _exact(a)
    assert _moved(flagged, deleted) == {_cell("problem", sex="2", has_problem=True): _figures(-1)}


# -- status changes ----------------------------------------------------------------------


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("kind", "stage", "entry_year", "from_status", "to_status", "fields", "evidence"),
    [
        ("SUSPEND", "primary", 2024, "01", "02", {"reason_code": "01"}, True),
        ("RESUME", "primary", 2024, "02", "01", {}, False),
        (
            "WITHDRAW",
            "senior",
            2025,
            "01",
            "03",
            {"reason_code": "01", "reason_text": "本人"},
            True,
        ),
        (
            "DROPOUT",
            "junior",
            2024,
            "01",
            "06",
            {"reason_code": "03", "reason_text": "务工"},
            False,
        ),
        ("DEATH", "primary", 2024, "01", "11", {}, True),
    ],
    ids=["休学", "复学", "退学", "辍学", "死亡"],
)
def test_each_status_change_moves_its_pupil_on_completion(
    a: SchoolRef,
    kind: str,
    stage: str,
    entry_year: int,
    from_status: str,
    to_status: str,
    fields: dict[str, str],
    evidence: bool,
) -> None:
    from shared_apps.transfers.services import CaseActor, case_decide
    from tenant_apps.registry.changes.services import (
        ChangeInput,
        Upload,
        change_school_decide,
        change_submit,
    )
    from tenant_apps.registry.tests.test_changes import _pupil

    pupil = _pupil(a.schema, f"异动{kind}", stage=stage, entry_year=entry_year, status=from_status)
    connection.set_schema_to_public()
    before = _exact(a)
    today = timezone.localdate()
    leave = (
        {"leave_from": today, "leave_to": today + dt.timedelta(days=120)}
        if kind == "SUSPEND"
        else {}
    )
    with school_context(a.schema):
        change = change_submit(
            student_id=pupil.pk,
            data=ChangeInput(kind=kind, change_date=today, **fields, **leave),  # type: ignore[arg-type]
            uploads=[Upload("证明.png", _png())] if evidence else [],
            actor=_actor(a),
        )
        change_school_decide(
            change_id=change.pk,
            approve=True,
            reason="",
            actor=_actor(a, "approver"),
            case_actor=CaseActor("approver", a.schema, None, frozenset({"registry.approve"})),
        )
    connection.set_schema_to_public()
    assert _moved(before, _exact(a)) == {}, "nothing moves before the county's approval"
    bureau = CaseActor("liuyang", "public", "430181000000", frozenset({"bureau.audit"}))
    case_decide(case_id=change.case_id, actor=bureau, approve=True)  # type: ignore[arg-type]
    cell = {"stage": stage, "entry_year": entry_year, "ethnicity": ""}  # _pupil sets none
    assert _moved(before, _exact(a)) == {
        _cell("registered", from_status, **cell): _figures(-1),  # type: ignore[arg-type]
        _cell("registered", to_status, **cell): _figures(1),  # type: ignore[arg-type]
    }


# -- transfers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sending", "id_number", "chain"),
    [
        # 转出 within the county: the sending school, then the county bureau
        ("b", "430181201803017891", ("school", "430181000000")),
        # between counties: the receiving county, the sending school, the sending county
        ("c", "430182201803017890", ("430181000000", "school", "430182000000")),
    ],
    ids=["同县", "跨县"],
)
def test_a_transfer_moves_the_pupil_from_one_school_to_the_other(
    db: None, world: World, sending: str, id_number: str, chain: tuple[str, ...]
) -> None:
    from shared_apps.transfers.services import CaseActor, case_decide
    from shared_apps.transfers.tests.test_transfer import _start

    sender: SchoolRef = getattr(world, sending)
    made = make_student(sender.schema, sender.id, name="转学测试实时", id_number=id_number)
    connection.set_schema_to_public()
    _sync(world.a)
    _sync(sender)
    a_before, sender_before = _exact(world.a), _exact(sender)
    case = _start(world, made, receiving="a", sending=sending)
    connection.set_schema_to_public()
    bureaus = {"430181000000": "liuyang", "430182000000": "ningxiang"}
    for owner in chain:
        if owner == "school":
            actor = CaseActor("approver", sender.schema, None, frozenset({"registry.approve"}))
        else:
            actor = CaseActor(bureaus[owner], "public", owner, frozenset({"bureau.audit"}))
        case = case_decide(case_id=case.pk, actor=actor, approve=True)
    assert case.state == "done"
    # the receiving school counts a 在读 pupil more; the sending school's 转出 copy is
    # not its pupil any more (the index entry moved), so it counts one less
    assert _moved(a_before, _exact(world.a)) == {_cell("registered"): _figures(1)}
    assert _moved(sender_before, _exact(sender)) == {_cell("registered"): _figures(-1)}


# -- rollover and its undo ----------------------------------------------------------------


def test_rollover_and_its_undo(a: SchoolRef, monkeypatch: pytest.MonkeyPatch) -> None:
    from tenant_apps.registry.lifecycle import rollover
    from tenant_apps.registry.tests.test_rollover import ACTOR, IN_WINDOW, YEAR, pupil

    monkeypatch.setattr(rollover, "_today", lambda: IN_WINDOW)
    with school_context(a.schema):
        graduates = [pupil(BASE + 300), pupil(BASE + 302)]  # two boys of 2020, registered
        pupil(BASE + 304, entry_year=2023)  # promoted: no cell changes
    connection.set_schema_to_public()
    _sync(a)  # the helper sets registered by hand
    before = _exact(a)
    with school_context(a.schema):
        run = rollover.rollover_start(school_year=YEAR, actor=ACTOR)
        run = rollover.rollover_run(rollover_id=run.pk, actor=ACTOR)
        assert run.counts["graduated"] == len(graduates)
    connection.set_schema_to_public()
    ran = _exact(a)
    assert _moved(before, ran) == {
        _cell("registered", "01", entry_year=2020): _figures(-2),
        _cell("registered", "07", entry_year=2020): _figures(2),
    }
    with school_context(a.schema):
        rollover.rollover_undo(rollover_id=run.pk, actor=ACTOR)
    connection.set_schema_to_public()
    assert _exact(a) == before


# -- the restore's re-index ---------------------------------------------------------------


def test_the_restore_resync_recounts_the_restored_records(a: SchoolRef) -> None:
    """A restore replaces the school's rows wholesale, then re-indexes (backups.restore
    calls _index_resync): here the rows are changed behind the index's back as a restore
    would, and the re-index brings the counts to the records."""
    from shared_apps.backups.index_resync import _index_resync
    from tenant_apps.registry.models import Student

    kept, gone = _register(a, 9), _register(a, 11)  # two girls, drafts
    before = _exact(a)
    with school_context(a.schema):
        Student.objects.filter(pk=kept).update(audit_state="registered", only_child=True)
        Student.objects.filter(pk=gone).delete()
    _index_resync(school_id=a.id, schema=a.schema)
    connection.set_schema_to_public()
    assert _moved(before, _exact(a)) == {
        _cell("draft", sex="2"): _figures(-2),
        _cell("registered", sex="2"): _figures(1, only_child=1),
    }


# -- the nightly check --------------------------------------------------------------------


def test_the_nightly_check_finds_repairs_and_records_a_forged_drift(a: SchoolRef) -> None:
    from django.db.models import F

    from shared_apps.backups.index_resync import live_counts_check
    from shared_apps.student_index.models import CountDrift, IndexEntry, SchoolCount

    _register(a, 13)  # a girl, draft
    exact = _exact(a)
    assert live_counts_check(school_id=a.id)["cells"] == 0
    # forged: one count inflated, one pupil's entry gone without its counts following
    SchoolCount.objects.filter(school_id=a.id, audit_state="draft", sex="2").update(
        students=F("students") + 5
    )
    with school_context(a.schema):
        from tenant_apps.registry.models import Student

        victim = Student.objects.filter(sex="1").exclude(audit_state="deleted").first()
        assert victim is not None
    connection.set_schema_to_public()
    IndexEntry.objects.filter(student_uuid=victim.identifier).delete()

    summary = live_counts_check(school_id=a.id)

    assert summary["cells"] == 1  # only the inflated one: the deleted entry's counts stayed
    assert summary["repaired"] is True
    assert summary["indexed"] - summary["recorded"] == 5
    assert _exact(a) == exact
    assert IndexEntry.objects.filter(student_uuid=victim.identifier).exists()
    drift = CountDrift.objects.get(school_id=a.id)
    assert (drift.cells, drift.indexed - drift.recorded) == (1, 5)
    (item,) = drift.detail
    assert tuple(item["cell"]) == _cell("draft", sex="2")
    assert item["index"][0] - item["records"][0] == 5
    # the deleted entry alone is drift too, once the counts are re-derived without it
    IndexEntry.objects.filter(student_uuid=victim.identifier).delete()
    from shared_apps.student_index.live import counts_refresh

    counts_refresh(school_ids=[a.id])
    again = live_counts_check(school_id=a.id)
    assert (again["cells"], again["recorded"] - again["indexed"], again["repaired"]) == (1, 1, True)
    assert _exact(a) == exact


# -- concurrency --------------------------------------------------------------------------


def test_two_concurrent_writers_leave_the_counts_exact(live_db: World) -> None:
    """Two threads register pupils in school A at once, each in its own committed
    transaction: the per-school lock makes the second re-derive after the first."""
    from shared_apps.student_index.live import counts_refresh
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import FamilyMember, Student, StudentEvent
    from tenant_apps.registry.students.services import student_register

    a = live_db.a
    seqs = {0: range(BASE + 500, BASE + 506), 1: range(BASE + 600, BASE + 606)}
    made: list[uuid.UUID] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def writer(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            for seq in seqs[n]:
                with school_context(a.schema):
                    made.append(
                        student_register(raw=valid_row(seq=seq), actor=_actor(a)).identifier
                    )
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    counts_refresh(school_ids=[a.id])
    before = _exact_committed(a)
    threads = [threading.Thread(target=writer, args=(n,)) for n in (0, 1)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        after = _exact_committed(a)
        # 12 drafts of class 2024101: seqs are even at 500..504 and 600..604 (six boys)
        assert _moved(before, after) == {
            _cell("draft"): _figures(6),
            _cell("draft", sex="2"): _figures(6),
        }
    finally:
        with school_context(a.schema):
            ids = list(Student.objects.filter(identifier__in=made).values_list("pk", flat=True))
            StudentEvent.objects.filter(student_id__in=ids).delete()
            FamilyMember.objects.filter(student_id__in=ids).delete()
            Student.objects.filter(pk__in=ids).delete()
        connection.set_schema_to_public()
        IndexEntry.objects.filter(student_uuid__in=made).delete()
        counts_refresh(school_ids=[a.id])


def _exact_committed(school: SchoolRef) -> dict[tuple[object, ...], tuple[int, ...]]:
    """As _exact, for committed data whose index the test world never filled: the cells
    of the school's indexed records only."""
    from shared_apps.student_index.live import school_cells
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.services import index_record

    indexed = set(
        IndexEntry.objects.filter(school_id=school.id).values_list("student_uuid", flat=True)
    )
    expected: dict[tuple[object, ...], list[int]] = {}
    with school_context(school.schema):
        for s in Student.objects.select_related("school_class").filter(identifier__in=indexed):
            r = index_record(s)
            cell = (
                r.stage,
                r.entry_year,
                r.sex,
                r.ethnicity,
                r.status,
                r.audit_state,
                r.has_problem,
            )
            figures = expected.setdefault(cell, [0] * (FLAGS + 1))
            figures[0] += 1
            for i in range(FLAGS):
                figures[1 + i] += bool(r.flags & (1 << i))
    connection.set_schema_to_public()
    found = school_cells(school_id=school.id)
    assert found == {c: tuple(f) for c, f in expected.items()}
    return found  # type: ignore[return-value]
