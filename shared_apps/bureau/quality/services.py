"""Writes of 数据质量: refreshing one school's figures into the public table, finding the
schools whose figures are stale, and the county's 人籍一致 deadline.

How fresh the figures are (what the pages say under the table):
* a 人籍一致 confirmation refreshes its school as soon as it commits (registry hook);
* every other write a figure depends on moves the school's public traces — its live counts
  (student_index.SchoolCount, exact in the write's transaction), its index entries'
  `updated_at`, its business cases' `updated_at` — and the sweep every five minutes
  refreshes exactly the schools whose signature of those changed;
* what changes with the calendar alone (an audit or draft ageing into the next band, a
  case passing its deadline, the 人籍一致 deadline passing) is picked up by the nightly
  full pass at 00:40, after the day has turned; the pages compute the oldest item's age
  from its stored date at request time, so that number is never stale.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from accounts.models import User
from common.exceptions import ApplicationError
from shared_apps.bureau.models import QualityRefresh, RosterDeadline, SchoolQuality
from shared_apps.bureau.quality.selectors import TermRef, deadline_terms, roster_deadline
from shared_apps.bureau.selectors import counties_under
from shared_apps.student_index.models import IndexEntry, SchoolCount
from shared_apps.transfers.models import Case
from tenant_apps.registry.facade import school_quality
from tenants.models import School

MSG_NO_COUNTY = "请选择辖区内的区县。"
MSG_BAD_TERM = "请选择学期。"
MSG_BAD_DATE = "请填写截止日期。"
MSG_DATE_OUTSIDE = "截止日期应在该学期之内（{start}至{end}）。"


def school_signatures(school_ids: Iterable[int]) -> dict[int, str]:
    """A digest per school of its public traces: the live counts by registration state,
    status and problem flag, the latest change of its index entries and of the business
    cases it is part of. Equal digests mean nothing a figure counts has moved (apart from
    the calendar, which the nightly pass covers)."""
    ids = list(school_ids)
    parts: dict[int, list[str]] = {pk: [] for pk in ids}
    counts = (
        SchoolCount.objects.filter(school_id__in=ids)
        .values("school_id", "audit_state", "status", "has_problem")
        .annotate(n=Sum("students"))
        .order_by("school_id", "audit_state", "status", "has_problem")
    )
    for row in counts:
        parts[row["school_id"]].append(
            f"{row['audit_state']}/{row['status']}/{int(row['has_problem'])}={row['n']}"
        )
    latest = (
        IndexEntry.objects.filter(school_id__in=ids)
        .values("school_id")
        .annotate(m=Max("updated_at"))
        .order_by()
    )
    for entry in latest:
        parts[entry["school_id"]].append(f"i{entry['m']:%Y%m%d%H%M%S%f}")
    for field in ("school_id", "other_school_id"):
        cases = (
            Case.objects.filter(**{f"{field}__in": ids})
            .values(field)
            .annotate(m=Max("updated_at"))
            .order_by()
        )
        for case in cases:
            parts[case[field]].append(f"c{field[0]}{case['m']:%Y%m%d%H%M%S%f}")
    return {pk: hashlib.sha256("|".join(p).encode()).hexdigest() for pk, p in parts.items()}


def quality_refresh(*, school_id: int, now: dt.datetime | None = None) -> int:
    """Compute one school's figures inside the school (registry facade) and store them,
    with the school's signature, in one transaction. Returns the number of figures."""
    school = School.objects.serving().filter(pk=school_id).first()
    if school is None:
        return 0
    now = now or timezone.now()
    started = time.monotonic()
    # The signature is taken before the figures: a write landing in between leaves the
    # stored signature behind the school, so the next sweep refreshes it again.
    signature = school_signatures([school.pk])[school.pk]
    deadline = roster_deadline(county_id=school.county_id) if school.county_id else None
    values = school_quality(
        schema_name=school.schema_name, school_id=school.pk, roster_deadline=deadline, now=now
    )
    with transaction.atomic():
        for v in values:
            SchoolQuality.objects.update_or_create(
                school_id=school.pk,
                figure=v.key,
                defaults={
                    "count": v.count,
                    "oldest_at": v.oldest_at,
                    "bands": list(v.bands),
                    "item_ids": list(v.item_ids),
                    "refreshed_at": now,
                },
            )
        SchoolQuality.objects.filter(school_id=school.pk).exclude(
            figure__in=[v.key for v in values]
        ).delete()
        QualityRefresh.objects.update_or_create(
            school_id=school.pk,
            defaults={
                "refreshed_at": now,
                "signature": signature,
                "seconds": round(time.monotonic() - started, 3),
            },
        )
    return len(values)


def stale_schools() -> list[int]:
    """Serving schools never refreshed, or whose signature moved since their refresh."""
    ids = list(School.objects.serving().values_list("pk", flat=True))
    known = dict(
        QualityRefresh.objects.filter(school_id__in=ids).values_list("school_id", "signature")
    )
    now = school_signatures(ids)
    return [pk for pk in ids if known.get(pk) != now[pk]]


def _term_bounds(term: TermRef) -> tuple[dt.date, dt.date]:
    start = int(term.school_year[:4])
    if term.term == 1:
        return dt.date(start, 9, 1), dt.date(start + 1, 1, 31)
    return dt.date(start + 1, 2, 1), dt.date(start + 1, 8, 31)


def roster_deadline_set(
    *, user: User, county_code: str, term_value: str, deadline: dt.date | None
) -> RosterDeadline:
    """Set (or move) a county's 人籍一致 deadline for a term; the county's schools are
    refreshed once it commits, so the flag follows the new date at once."""
    county = counties_under(user.region).filter(code__startswith=county_code[:6]).first()
    if user.region_id is None or county is None or not county_code:
        raise ApplicationError(MSG_NO_COUNTY, code="invalid", extra={"county": [MSG_NO_COUNTY]})
    term = next((t for t in deadline_terms() if t.value == term_value), None)
    if term is None:
        raise ApplicationError(MSG_BAD_TERM, code="invalid", extra={"term": [MSG_BAD_TERM]})
    if deadline is None:
        raise ApplicationError(MSG_BAD_DATE, code="invalid", extra={"deadline": [MSG_BAD_DATE]})
    first, last = _term_bounds(term)
    if not first <= deadline <= last:
        msg = MSG_DATE_OUTSIDE.format(start=first, end=last)
        raise ApplicationError(msg, code="invalid", extra={"deadline": [msg]})
    with transaction.atomic():
        row, _ = RosterDeadline.objects.update_or_create(
            county=county,
            school_year=term.school_year,
            term=term.term,
            defaults={"deadline": deadline, "set_by": user.username},
        )
        ids = list(School.objects.serving().filter(county=county).values_list("pk", flat=True))
        transaction.on_commit(lambda: quality_refresh_queue(ids))
    return row


def quality_refresh_queue(school_ids: Iterable[int]) -> None:
    """Queue one refresh task per school (the worker computes; nobody waits)."""
    from shared_apps.bureau.quality.tasks import quality_refresh_school

    for pk in school_ids:
        quality_refresh_school.delay(pk)


def quality_stale_handler(*, school_id: int) -> None:
    """What the registry's hook calls after a 人籍一致 confirmation committed."""
    quality_refresh_queue([school_id])
