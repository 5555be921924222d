"""The index keeps its three digests as PostgreSQL uuid (DigestField): Python still sees
32 hex characters, "no ID number" is NULL in the table and "" in Python, and 查重 and
the nightly grouping read them that way."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from conftest import World
from shared_apps.student_index.keys import IdentityKeys, digest
from shared_apps.student_index.models import IndexEntry
from shared_apps.student_index.selectors import duplicate_flags
from shared_apps.student_index.services import duplicates_find

pytestmark = pytest.mark.django_db


def _entry(world: World, n: int, *, id_hash: str, name_hash: str) -> IndexEntry:
    return IndexEntry.objects.create(
        school_id=world.b.id,
        student_uuid=uuid.UUID(int=0xD16E57 * 1000 + n),
        id_hash=id_hash,
        name_hash=name_hash,
        pinyin_hash=digest(f"py-test:{n}"),
        stage="primary",
        entry_year=2024,
        sex="1",
        ethnicity="01",
        status="01",
        audit_state="draft",
    )


def test_digests_are_stored_as_uuid_and_read_back_as_hex(world: World) -> None:
    with_id = _entry(world, 1, id_hash=digest("id:t1"), name_hash=digest("nsb:t1"))
    without = _entry(world, 2, id_hash="", name_hash=digest("nsb:t2"))

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_typeof(name_hash)::text, id_hash IS NULL"
            " FROM public.student_index_indexentry WHERE id = ANY(%s) ORDER BY id",
            [[with_id.pk, without.pk]],
        )
        stored = cursor.fetchall()
    assert stored == [("uuid", False), ("uuid", True)]
    back = {e.pk: e for e in IndexEntry.objects.filter(pk__in=[with_id.pk, without.pk])}
    assert back[with_id.pk].id_hash == digest("id:t1")
    assert back[with_id.pk].name_hash == digest("nsb:t1")
    assert back[without.pk].id_hash == ""
    assert IndexEntry.objects.filter(id_hash=digest("id:t1")).get().pk == with_id.pk


def test_duplicates_find_reads_uuid_digests(world: World) -> None:
    _entry(world, 3, id_hash=digest("id:t3"), name_hash=digest("nsb:t3"))
    _entry(world, 4, id_hash="", name_hash=digest("nsb:t4"))
    candidates = [
        # same ID number: 重复, and not reported again by the name rule
        IdentityKeys(digest("id:t3"), digest("nsb:t3"), digest("py-x:3")),
        # no ID number, same name+sex+birth as a record without one: 疑似重复
        IdentityKeys("", digest("nsb:t4"), digest("py-x:4")),
        # nothing alike
        IdentityKeys(digest("id:none"), digest("nsb:none"), digest("py-x:none")),
    ]

    hits = duplicates_find(candidates)

    assert [(h.position, h.kind, h.rule) for h in hits] == [
        (0, "duplicate", "id"),
        (1, "suspected", "name_sex_birth"),
    ]


def test_the_nightly_grouping_counts_a_missing_id_as_a_difference(world: World) -> None:
    _entry(world, 5, id_hash=digest("id:t5"), name_hash=digest("nsb:t5"))
    twin = _entry(world, 6, id_hash="", name_hash=digest("nsb:t5"))

    flags = {f.student_uuid: f for f in duplicate_flags(school_ids=[world.b.id])}

    assert flags[twin.student_uuid].kind == "suspected"


def test_the_nightly_grouping_uses_pinyin_too_and_flags_each_record_once(world: World) -> None:
    # 梓涵 / 子涵: different characters, the same pinyin and birth date, no common ID.
    a = _entry(world, 7, id_hash=digest("id:t7"), name_hash=digest("nsb:t7"))
    b = _entry(world, 8, id_hash=digest("id:t8"), name_hash=digest("nsb:t8"))
    IndexEntry.objects.filter(pk__in=[a.pk, b.pk]).update(pinyin_hash=digest("py-test:zihan"))
    # a third record alike by both name and pinyin with the first: flagged once
    c = _entry(world, 9, id_hash="", name_hash=digest("nsb:t7"))
    IndexEntry.objects.filter(pk=c.pk).update(pinyin_hash=digest("py-test:zihan"))

    flags = {f.student_uuid: f for f in duplicate_flags(school_ids=[world.b.id])}

    # a and b hold two different ID numbers: the twin guard keeps that pair out of 疑似
    assert flags[b.student_uuid].kind == "suspected"
    assert [u for _s, u in flags[b.student_uuid].others] == [c.student_uuid]
    assert [u for _s, u in flags[a.student_uuid].others] == [c.student_uuid]
    assert sorted(u for _s, u in flags[c.student_uuid].others) == sorted(
        [a.student_uuid, b.student_uuid]
    )
    # two records with the same ID are not suspected again by their pinyin
    d = _entry(world, 10, id_hash=digest("id:t10"), name_hash=digest("nsb:t10"))
    e = _entry(world, 11, id_hash=digest("id:t10"), name_hash=digest("nsb:t11"))
    IndexEntry.objects.filter(pk__in=[d.pk, e.pk]).update(pinyin_hash=digest("py-test:same"))
    flags = {f.student_uuid: f for f in duplicate_flags(school_ids=[world.b.id])}
    assert flags[d.student_uuid].kind == "duplicate"


@pytest.mark.parametrize("key", ["short key", "k" * 64, "长" * 40])  # under, at, over a block
def test_digest_is_hmac_sha256_under_the_configured_key(
    key: str, settings: pytest.FixtureRequest
) -> None:
    import hashlib
    import hmac

    from shared_apps.student_index import keys

    settings.STUDENT_INDEX_HMAC_KEY = key  # type: ignore[attr-defined]
    keys._key.cache_clear()
    keys._keyed.cache_clear()
    try:
        for value in ("id:430181201803010016", "nsb:张三|1|20180301", ""):
            want = hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]
            assert keys.digest(value) == want
    finally:
        keys._key.cache_clear()
        keys._keyed.cache_clear()
