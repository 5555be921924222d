"""查重 that catches typos (issue 19 point 7) on every product path: single entry, an
import file compared with itself, the nightly grouping and the re-key command. The pair
used: 张芳林 registered in school B, then 张荒林 (fang / huang, the vowel differs too),
born a day later and without a resident ID number, in school A."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection

from conftest import World, login
from tenant_apps.registry.tests.factories import valid_row
from tenant_apps.registry.tests.test_import_dry_run import _upload, _workbook, eager  # noqa: F401
from tenants.context import school_context

pytestmark = pytest.mark.django_db
SEQ = 7300  # seq range no other test uses


def _uuid(schema: str, name: str):
    from tenant_apps.registry.models import Student

    with school_context(schema):
        return Student.objects.get(name=name).identifier


def _post(client, body: dict):
    response = client.post("/api/v1/students/", body, content_type="application/json")
    connection.set_schema_to_public()
    return response


def _pair(*, second_id: bool = False) -> tuple[dict, dict]:
    """张芳林, and 张荒林 of the same sex born a day later: without an ID number, or with
    a valid one of its own (a generated pupil born that day)."""
    first = valid_row(seq=SEQ, name="张芳林")
    born = dt.date.fromisoformat(first["birth_date"])  # YYYYMMDD is ISO 8601 basic
    day_after = f"{born + dt.timedelta(days=1):%Y%m%d}"
    second = next(
        {**row, "name": "张荒林"}
        for row in map(valid_row, range(SEQ + 1, SEQ + 20000))
        if (row["birth_date"], row["sex"]) == (day_after, first["sex"])
    )
    if not second_id:
        second.update(id_type="其他", id_number="")
    return first, second


def test_single_entry_sends_a_near_homophone_born_a_day_off_to_review_never_blocks(
    world: World,
) -> None:
    from tenant_apps.registry.models import ProblemRecord

    first, second = _pair()
    assert _post(login(world.b.host, "registrar"), first).status_code == 201
    response = _post(login(world.a.host, "registrar"), second)

    assert response.status_code == 201, response.content
    assert response.json()["audit_state"] == "problem"
    with school_context(world.a.schema):
        problem = ProblemRecord.objects.get(student__name="张荒林")
    assert problem.kind == "suspected"
    assert problem.others[0]["school_name"] == world.b.name
    assert problem.others[0]["name"] == "张*林", "the other record is shown masked"
    assert problem.others[0]["rule"] == "near"


def test_the_nightly_grouping_finds_the_pair_and_a_twin_guarded_one_only_as_low(
    world: World,
) -> None:
    from shared_apps.student_index.selectors import duplicate_flags
    from shared_apps.student_index.services import duplicates_find
    from tenant_apps.registry.facade import index_records

    first, second = _pair()
    assert _post(login(world.b.host, "registrar"), first).status_code == 201
    assert _post(login(world.a.host, "registrar"), second).status_code == 201

    flags = {f.student_uuid: f for f in duplicate_flags(school_ids=[world.a.id, world.b.id])}
    a_uuid, b_uuid = _uuid(world.a.schema, "张荒林"), _uuid(world.b.schema, "张芳林")
    assert flags[a_uuid].kind == "suspected"
    assert flags[a_uuid].others == ((world.b.id, b_uuid),)
    assert flags[b_uuid].others == ((world.a.id, a_uuid),)

    # the same pair with two different valid ID numbers: low priority, never 疑似
    keys = next(
        r.keys for r in index_records(schema_name=world.a.schema) if r.student_uuid == a_uuid
    )
    with_id = type(keys)("f" * 32, keys.name_hash, keys.pinyin_hash, keys.near_hashes)
    assert duplicates_find([with_id], exclude=[a_uuid]) == []
    low = duplicates_find([with_id], exclude=[a_uuid], low=True)
    assert [(h.kind, h.student_uuid) for h in low] == [("low", b_uuid)]


def _import(client, rows: list[dict], django_capture_on_commit_callbacks) -> dict:
    """Upload `rows` as a workbook and confirm the valid ones; returns the dry run's
    report. The queued tasks run eagerly where the request left the connection."""
    with django_capture_on_commit_callbacks(execute=True):
        started = _upload(client, _workbook(rows), reset=False)
    connection.set_schema_to_public()
    assert started.status_code == 202, started.content
    batch_id = started.json()["id"]
    report = client.get(f"/api/v1/imports/{batch_id}/").json()
    connection.set_schema_to_public()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            f"/api/v1/imports/{batch_id}/confirm/",
            {"mode": "valid_only"},
            content_type="application/json",
        )
    connection.set_schema_to_public()
    assert done.status_code == 200, done.content
    return report


def _near_problems(schema: str) -> dict[str, list[dict]]:
    from tenant_apps.registry.models import ProblemRecord, Student, StudentEvent

    with school_context(schema):
        problems = {
            p.student.name: p.others
            for p in ProblemRecord.objects.select_related("student").filter(kind="suspected")
        }
        states = dict(Student.objects.filter(name__in=problems).values_list("name", "audit_state"))
        actions = set(
            StudentEvent.objects.filter(student__name__in=problems).values_list("action", flat=True)
        )
    assert set(states.values()) <= {"problem"}, states
    assert not problems or "导入后查重发现问题" in actions
    return problems


def test_an_import_file_with_the_two_rows_flags_both_after_its_commit(
    world: World,
    eager: None,  # noqa: F811
    django_capture_on_commit_callbacks,
) -> None:
    """Neither the dry run nor the confirmation matches near keys (they cost the big
    import its speed); the check right after the commit finds the pair inside the file
    through the index and opens a 问题学籍 for each row."""
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import ImportBatch

    first, second = _pair()
    client = login(world.a.host, "registrar")
    report = _import(client, [first, second], django_capture_on_commit_callbacks)

    assert report["duplicates"] == [], "the dry run matched the exact keys only"
    assert report["counts"]["invalid"] == 0, "a near pair never blocks"
    problems = _near_problems(world.a.schema)
    assert sorted(problems) == ["张芳林", "张荒林"]
    assert problems["张荒林"][0]["school_name"] == world.a.name
    assert problems["张荒林"][0]["name"] == "张*林", "the other record is shown masked"
    assert problems["张荒林"][0]["rule"] == "near"
    a_uuids = [_uuid(world.a.schema, n) for n in ("张芳林", "张荒林")]
    entries = IndexEntry.objects.filter(student_uuid__in=a_uuids)
    assert all(e.near_hashes and e.low_hashes and e.has_problem for e in entries)
    with school_context(world.a.schema):
        counts = ImportBatch.objects.get(pk=report["id"]).counts
    assert (counts["near_checked"], counts["near_suspected"]) == (2, 2)


def test_an_imported_row_near_a_record_of_another_school_is_flagged_masked(
    world: World,
    eager: None,  # noqa: F811
    django_capture_on_commit_callbacks,
) -> None:
    """张芳林 registered in school B with a resident ID; 张荒林 imported into school A
    without one: 疑似 after the commit, shown with school B and the name masked, and the
    job says so. Running the check again changes nothing."""
    from shared_apps.jobs.models import Job
    from tenant_apps.registry.imports.near_check import import_near_check
    from tenant_apps.registry.models import ImportBatch

    first, second = _pair()
    assert _post(login(world.b.host, "registrar"), first).status_code == 201
    client = login(world.a.host, "registrar")
    report = _import(client, [second], django_capture_on_commit_callbacks)

    problems = _near_problems(world.a.schema)
    assert list(problems) == ["张荒林"]
    assert problems["张荒林"][0]["school_name"] == world.b.name
    assert problems["张荒林"][0]["name"] == "张*林"
    assert str(first["id_number"]) not in str(problems)
    with school_context(world.a.schema):
        batch = ImportBatch.objects.get(pk=report["id"])
        assert import_near_check(batch_id=str(batch.pk)) is None, "checked once only"
    assert batch.job_id is not None
    assert "导入后查重：1 名学生" in Job.objects.get(pk=batch.job_id).message
    assert _near_problems(world.b.schema) == {}, "school B's record is not changed"


def test_a_failed_near_check_leaves_no_near_key_and_no_problem(
    world: World,
    eager: None,  # noqa: F811
    django_capture_on_commit_callbacks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check is one transaction: a failure in its last step (the problem records)
    leaves the entries as the confirmation wrote them, without near keys, so the nightly
    re-key and recheck do the same work later; the batch is not marked checked."""
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.imports import near_check
    from tenant_apps.registry.models import ImportBatch

    def broken(**kwargs):
        raise RuntimeError("injected")

    monkeypatch.setattr(near_check, "problems_open", broken)
    first, second = _pair()
    client = login(world.a.host, "registrar")
    with pytest.raises(RuntimeError, match="injected"):
        _import(client, [first, second], django_capture_on_commit_callbacks)

    a_uuids = [_uuid(world.a.schema, n) for n in ("张芳林", "张荒林")]
    assert [e.near_hashes for e in IndexEntry.objects.filter(student_uuid__in=a_uuids)] == [[], []]
    assert _near_problems(world.a.schema) == {}
    with school_context(world.a.schema):
        batch = ImportBatch.objects.get(state="committed", counts__written=2)
    assert "near_checked" not in batch.counts


