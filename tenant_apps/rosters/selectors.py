"""Reads of the staging area (this school's schema only)."""

from __future__ import annotations

from django.db.models import QuerySet

from common.masking import mask_id_number, mask_phone
from tenant_apps.rosters.models import RosterClassMatch, RosterSource, RosterUpload, StagedRow


def upload_list(kind: str) -> QuerySet[RosterUpload]:
    return RosterUpload.objects.filter(source__kind=kind).order_by("-created_at")


def upload_get(upload_id: object, *, teachers: bool = False) -> RosterUpload | None:
    """An upload of the pupils' rosters, or with `teachers` of the teacher-training
    export: each has its own pages and right, so neither opens the other's."""
    uploads = RosterUpload.objects.select_related("source")
    if teachers:
        uploads = uploads.filter(source__kind=RosterSource.Kind.TEACHERS)
    else:
        uploads = uploads.exclude(source__kind=RosterSource.Kind.TEACHERS)
    try:
        return uploads.filter(pk=str(upload_id)).first()
    except (ValueError, TypeError):
        return None


def rows_of(upload: RosterUpload, state: str = "") -> QuerySet[StagedRow]:
    rows = upload.rows.order_by("row_no")
    if state == "problem":
        return rows.filter(state__in=[StagedRow.State.INVALID, StagedRow.State.BLOCKED])
    if state in StagedRow.State.values:
        return rows.filter(state=state)
    return rows


def row_get(upload: RosterUpload, row_id: int) -> StagedRow | None:
    return upload.rows.filter(pk=row_id).first()


def class_matches(source: RosterSource) -> QuerySet[RosterClassMatch]:
    return source.classes.order_by("grade_text", "class_text")


def match_get(match_id: int) -> RosterClassMatch | None:
    return RosterClassMatch.objects.select_related("source").filter(pk=match_id).first()


def cell_shown(key: str, value: object) -> str:
    """A staged cell as pages and answers show it: ID numbers and phones masked, as in
    every list (the correction form never echoes a whole ID number)."""
    if value is None or value == "":
        return ""
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if "id_number" in key:
        return mask_id_number(text)
    if key.endswith("phone"):
        return mask_phone(text)
    return text
