"""Junior-middle intake of a whole uploaded list in one batch (初中新生按名单批量接收,
domain.md §3.9): every row is looked up and applied for like one student
(registry.lifecycle.intake), each row on its own with a result per row.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_id_number
from tenant_apps.registry.lifecycle.intake import (
    MSG_AUX_COUNTY,
    _target_class,
    intake_apply,
    intake_lookup,
)

MAX_LIST_ROWS = 2000
MAX_LIST_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class BatchRow:
    row: int  # row number in the file (Excel's)
    name: str
    key: str  # masked ID number or the 辅号 as given
    ok: bool
    message: str
    case_number: str = ""


_HEADERS = {
    "name": ("姓名", "学生姓名"),
    "id_number": ("身份证件号", "身份证号", "身份证号码", "证件号码", "身份证件号码"),
    "aux_number": ("学籍辅号", "辅号"),
}


def _cell(cells: list[str], pos: int | None) -> str:
    """One cell as typed (Excel's whole numbers lose their ".0")."""
    if pos is None or pos >= len(cells):
        return ""
    value = cells[pos]
    return value[:-2] if value.endswith(".0") and value[:-2].isdigit() else value


def _list_rows(*, filename: str, data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(row number, {name, id_number, aux_number}) of an uploaded xlsx/xls/csv list."""
    from tenant_apps.registry.imports.columns import UploadRejected
    from tenant_apps.registry.imports.reader import _grid
    from tenant_apps.registry.imports.sniff import upload_sniff

    try:
        fmt = upload_sniff(name=filename, data=data, max_bytes=MAX_LIST_BYTES)
        grid = _grid(data, fmt)
        found: list[tuple[int, dict[str, str]]] = []
        columns: dict[str, int] | None = None
        for number, raw in enumerate(grid, 1):
            cells = ["" if v is None else str(v).strip() for v in raw]
            if columns is None:
                columns = {
                    key: cells.index(h)
                    for key, names in _HEADERS.items()
                    for h in names
                    if h in cells
                }
                if "name" not in columns:
                    columns = None
                    if number >= 10:
                        break
                continue
            if not any(cells):
                continue
            found.append((number, {k: _cell(cells, columns.get(k)) for k in _HEADERS}))
            if len(found) > MAX_LIST_ROWS:
                raise ApplicationError(f"名单超过{MAX_LIST_ROWS}行，请分成几个文件上传。")
    except UploadRejected as exc:
        raise ApplicationError(exc.message, code="upload", extra={"file": [exc.message]}) from exc
    if columns is None:
        message = "没有找到表头：第一行应有“姓名”列，以及“身份证件号”或“学籍辅号”列。"
        raise ApplicationError(message, code="upload", extra={"file": [message]})
    if not found:
        raise ApplicationError("名单是空的。", code="upload", extra={"file": ["名单是空的。"]})
    return found


def intake_batch(
    *, actor: Actor, filename: str, data: bytes, target_class_id: object, note: str = ""
) -> list[BatchRow]:
    """Every row of an uploaded list looked up and, when exactly one eligible graduate
    matches, applied for; each row on its own (a bad row does not stop the others)."""
    klass = _target_class(target_class_id)
    rows = _list_rows(filename=filename, data=data)
    results: list[BatchRow] = []
    seen: dict[str, int] = {}
    for number, cells in rows:
        name, id_number, aux = cells["name"], cells["id_number"], cells["aux_number"]
        shown = mask_id_number(id_number.upper()) if id_number else aux
        try:
            if not name:
                raise ApplicationError("姓名为空。")
            if not (id_number or aux):
                raise ApplicationError("身份证件号和学籍辅号都为空，请至少填写一项。")
            hits = intake_lookup(name=name, id_number=id_number, aux_number=aux)
            eligible = [h for h in hits if h.eligible]
            if not hits:
                raise ApplicationError(
                    "未找到该学生。" + (MSG_AUX_COUNTY if aux and not id_number else "")
                )
            if not eligible:
                raise ApplicationError(hits[0].why)
            if len(eligible) > 1:
                raise ApplicationError("找到多名学生，请改用姓名和身份证件号逐个查找。")
            hit = eligible[0]
            if hit.student_uuid in seen:
                raise ApplicationError(f"与第{seen[hit.student_uuid]}行是同一名学生。")
            seen[hit.student_uuid] = number
            with transaction.atomic():
                case = intake_apply(
                    actor=actor,
                    school_id=hit.school_id,
                    student_uuid=hit.student_uuid,
                    target_class_id=klass.pk,
                    note=note,
                    via="list",
                )
        except ApplicationError as exc:
            results.append(BatchRow(number, name, shown, False, exc.message))
        else:
            results.append(
                BatchRow(
                    number,
                    name,
                    shown,
                    True,
                    f"已提交（{hit.school_name}，{hit.class_name}）",
                    case.number,
                )
            )
    return results
