"""Re-keying the public student index: every school's entries get the identity keys the
product computes today (keys.identity_keys), read from the school's own records through
the registry's facade. Run once after keys change (migration 0006 added the near keys of
issue 19 point 7: until the re-key, old entries have none and are matched on the three
exact keys only). Idempotent."""

from __future__ import annotations

from collections.abc import Callable

from tenants.context import school_context


def index_rekey(*, school_ids: list[int] | None = None, say: Callable[[str], None] = print) -> int:
    """Re-key the entries of the given serving schools (all when None); returns how many
    entries were written. One school at a time, in batches (index_keys_refresh)."""
    from shared_apps.student_index.services import index_keys_refresh
    from tenant_apps.registry.facade import index_records
    from tenants.models import School

    schools = School.objects.serving().order_by("pk")
    if school_ids is not None:
        schools = schools.filter(pk__in=school_ids)
    total = 0
    for school_id, schema, name in schools.values_list("pk", "schema_name", "name"):
        records = index_records(schema_name=schema)
        with school_context("public"):
            n = index_keys_refresh(school_id=school_id, records=records)
        say(f"{name}：{n} 条索引已重新计算查重键")
        total += n
    return total


def index_rekey_stale(*, say: Callable[[str], None] = print) -> int:
    """Re-key only the schools that still have entries without near keys (entries written
    before migration 0006, or restored from an older dump): what the nightly task runs
    before the 查重 recheck, so an upgrade needs no manual step. Every entry written by
    the product has near keys (a name always gives syllables), so after one pass this
    finds nothing and costs one indexed scan."""
    from shared_apps.student_index.models import IndexEntry

    stale = sorted(
        set(IndexEntry.objects.filter(near_hashes=[]).values_list("school_id", flat=True))
    )
    return index_rekey(school_ids=stale, say=say) if stale else 0
