"""URL parameters of tenant_apps.reports.query: a saved query of school A, owned by A's
registrar (other roles get 404 for it, which the access matrix counts as let through)."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"query_id": "uuid"}


def values(world: Any) -> dict[str, str]:
    from tenant_apps.reports.models import SavedQuery
    from tenants.context import school_context

    with school_context(world.a.schema):
        saved, _ = SavedQuery.objects.get_or_create(
            owner_username="registrar",
            name="矩阵查询",
            defaults={"definition": {"conditions": [], "columns": ["name"]}},
        )
        return {"query_id": str(saved.pk)}
