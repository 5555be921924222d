"""Writes of the programme's public tables. Callers pass plain values (ids, dates, the
actor's label) and check their own scope: the bureau that the school is the officer's,
the school that the pupil is its own and in school. Each function runs in the caller's
transaction when there is one (the school's tick writes its own record in the same one)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from common.exceptions import ApplicationError
from shared_apps.nutrition.models import BeneficiaryClaim, ProgrammeSchool
from shared_apps.student_index.models import IndexEntry

MSG_ALREADY_IN = "{school}已是营养改善计划学校。"
MSG_NOT_IN = "{school}目前不是营养改善计划学校。"
MSG_NO_INDEX = "{student}：学籍索引中没有该学生，不能列为受益学生。"


def programme_mark(*, school_id: int, school_name: str, on: dt.date, actor_label: str) -> None:
    """纳入营养改善计划: open a period from `on`."""
    with transaction.atomic():
        if (
            ProgrammeSchool.objects.select_for_update()
            .filter(school_id=school_id, until__isnull=True)
            .exists()
        ):
            raise ApplicationError(MSG_ALREADY_IN.format(school=school_name), code="nutrition")
        ProgrammeSchool.objects.create(school_id=school_id, since=on, marked_by=actor_label[:100])


def programme_unmark(*, school_id: int, school_name: str, on: dt.date, actor_label: str) -> None:
    """退出营养改善计划 from `on` (that day no longer counts). The school's claims stay as
    they are: its days stop counting with the period, and the school sees it is out."""
    with transaction.atomic():
        row = (
            ProgrammeSchool.objects.select_for_update()
            .filter(school_id=school_id, until__isnull=True)
            .first()
        )
        if row is None:
            raise ApplicationError(MSG_NOT_IN.format(school=school_name), code="nutrition")
        if on <= row.since:
            # Marked and unmarked before it ever counted: nothing to keep.
            row.delete()
            return
        row.until = on
        row.ended_by = actor_label[:100]
        row.save(update_fields=["until", "ended_by"])


@dataclass(frozen=True)
class ClaimInput:
    student_uuid: uuid.UUID
    label: str  # how the school names the pupil in a message (its own name for it)


def claims_open(
    *, school_id: int, students: Sequence[ClaimInput], on: dt.date, actor_label: str
) -> None:
    """Open a claim from `on` for each pupil, with the digests of its index entry. Must
    run inside the school's transaction that writes its own records."""
    uuids = [s.student_uuid for s in students]
    digests = {
        u: (i, n)
        for u, i, n in IndexEntry.objects.filter(student_uuid__in=uuids).values_list(
            "student_uuid", "id_hash", "name_hash"
        )
    }
    missing = [s.label for s in students if s.student_uuid not in digests]
    if missing:
        raise ApplicationError(
            "；".join(MSG_NO_INDEX.format(student=m) for m in missing), code="nutrition"
        )
    BeneficiaryClaim.objects.bulk_create(
        [
            BeneficiaryClaim(
                school_id=school_id,
                student_uuid=s.student_uuid,
                id_hash=digests[s.student_uuid][0],
                name_hash=digests[s.student_uuid][1],
                since=on,
                created_by=actor_label[:100],
            )
            for s in students
        ]
    )


def claims_close(
    *, school_id: int, student_uuids: Sequence[uuid.UUID], on: dt.date, actor_label: str
) -> int:
    """End the open claims of these pupils from `on`; a claim that never counted a day
    (ended on the day it began) is removed. Returns how many were open."""
    open_claims = BeneficiaryClaim.objects.filter(
        school_id=school_id, student_uuid__in=list(student_uuids), until__isnull=True
    )
    removed, _ = open_claims.filter(since__gte=on).delete()
    ended = open_claims.update(until=on, ended_by=actor_label[:100])
    return removed + ended


@dataclass(frozen=True)
class ClaimRecord:
    """One beneficiary period as the school records it (rosters.Beneficiary's values)."""

    student_uuid: uuid.UUID
    since: dt.date
    until: dt.date | None
    ticked_by: str
    ended_by: str


def claims_school_replace(*, school_id: int, records: Sequence[ClaimRecord]) -> int:
    """Make the school's public claims mirror its own records again (after a restore
    put back an older state of the school). Digests come from the claims being replaced,
    else from the index; a record with neither (no trace of the pupil in public) cannot
    be compared and is left out. Returns how many claims were written."""
    with transaction.atomic():
        old = BeneficiaryClaim.objects.filter(school_id=school_id)
        digests = {u: (i, n) for u, i, n in old.values_list("student_uuid", "id_hash", "name_hash")}
        uuids = [r.student_uuid for r in records]
        for u, i, n in IndexEntry.objects.filter(student_uuid__in=uuids).values_list(
            "student_uuid", "id_hash", "name_hash"
        ):
            digests.setdefault(u, (i, n))
        old.delete()
        made = BeneficiaryClaim.objects.bulk_create(
            [
                BeneficiaryClaim(
                    school_id=school_id,
                    student_uuid=r.student_uuid,
                    id_hash=digests[r.student_uuid][0],
                    name_hash=digests[r.student_uuid][1],
                    since=r.since,
                    until=r.until,
                    created_by=r.ticked_by[:100],
                    ended_by=r.ended_by[:100],
                )
                for r in records
                if r.student_uuid in digests
            ]
        )
    return len(made)
