"""The near-key 查重 of an import, after its commit (issue 19 point 7; domain §4.14).

The dry run and the confirmation match the three exact keys (same ID number, same
name+sex+birth date, same pinyin+birth date) and write the index entries without near
keys. Matching the near keys there as well (dialect near-homophones, a birth date a day
off or with day and month swapped) cost the 50,000-row import more than half its speed:
21 more keyed digests a row, about 12 GIN probes and 12 GIN entries (bench/RESULTS.md).

So, right after the commit, this computes the batch's near keys, matches them against
every school's entries and against each other (a pair alike only by a near key inside
the file is found too), and then fills them in the index.
Each row the match calls suspected (keys.match_kind: 疑似, never 重复) becomes 问题学籍 as
the nightly recheck makes it (problems_flag), with the other record shown masked and the
rule that matched. The registrar sees them on the 问题学籍 page and in the import's job a
few seconds after confirming; nothing is blocked, as a near-key match never blocks.

All of it is one transaction: a failure leaves the entries without near keys and opens
no problem, and the nightly re-key (backups.index_rekey_stale) and recheck then do the
same work. Running it twice does nothing the second time (counts["near_checked"]).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.core.files.storage import default_storage
from django.db import transaction

from shared_apps.student_index.keys import IdentityKeys, match_kind
from shared_apps.student_index.services import duplicates_find, index_near_fill
from tenant_apps.registry.imports.pending import payload_load
from tenant_apps.registry.models import ImportBatch, Student
from tenant_apps.registry.problems.services import problems_open
from tenant_apps.registry.students.services import (
    current_school,
    keys_of,
    school_writers_queue,
)

ACTION = "导入后查重发现问题"
MSG_JOB_NEAR = (
    "导入后查重：{n} 名学生与已有学籍或本文件其他行相似（同音、生日相近），已列入问题学籍。"
)
READ_CHUNK = 5000


def batch_student_uuids(batch: ImportBatch) -> list[uuid.UUID]:
    """The students the batch's confirmation wrote: its pending rows (the index line of
    each begins with the student's uuid), less any the write skipped, which are simply
    not found among the school's students."""
    with default_storage.open(batch.payload_key, "rb") as f:
        pending = payload_load(f.read())
    return [uuid.UUID(line.split("\t", 1)[0]) for line in pending.rows.index]


def _keys(uuids: Sequence[uuid.UUID]) -> list[tuple[uuid.UUID, IdentityKeys]]:
    out: list[tuple[uuid.UUID, IdentityKeys]] = []
    fields = ("identifier", "name", "sex", "birth_date", "id_type", "id_number")
    for start in range(0, len(uuids), READ_CHUNK):
        rows = (
            Student.objects.filter(identifier__in=uuids[start : start + READ_CHUNK])
            .exclude(audit_state=Student.Audit.DELETED)
            .values_list(*fields)
        )
        for identifier, name, sex, birth_date, id_type, id_number in rows:
            data = {
                "name": name,
                "sex": sex,
                "birth_date": birth_date,
                "id_type": id_type,
                "id_number": id_number,
            }
            out.append((identifier, keys_of(data)))
    return out


def near_pairs(keys: Sequence[IdentityKeys]) -> list[tuple[int, int]]:
    """The pairs of positions alike by a near key that keys.match_kind calls suspected
    (疑似: not when both have a resident ID number), each pair once."""
    groups: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        for key in k.near_hashes:
            groups.setdefault(key, []).append(i)
    pairs: set[tuple[int, int]] = set()
    for members in groups.values():
        for n, a in enumerate(members):
            for b in members[n + 1 :]:
                if match_kind("near", keys[a].id_hash, keys[b].id_hash) == "suspected":
                    pairs.add((a, b))
    return sorted(pairs)


def import_near_check(*, batch_id: str) -> int | None:
    """Fill the committed batch's near keys and open 问题学籍 for its rows they make
    suspected. Returns how many were opened, or None when there was nothing to do
    (not committed, or checked already)."""
    batch = ImportBatch.objects.get(pk=batch_id)
    if batch.state != ImportBatch.State.COMMITTED or "near_checked" in batch.counts:
        return None
    keyed = _keys(batch_student_uuids(batch))
    school_id = current_school().id
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch_id)
        if "near_checked" in batch.counts:
            return None  # another run got here first
        school_writers_queue(school_id)
        keys = [k for _, k in keyed]
        # Matched before the fill, so that the index answers for the other records
        # only, and the batch is paired with itself here, without a query.
        others: dict[int, list[list[object]]] = {}
        for h in duplicates_find(keys, exclude=[u for u, _ in keyed], rules=("near",)):
            if h.kind == "suspected":
                others.setdefault(h.position, []).append([h.school_id, str(h.student_uuid)])
        for a, b in near_pairs(keys):
            others.setdefault(a, []).append([school_id, str(keyed[b][0])])
            others.setdefault(b, []).append([school_id, str(keyed[a][0])])
        index_near_fill(school_id=school_id, keys=keyed)
        items = [
            {
                "student_uuid": str(keyed[i][0]),
                "kind": "suspected",
                "rule": "near",
                "others": found,
            }
            for i, found in sorted(others.items())
        ]
        opened = problems_open(items=items, action=ACTION) if items else 0
        batch.counts = {**batch.counts, "near_checked": len(keyed), "near_suspected": opened}
        batch.save(update_fields=["counts"])
        if opened and batch.job_id:
            from shared_apps.jobs.services import job_retell

            job_retell(job_id=batch.job_id, message=MSG_JOB_NEAR.format(n=opened), append=True)
    return opened
