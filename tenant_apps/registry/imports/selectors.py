"""Reads of the import batches (the 批量导入 pages and API)."""

from __future__ import annotations

from django.db.models import QuerySet

from tenant_apps.registry.models import ImportBatch


def import_batch_list(*, limit: int = 20) -> QuerySet[ImportBatch]:
    return ImportBatch.objects.order_by("-created_at")[:limit]


def import_batch_get(*, batch_id: str) -> ImportBatch | None:
    return ImportBatch.objects.filter(pk=batch_id).first()
