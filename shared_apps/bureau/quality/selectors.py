"""Reads of the quality pages: only the public table (bureau.SchoolQuality), over the
schools the officer governs (bureau.selectors.access_schools)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from shared_apps.bureau.models import QualityRefresh, RosterDeadline, SchoolQuality
from shared_apps.bureau.selectors import access_schools
from tenant_apps.grades.facade import term_now
from tenant_apps.registry.facade import (
    AGE_BANDS,
    FIGURE_BY_KEY,
    FIGURES,
    QualityPage,
    quality_items,
)
from tenants.models import School


@dataclass(frozen=True)
class FigureCell:
    key: str
    label: str
    unit: str
    count: int
    oldest_at: dt.datetime | None
    oldest_days: int | None  # the oldest item's age today (the page's "最早")
    bands: tuple[int, ...]


@dataclass(frozen=True)
class SchoolQualityRow:
    school_id: int
    school_name: str
    county_name: str
    score: int  # how much needs doing: Σ count × the figure's weight
    figures: tuple[FigureCell, ...]
    refreshed_at: dt.datetime | None

    def figure(self, key: str) -> FigureCell:
        return next(f for f in self.figures if f.key == key)


def _days(since: dt.datetime | None, today: dt.date) -> int | None:
    return None if since is None else (today - timezone.localtime(since).date()).days


def _rows(schools: QuerySet[School]) -> list[SchoolQualityRow]:
    today = timezone.localdate()
    schools_list = list(schools.select_related("county").order_by("code"))
    ids = [s.pk for s in schools_list]
    stored: dict[int, dict[str, SchoolQuality]] = {}
    for stored_row in SchoolQuality.objects.filter(school_id__in=ids):
        stored.setdefault(stored_row.school_id, {})[stored_row.figure] = stored_row
    refreshed = dict(
        QualityRefresh.objects.filter(school_id__in=ids).values_list("school_id", "refreshed_at")
    )
    empty = (0,) * len(AGE_BANDS)
    rows = []
    for school in schools_list:
        mine = stored.get(school.pk, {})
        cells = []
        for f in FIGURES:
            q = mine.get(f.key)
            cells.append(
                FigureCell(
                    key=f.key,
                    label=f.label,
                    unit=f.unit,
                    count=q.count if q else 0,
                    oldest_at=q.oldest_at if q else None,
                    oldest_days=_days(q.oldest_at if q else None, today),
                    bands=tuple(q.bands) if q and q.bands else empty,
                )
            )
        rows.append(
            SchoolQualityRow(
                school_id=school.pk,
                school_name=school.name,
                county_name=school.county.name if school.county is not None else "",
                score=sum(c.count * FIGURE_BY_KEY[c.key].weight for c in cells),
                figures=tuple(cells),
                refreshed_at=refreshed.get(school.pk),
            )
        )
    # Most to do first; equal scores by school code, so the order is stable.
    rows.sort(key=lambda r: -r.score)
    return rows


def quality_ranking(*, user: User) -> list[SchoolQualityRow]:
    """Every school the officer governs, ranked by how much needs doing."""
    return _rows(access_schools(user=user))


def school_quality_row(*, user: User, school_id: int) -> SchoolQualityRow | None:
    rows = _rows(access_schools(user=user).filter(pk=school_id))
    return rows[0] if rows else None


def kept_ids(*, school_id: int, figure: str) -> list[str]:
    row = SchoolQuality.objects.filter(school_id=school_id, figure=figure).first()
    return list(row.item_ids) if row else []


@dataclass(frozen=True)
class TermRef:
    school_year: str
    term: int

    @property
    def label(self) -> str:
        return f"{self.school_year}学年{'第一学期' if self.term == 1 else '第二学期'}"

    @property
    def value(self) -> str:
        return f"{self.school_year}-{self.term}"


def current_term() -> TermRef:
    """The term the 人籍一致 confirmations count for (grades.terms, through its facade)."""
    year, term = term_now()
    return TermRef(year, term)


def deadline_terms() -> list[TermRef]:
    """The terms a deadline may be set for: this term and the next."""
    now = current_term()
    start = int(now.school_year[:4])
    following = (
        TermRef(now.school_year, 2) if now.term == 1 else TermRef(f"{start + 1}-{start + 2}", 1)
    )
    return [now, following]


def roster_deadline(*, county_id: str, term: TermRef | None = None) -> dt.date | None:
    term = term or current_term()
    return (
        RosterDeadline.objects.filter(
            county_id=county_id, school_year=term.school_year, term=term.term
        )
        .values_list("deadline", flat=True)
        .first()
    )


def roster_deadlines(*, user: User) -> QuerySet[RosterDeadline]:
    """The deadlines of the counties the officer governs (all, for the platform)."""
    qs = RosterDeadline.objects.select_related("county")
    if user.region_id:
        qs = qs.filter(county__code__startswith=user.region.prefix)  # type: ignore[union-attr]
    return qs.order_by("county__code", "-school_year", "-term")


def quality_list(
    *, school: School, figure: str, offset: int = 0, limit: int | None = 50
) -> QualityPage:
    """One page of a figure's list of one school, read inside the school through its
    facade (masked names, class, age). The caller has checked the officer governs it."""
    deadline = roster_deadline(county_id=school.county_id) if school.county_id else None
    return quality_items(
        schema_name=school.schema_name,
        school_id=school.pk,
        figure=figure,
        offset=offset,
        limit=limit,
        roster_deadline=deadline,
        kept_ids=kept_ids(school_id=school.pk, figure=figure),
    )