def test_the_rekey_command_fills_the_near_keys_of_existing_entries(world: World) -> None:
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.facade import index_records

    first, _ = _pair()
    assert _post(login(world.b.host, "registrar"), first).status_code == 201
    b_uuid = _uuid(world.b.schema, "张芳林")
    (record,) = [r for r in index_records(schema_name=world.b.schema) if r.student_uuid == b_uuid]
    # an entry written before migration 0006: no near keys
    IndexEntry.objects.filter(student_uuid=record.student_uuid).update(
        near_hashes=[], low_hashes=[]
    )

    call_command("index_rekey", "--code", world.b.code)

    entry = IndexEntry.objects.get(student_uuid=record.student_uuid)
    assert entry.near_hashes == list(record.keys.near_hashes) != []
    assert entry.low_hashes == list(record.keys.low_hashes) != []
    assert entry.name_hash == record.keys.name_hash


def test_the_nightly_task_rekeys_only_the_schools_with_unkeyed_entries(world: World) -> None:
    """An upgrade needs no manual step: before the recheck, backups.index_rekey_stale
    re-keys the schools whose entries have no near keys, and nothing once all have."""
    from shared_apps.backups.tasks import index_rekey_stale_task
    from shared_apps.student_index.models import IndexEntry

    first, _ = _pair()
    assert _post(login(world.b.host, "registrar"), first).status_code == 201
    b_uuid = _uuid(world.b.schema, "张芳林")
    keyed = IndexEntry.objects.get(student_uuid=b_uuid)
    IndexEntry.objects.filter(student_uuid=b_uuid).update(near_hashes=[], low_hashes=[])

    rekeyed = index_rekey_stale_task()

    after = IndexEntry.objects.get(student_uuid=b_uuid)
    assert (after.near_hashes, after.low_hashes) == (keyed.near_hashes, keyed.low_hashes)
    assert rekeyed == IndexEntry.objects.filter(school_id=world.b.id).count()
    assert index_rekey_stale_task() == 0, "nothing left to re-key"


