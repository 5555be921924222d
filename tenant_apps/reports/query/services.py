"""综合查询 writes: a user's saved queries (create, rename, replace, delete: own only)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from common.exceptions import ApplicationError
from tenant_apps.reports.models import SavedQuery
from tenant_apps.reports.query.definition import Definition

MSG_NAME = "请填写查询名称（最多60个字）。"
MSG_NOT_FOUND = "没有找到这个保存的查询。"


def _name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 60:
        raise ApplicationError(MSG_NAME, code="invalid", extra={"name": [MSG_NAME]})
    return name


@transaction.atomic
def saved_query_create(*, owner: str, name: str, definition: Definition) -> SavedQuery:
    """Save a checked definition under a name for its owner."""
    return SavedQuery.objects.create(
        owner_username=owner, name=_name(name), definition=definition.as_json()
    )


def _own(owner: str, query_id: Any) -> SavedQuery:
    query = SavedQuery.objects.select_for_update().filter(owner_username=owner, pk=query_id).first()
    if query is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    return query


@transaction.atomic
def saved_query_update(
    *, owner: str, query_id: Any, name: str | None = None, definition: Definition | None = None
) -> SavedQuery:
    """Rename a saved query and/or replace its definition; the owner's only."""
    query = _own(owner, query_id)
    if name is not None:
        query.name = _name(name)
    if definition is not None:
        query.definition = definition.as_json()
    query.save()
    return query


@transaction.atomic
def saved_query_delete(*, owner: str, query_id: Any) -> None:
    _own(owner, query_id).delete()
