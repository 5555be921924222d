"""查询统计's writes: dated snapshots of the counts, and the school's 升学率 definition."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from common.exceptions import ApplicationError
from tenant_apps.registry.models import Student
from tenant_apps.reports.models import PromotionSettings, StatsSnapshot, StatsSnapshotRow
from tenant_apps.reports.stats.selectors import cube_live


@transaction.atomic
def snapshot_take(
    *, date: dt.date | None = None, source: str = StatsSnapshot.Source.DAILY, taken_by: str = ""
) -> StatsSnapshot:
    """Keep today's live counts as the snapshot of `date` (today unless given; tests and
    the bench date them back). A snapshot of that day already kept is replaced."""
    day = date or timezone.localdate()
    StatsSnapshot.objects.filter(date=day).delete()
    cube = cube_live()
    snapshot = StatsSnapshot.objects.create(
        date=day,
        taken_at=timezone.now(),
        source=source,
        taken_by=taken_by,
        records=sum(c.n for c in cube.cells),
    )
    StatsSnapshotRow.objects.bulk_create(
        [
            StatsSnapshotRow(
                snapshot=snapshot,
                class_id=c.class_id,
                class_no=c.class_no,
                class_name=c.class_name,
                grade_name=c.grade_name,
                stage=c.stage,
                sex=c.sex,
                line=c.line,
                ethnicity=c.ethnicity,
                household_type=c.household_type,
                flags=list(c.flags),
                n=c.n,
            )
            for c in cube.cells
        ],
        batch_size=2000,
    )
    return snapshot


@transaction.atomic
def promotion_settings_set(
    *, cohort_statuses: list[str], promoted_statuses: list[str], updated_by: str
) -> PromotionSettings:
    """Save the school's 升学率 definition; every promoted status must be a cohort one."""
    known = set(Student.Status.values)
    cohort = [s for s in Student.Status.values if s in set(cohort_statuses)]
    promoted = [s for s in Student.Status.values if s in set(promoted_statuses)]
    if not cohort or set(cohort_statuses) - known or set(promoted_statuses) - known:
        raise ApplicationError("请至少选择一种计入毕业生的学籍状态。", extra={"cohort": "required"})
    if set(promoted) - set(cohort):
        raise ApplicationError(
            "计为升学的状态必须也计入毕业生。", extra={"promoted": "not_in_cohort"}
        )
    found = PromotionSettings.objects.order_by("pk").first() or PromotionSettings()
    found.cohort_statuses = cohort
    found.promoted_statuses = promoted
    found.updated_by = updated_by
    found.save()
    return found