def test_the_problems_page_shows_the_low_priority_list_masked_and_it_never_blocks(
    world: World,
) -> None:
    from tenant_apps.registry.models import ProblemRecord

    first, second = _pair(second_id=True)  # two different valid ID numbers: the twin guard
    assert _post(login(world.b.host, "registrar"), first).status_code == 201
    response = _post(login(world.a.host, "registrar"), second)
    assert response.status_code == 201, response.content
    assert response.json()["audit_state"] == "draft", "a low-priority match never blocks"
    with school_context(world.a.schema):
        assert not ProblemRecord.objects.filter(student__name="张荒林").exists()

    # the nightly 查重 keeps each school's low-priority list
    from shared_apps.student_index.selectors import duplicate_flags
    from shared_apps.student_index.tasks import low_priority_store

    schemas = {world.a.id: world.a.schema, world.b.id: world.b.schema}
    low_priority_store(duplicate_flags(school_ids=list(schemas), low=True), schemas)

    page = login(world.a.host, "registrar").get("/registry/problems/")
    connection.set_schema_to_public()
    assert page.status_code == 200
    html = page.content.decode()
    section = html[html.index('id="low-priority"') :]
    assert "张荒林" in section  # the school's own pupil
    assert "张*林" in section  # the other school's record, masked
    assert world.b.name in section
    assert "张芳林" not in html
    assert str(first["id_number"]) not in html


def test_the_nightly_recheck_opens_problems_for_review_matches_and_keeps_low_ones_apart(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache

    from shared_apps.student_index import tasks
    from tenant_apps.registry.problems.selectors import low_priority_list

    suspected_first, suspected_second = _pair()
    assert _post(login(world.b.host, "registrar"), suspected_first).status_code == 201
    assert _post(login(world.a.host, "registrar"), suspected_second).status_code == 201
    twin_first = valid_row(seq=SEQ + 40, name="李欣怡")
    # 李欣仪: the same pinyin and birth date, another valid ID number (the twin guard)
    born_ok = [
        r
        for r in map(valid_row, range(SEQ + 41, SEQ + 20000))
        if (r["birth_date"], r["sex"]) == (twin_first["birth_date"], twin_first["sex"])
    ]
    twin_second = {**born_ok[0], "name": "李欣仪"}
    assert _post(login(world.b.host, "registrar"), twin_first).status_code == 201
    assert _post(login(world.a.host, "registrar"), twin_second).status_code == 201
    sent: list[tuple[str, list]] = []
    monkeypatch.setattr(
        tasks.current_app, "send_task", lambda name, args: sent.append((name, args[0]))
    )

    tasks.recheck()

    a_suspected = str(_uuid(world.a.schema, "张荒林"))
    a_twin = _uuid(world.a.schema, "李欣仪")
    items = [i for name, batch in sent if name == "registry.problems_flag" for i in batch]
    kinds = {i["student_uuid"]: i["kind"] for i in items}
    assert kinds[a_suspected] == "suspected"
    assert str(a_twin) not in kinds, "a low-priority match opens no 问题学籍"
    with school_context(world.a.schema):
        listed, _total = low_priority_list(school_id=world.a.id)
        cache.delete(tasks.low_priority_key(world.a.id))
    assert a_twin in {item.student.identifier for item in listed}
