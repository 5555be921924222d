"""Writes of the staging area: upload, mapping, class matches, corrections, promotion.

Every check of a row is the registry's own (registry.validation.rows.RowValidator, the
one module); the promotion is the student import's own dry run and confirmation
(registry.imports.pipeline) on the ready rows written out in the template's layout, so
查重 in the school and across schools, 问题学籍 and the drafts the two-level audit starts
from are exactly the import's. Staged rows and students change in one transaction.

The teacher-training platform's export (kind "teachers") is read, mapped and corrected
here as well, but onto the teacher record's fields and checked by its rules
(registry.teachers.services.teacher_clean), and confirmed as a diff with the teacher
records: rosters.teachers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from accounts.audit import audit_record
from common.actor import Actor
from common.copytext import copy_line, copy_lines
from common.exceptions import ApplicationError
from tenant_apps.registry.fields import BY_KEY, COLUMNS
from tenant_apps.registry.imports.export import rows_export
from tenant_apps.registry.imports.pipeline import MSG_DUP_IN_FILE
from tenant_apps.rosters.classes import class_guess
from tenant_apps.rosters.headers import (
    CLASS_KEY,
    GRADE_KEY,
    STUDENTS,
    Header,
    Vocabulary,
    header_find,
    labels,
    suggest,
)
from tenant_apps.rosters.models import (
    RosterClassMatch,
    RosterSource,
    RosterUpload,
    StagedRow,
)

OBJECT_TYPE = "外部名册"
MSG_NO_HEADER = (
    "没有找到表头：文件前10行中没有一行包含“姓名”“身份证号”“性别”等常见列名中的两个以上。"
    "请确认上传的是学生名册。"
)
MSG_NO_ROWS = "表头下面没有学生行。"
MSG_NO_TEACHER_ROWS = "表头下面没有教师行。"
MSG_MAPPED_TWICE = "“{target}”只能对应一列，现在对应了第{columns}列。"
MSG_TARGET_UNKNOWN = "第{column}列选择的学籍字段无效，请重新选择。"
MSG_NAME_REQUIRED = "请把名册中的姓名列对应到“姓名”。"
MSG_CLASS_UNMATCHED = (
    "名册的“{grade}{klass}”还没有对应本校的班级：请在“年级/班级对应”中选择本校班级或新建班级。"
)
MSG_CLASS_MISSING = "名册中这一行没有年级或班级，请填写班级。"
MSG_REPEATED = "与第{other}行内容完全相同，已略去（不会重复转入）。"
MSG_ALREADY = "该学生已于{when}从名册“{filename}”第{row}行转入学籍系统，不再重复转入。"
MSG_NOTHING_READY = "没有可转入的行：请先改正有误的行。"
MSG_NOT_PUPILS = "教师名单不转入学籍，请在“师训平台教师名单核对”中确认差异。"
MSG_PROMOTED_SUSPECTED = "疑似重复，已进入问题学籍，请在“问题学籍处理”中处理。"
MSG_NOT_STAGED = "这一行已转入学籍系统，不能再修改。"
MSG_CLASS_GUESS = "无法从“{grade}{klass}”读出年级和班号，请在下面选择本校的班级。"

NOTE_ENCODING = {
    "utf-8-sig": "文件编码：UTF-8（带BOM）",
    "utf-8": "文件编码：UTF-8",
    "gbk": "文件编码：GBK",
    "gbk-bom": "文件编码：GBK，但文件开头有UTF-8的BOM标记；已去掉该标记按GBK读取",
}


def _refuse(message: str, field: str = "file", code: str = "invalid") -> ApplicationError:
    return ApplicationError(message, code=code, extra={field: [message]})


def vocabulary_of(kind: str) -> Vocabulary:
    """What a source's columns map onto: the teacher record's fields for the
    teacher-training export, the national template's for the pupils' rosters."""
    if kind == RosterSource.Kind.TEACHERS:
        from tenant_apps.rosters.teachers import TEACHERS

        return TEACHERS
    return STUDENTS


def source_get(kind: str) -> RosterSource:
    if kind not in RosterSource.Kind.values:
        raise _refuse("未知的名册来源。", "kind")
    source, _ = RosterSource.objects.get_or_create(kind=kind)
    return source


# -- reading ---------------------------------------------------------------------------


def _csv_encoding(data: bytes) -> str:
    """Which of the encodings the import reads (registry.imports.sniff) a CSV is in."""
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "gbk-bom" if bom else "gbk"
    return "utf-8-sig" if bom else "utf-8"


@dataclass
class _Read:
    header: Header
    rows: list[tuple[int, list[object]]]  # (Excel row number, cells) under the header
    blank: int  # blank rows skipped
    notes: list[str]


def _read(*, filename: str, data: bytes, kind: str) -> tuple[str, _Read]:
    """The upload checked by the student import's own guards and read into rows."""
    from tenant_apps.registry.imports.columns import UploadRejected
    from tenant_apps.registry.imports.reader import cell_text, workbook_grid
    from tenant_apps.registry.imports.sniff import upload_sniff

    try:
        fmt = upload_sniff(name=filename, data=data)
        grid = [list(r) for r in workbook_grid(data=data, fmt=fmt)]
    except UploadRejected as exc:
        raise _refuse(exc.message, code="upload") from exc
    header = header_find(grid, vocabulary_of(kind))
    if header is None:
        if kind == RosterSource.Kind.TEACHERS:
            from tenant_apps.rosters.teachers import MSG_NO_HEADER as message
        else:
            message = MSG_NO_HEADER
        raise _refuse(message)
    notes: list[str] = []
    if fmt == "csv":
        notes.append(NOTE_ENCODING[_csv_encoding(data)])
    if header.row_index > 0:
        notes.append(f"表头在第{header.row_index + 1}行，上面的标题行已略过")
    if header.merged:
        cols = "、".join(str(c) for c in header.merged)
        notes.append(f"第{cols}列的表头是合并单元格，已按合并后的列名读取")
    rows: list[tuple[int, list[object]]] = []
    blank = 0
    width = len(header.texts)
    for index in range(header.data_index, len(grid)):
        cells: list[object] = [cell_text(v, id_column=True) for v in grid[index][:width]]
        cells += [None] * (width - len(cells))
        if all(c is None for c in cells):
            blank += 1
            continue
        rows.append((index + 1, cells))
    # Trailing blank rows of a sheet are not worth a note; ones between students are.
    if blank:
        notes.append(f"已略过{blank}个空行")
    if not rows:
        raise _refuse(MSG_NO_ROWS if kind != RosterSource.Kind.TEACHERS else MSG_NO_TEACHER_ROWS)
    return fmt, _Read(header, rows, blank, notes)


def roster_read(*, filename: str, data: bytes) -> tuple[list[str], list[tuple[int, list[object]]]]:
    """A roster's header labels and its rows (Excel row number, cells), read with the
    same guards and header finding as an upload, without staging anything: the county
    splits its one admissions file per school with it (rosters.facade)."""
    _fmt, read = _read(filename=filename, data=data, kind=RosterSource.Kind.ADMISSIONS)
    return labels(read.header), read.rows


# -- mapping a row onto the template's cells -------------------------------------------


def _cell_for(key: str, value: object) -> object:
    """A raw cell for the template column `key`: an ID column keeps a lost-precision
    float (validation says its digits were lost); elsewhere a number is its text."""
    if isinstance(value, float) and not (key.endswith("id_number") and abs(value) >= 1e15):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


def _cells(
    raw: Sequence[object],
    mapping: Sequence[str],
    defaults: Mapping[str, str],
    edits: Mapping[str, str],
) -> tuple[dict[str, object], str, str]:
    """The template cells of a staged row, and its roster grade and class texts."""
    cells: dict[str, object] = {}
    grade = klass = ""
    for value, key in zip(raw, mapping, strict=False):
        if not key or value is None:
            continue
        if key == GRADE_KEY:
            grade = str(value).strip()
        elif key == CLASS_KEY:
            klass = str(_cell_for(key, value)).strip()
        else:
            cells[key] = _cell_for(key, value)
    for key, value in defaults.items():
        if value and cells.get(key) in (None, ""):
            cells[key] = value
    for key, value in edits.items():
        if key == GRADE_KEY:
            grade = value.strip()
        elif key == CLASS_KEY:
            klass = value.strip()
        else:
            cells[key] = value
    return cells, grade, klass


# -- checking --------------------------------------------------------------------------


def _match_key(data: Mapping[str, Any], bad: set[str]) -> str:
    """ID number when it passed, else name|sex|birth date when those passed."""
    if data.get("id_number") and "id_number" not in bad:
        return f"id:{data['id_number']}"
    if all(data.get(k) for k in ("name", "sex", "birth_date")) and not bad & {
        "name",
        "sex",
        "birth_date",
    }:
        return f"nsb:{data['name']}|{data['sex']}|{data['birth_date']}"
    return ""


def _class_matches(
    source: RosterSource, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """{(grade text, class text): class number or ""}, making a match for every new
    pair, proposed from the texts when the school has that class."""
    from tenant_apps.registry.students.services import class_map

    existing = {(m.grade_text, m.class_text): m for m in source.classes.all()}
    school = class_map()
    new = []
    for grade, klass in set(pairs) - set(existing):
        guess = class_guess(grade, klass)
        class_no = guess.class_no if guess is not None and guess.class_no in school else ""
        new.append(
            RosterClassMatch(source=source, grade_text=grade, class_text=klass, class_no=class_no)
        )
    RosterClassMatch.objects.bulk_create(new, ignore_conflicts=True)
    out = {k: m.class_no for k, m in existing.items()}
    out.update({(m.grade_text, m.class_text): m.class_no for m in new})
    return out


def rows_check(
    upload: RosterUpload,
    *,
    recheck: set[int] | None = None,
    new_rows: list[StagedRow] | None = None,
) -> dict[str, Any]:
    """Map and check every staged row of `upload` that is not promoted: the registry's
    own validation, the class matches, repeats and ID numbers twice in the roster, rows
    promoted before. Only rows whose outcome changed are written. Returns the counts.

    Rows 查重 refused at a promotion stay refused until corrected (`recheck` None
    keeps all of them; the ids given are rows just corrected, checked again). `new_rows`
    are an upload's rows not stored yet: checked, then inserted as they are."""
    from tenant_apps.registry.students.services import class_map
    from tenant_apps.registry.validation.rows import RowValidator

    source = upload.source
    if source.kind == RosterSource.Kind.TEACHERS:
        # The teacher-training export is checked by the teacher record's own rules.
        from tenant_apps.rosters.teachers import teacher_rows_check

        return teacher_rows_check(upload, new_rows=new_rows)
    mapping: list[str] = upload.counts.get("mapping") or []
    rows = (
        new_rows
        if new_rows is not None
        else list(upload.rows.exclude(state=StagedRow.State.PROMOTED).order_by("row_no"))
    )
    prepared = []
    for row in rows:
        cells, grade, klass = _cells(row.raw, mapping, source.defaults, row.edits)
        prepared.append((row, cells, grade, klass))
    matches = _class_matches(source, {(g, k) for _, _, g, k in prepared if g or k})
    validator = RowValidator(class_nos=set(class_map()))
    promoted = {
        r.match_key: r
        for r in StagedRow.objects.filter(state=StagedRow.State.PROMOTED)
        .exclude(match_key="")
        # Teachers confirmed from their export are no pupils promoted before.
        .exclude(upload__source__kind=RosterSource.Kind.TEACHERS)
        .select_related("upload")
    }
    seen_raw: dict[str, int] = {}
    seen_id: dict[str, int] = {}
    changed: list[StagedRow] = []
    for row, cells, grade, klass in prepared:
        before = (row.state, row.errors, row.normalised, row.note, row.match_key, row.cells)
        signature = repr(row.raw)
        if signature in seen_raw:
            row.state, row.errors, row.normalised = StagedRow.State.REPEATED, [], []
            row.note = MSG_REPEATED.format(other=seen_raw[signature])
            row.grade_text, row.class_text = grade, klass
            if before != (
                row.state,
                row.errors,
                row.normalised,
                row.note,
                row.match_key,
                row.cells,
            ):
                changed.append(row)
            continue
        seen_raw[signature] = row.row_no
        extra: list[dict[str, str]] = []
        if grade or klass:
            class_no = matches.get((grade, klass), "")
            if class_no:
                cells["class_no"] = class_no
            else:
                extra.append(
                    {
                        "key": "class_no",
                        "header": "班级",
                        "value": f"{grade}{klass}",
                        "message": MSG_CLASS_UNMATCHED.format(grade=grade, klass=klass),
                        "kind": "class_unmatched",
                    }
                )
        result = validator.validate(cells)
        errors = [
            {
                "key": e.key,
                "header": e.header,
                "value": e.value,
                "message": e.message,
                "kind": e.kind,
            }
            for e in result.errors
            # The unmatched class is said once, in the roster's words.
            if not (extra and e.key == "class_no")
        ]
        errors.extend(extra)
        bad = {e["key"] for e in errors}
        match_key = _match_key(result.data, bad)
        id_number = result.data.get("id_number") if "id_number" not in bad else None
        if id_number:
            first = seen_id.setdefault(str(id_number), row.row_no)
            if first != row.row_no:
                errors.append(
                    {
                        "key": "id_number",
                        "header": BY_KEY["id_number"].header,
                        "value": str(id_number),
                        "message": MSG_DUP_IN_FILE.format(other=first),
                        "kind": "duplicate",
                    }
                )
        row.cells = {k: v for k, v in cells.items() if v not in (None, "")}
        row.grade_text, row.class_text = grade, klass
        row.errors = errors
        row.normalised = [
            {"key": n.key, "header": n.header, "before": n.before, "after": n.after}
            for n in result.normalised
        ]
        row.match_key = match_key
        earlier = promoted.get(match_key) if match_key else None
        if earlier is not None and earlier.upload_id != row.upload_id:
            row.state = StagedRow.State.ALREADY
            row.note = MSG_ALREADY.format(
                when=timezone.localtime(earlier.promoted_at).strftime("%Y-%m-%d")
                if earlier.promoted_at
                else "",
                filename=earlier.upload.filename,
                row=earlier.row_no,
            )
        elif row.state == StagedRow.State.BLOCKED and (recheck is None or row.pk not in recheck):
            pass  # 查重 refused it; it stays so until corrected
        else:
            row.state = StagedRow.State.INVALID if errors else StagedRow.State.READY
            row.note = ""
        if before != (row.state, row.errors, row.normalised, row.note, row.match_key, row.cells):
            changed.append(row)
    if new_rows is not None:
        _rows_insert(upload, new_rows)
    else:
        _rows_write(changed)
    return _counts_save(upload)


_WRITTEN = (
    "cells",
    "grade_text",
    "class_text",
    "state",
    "errors",
    "normalised",
    "note",
    "match_key",
)


def _row_values(row: StagedRow) -> list[object]:
    return [
        json.dumps(row.cells, ensure_ascii=False),
        row.grade_text,
        row.class_text,
        row.state,
        json.dumps(row.errors, ensure_ascii=False),
        json.dumps(row.normalised, ensure_ascii=False),
        row.note,
        row.match_key,
    ]


def _rows_insert(upload: RosterUpload, rows: Sequence[StagedRow]) -> None:
    """New staged rows with COPY, as the import writes students (common.copytext): the
    ORM's bulk_create spent seconds escaping 3,000 rows of JSON (bench/rosters.py)."""
    columns = ["upload_id", "row_no", "raw", "edits", *_WRITTEN]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(StagedRow._meta.db_table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
    )
    copy_lines(
        statement,
        (
            copy_line(
                [
                    str(upload.pk),
                    r.row_no,
                    json.dumps(r.raw, ensure_ascii=False),
                    json.dumps(r.edits, ensure_ascii=False),
                    *_row_values(r),
                ]
            )
            + "\n"
            for r in rows
        ),
    )


def _rows_write(rows: Sequence[StagedRow]) -> None:
    """The checked rows' new outcome: COPY into a temporary table, then one UPDATE ...
    FROM it (bulk_update's CASE per field and row took seconds for 3,000 rows)."""
    if not rows:
        return
    table = StagedRow._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE rosters_checked (id bigint, cells jsonb, grade_text text,"
            " class_text text, state text, errors jsonb, normalised jsonb, note text,"
            " match_key text) ON COMMIT DROP"
        )
        copy_lines(
            sql.SQL("COPY rosters_checked FROM STDIN"),
            (copy_line([r.pk, *_row_values(r)]) + "\n" for r in rows),
        )
        cursor.execute(
            sql.SQL("UPDATE {} AS s SET {} FROM rosters_checked AS v WHERE s.id = v.id").format(
                sql.Identifier(table),
                sql.SQL(", ").join(
                    sql.SQL("{} = v.{}").format(sql.Identifier(c), sql.Identifier(c))
                    for c in _WRITTEN
                ),
            )
        )
        cursor.execute("DROP TABLE rosters_checked")


def _counts_save(upload: RosterUpload) -> dict[str, Any]:
    from collections import Counter

    states = Counter(upload.rows.values_list("state", flat=True))
    kinds: Counter[str] = Counter()
    for errors in upload.rows.filter(state=StagedRow.State.INVALID).values_list(
        "errors", flat=True
    ):
        kinds.update(e["kind"] for e in errors)
    counts = {
        **upload.counts,
        "total": sum(states.values()),
        "states": dict(states),
        "ready": states.get(StagedRow.State.READY, 0),
        "by_kind": dict(kinds),
    }
    RosterUpload.objects.filter(pk=upload.pk).update(counts=counts)
    upload.counts = counts
    return counts


# -- upload ----------------------------------------------------------------------------


@transaction.atomic
def upload_stage(*, kind: str, filename: str, data: bytes, actor: Actor) -> RosterUpload:
    """Read a roster with the student import's upload protections, stage its rows with
    the source's saved mapping (or the one suggested from the header names) and check
    them. Nothing of the registry is written."""
    source = source_get(kind)
    fmt, read = _read(filename=filename, data=data, kind=kind)
    header = read.header
    proposal = suggest(header, source.mapping, vocabulary_of(kind))
    mapping = [proposal.get(ci, "") for ci in range(len(header.texts))]
    upload = RosterUpload(
        id=uuid.uuid4(),
        source=source,
        filename=filename[:200],
        fmt=fmt,
        header_row=header.row_index + 1,
        headers=labels(header),
        notes=read.notes,
        counts={"mapping": mapping, "blank": read.blank},
        created_by=actor.label,
    )
    upload.file_key = default_storage.save(f"rosters/{upload.id}/upload.{fmt}", ContentFile(data))
    upload.save()
    _mapping_remember(source, upload, mapping, actor)
    rows_check(upload, new_rows=[StagedRow(upload=upload, row_no=n, raw=c) for n, c in read.rows])
    return upload


def _mapping_remember(
    source: RosterSource, upload: RosterUpload, mapping: Sequence[str], actor: Actor
) -> None:
    saved = dict(source.mapping)
    for name, key in zip(upload.headers, mapping, strict=True):
        if name:
            saved[name] = key
    source.mapping, source.updated_by = saved, actor.label
    source.save(update_fields=["mapping", "updated_by", "updated_at"])


@transaction.atomic
def mapping_save(
    *,
    upload_id: str,
    mapping: Sequence[str],
    defaults: Mapping[str, str],
    actor: Actor,
    request: Any = None,
) -> dict[str, Any]:
    """Which registry field each roster column fills, and fixed values for empty cells;
    saved for the source (the next upload of it starts from them), then every staged
    row is mapped and checked again."""
    upload = RosterUpload.objects.select_for_update().select_related("source").get(pk=upload_id)
    targets = vocabulary_of(upload.source.kind).targets
    if len(mapping) != len(upload.headers):
        raise _refuse("列的数目与名册不一致，请刷新页面后重试。", "mapping")
    used: dict[str, list[int]] = {}
    for ci, key in enumerate(mapping):
        if key and key not in targets:
            raise _refuse(MSG_TARGET_UNKNOWN.format(column=ci + 1), "mapping")
        if key:
            used.setdefault(key, []).append(ci + 1)
    for key, columns in used.items():
        if len(columns) > 1:
            raise _refuse(
                MSG_MAPPED_TWICE.format(
                    target=targets[key], columns="、".join(str(c) for c in columns)
                ),
                "mapping",
            )
    if "name" not in used:
        raise _refuse(MSG_NAME_REQUIRED, "mapping")
    fixed = {k: str(v).strip() for k, v in defaults.items() if k in targets and str(v).strip()}
    source = upload.source
    before = {"mapping": dict(source.mapping), "defaults": dict(source.defaults)}
    upload.counts = {**upload.counts, "mapping": list(mapping)}
    upload.save(update_fields=["counts"])
    source.defaults = fixed
    source.save(update_fields=["defaults"])
    _mapping_remember(source, upload, mapping, actor)
    counts = rows_check(upload)
    audit_record(
        actor=actor,
        request=request,
        action="修改",
        object_type=OBJECT_TYPE,
        object_id=upload.pk,
        object_repr=f"{source.get_kind_display()}：保存列对应",
        before=before,
        after={"mapping": source.mapping, "defaults": source.defaults},
    )
    return counts


# -- classes ---------------------------------------------------------------------------


def _recheck_source(source: RosterSource) -> None:
    for upload in source.uploads.all():
        if upload.rows.exclude(state=StagedRow.State.PROMOTED).exists():
            rows_check(upload)


@transaction.atomic
def class_match_set(*, match_id: int, class_no: str, actor: Actor, request: Any = None) -> None:
    """Point a roster's (年级, 班级) at one of the school's classes ("" unmatches it)."""
    from tenant_apps.registry.students.services import class_map

    match = RosterClassMatch.objects.select_for_update().select_related("source").get(pk=match_id)
    if class_no and class_no not in class_map():
        raise _refuse("本校没有这个班级，请重新选择。", "class_no")
    before = match.class_no
    match.class_no = class_no
    match.save(update_fields=["class_no"])
    audit_record(
        actor=actor,
        request=request,
        action="修改",
        object_type=OBJECT_TYPE,
        object_id=match.pk,
        object_repr=f"名册班级“{match.grade_text}{match.class_text}”对应本校班级",
        before={"class_no": before},
        after={"class_no": class_no},
    )
    _recheck_source(match.source)


@transaction.atomic
def class_create_for(*, match_id: int, actor: Actor, request: Any = None) -> str:
    """The seed's 修改年级/班级信息 from the roster: create the class (and its grade) the
    roster's texts name, through the registry's class_create, and match it."""
    from tenant_apps.registry.classes.services import class_create

    match = RosterClassMatch.objects.select_for_update().select_related("source").get(pk=match_id)
    guess = class_guess(match.grade_text, match.class_text)
    if guess is None:
        raise _refuse(
            MSG_CLASS_GUESS.format(grade=match.grade_text, klass=match.class_text), "class_no"
        )
    klass = class_create(
        stage=guess.stage,
        entry_year=guess.entry_year,
        number=guess.number,
        actor=actor,
        request=request,
        note="按营养改善计划名册新增班级",
    )
    match.class_no = klass.class_no
    match.save(update_fields=["class_no"])
    _recheck_source(match.source)
    return klass.name


# -- corrections -----------------------------------------------------------------------


@transaction.atomic
def row_update(
    *, row_id: int, values: Mapping[str, str], actor: Actor, request: Any = None
) -> StagedRow:
    """The registrar's corrections of one staged row ({registry key: text}); the row and
    the rest of its roster (repeats, ID numbers twice) are checked again."""
    row = StagedRow.objects.select_for_update().select_related("upload__source").get(pk=row_id)
    if row.state == StagedRow.State.PROMOTED:
        raise _refuse(MSG_NOT_STAGED, "row", "state")
    edits = dict(row.edits)
    targets = vocabulary_of(row.upload.source.kind).targets
    for key, value in values.items():
        if key in targets:
            edits[key] = str(value).strip()
    row.edits = edits
    row.save(update_fields=["edits"])
    rows_check(row.upload, recheck={row.pk} if values else None)
    audit_record(
        actor=actor,
        request=request,
        action="修改",
        object_type=OBJECT_TYPE,
        object_id=row.pk,
        object_repr=f"{row.upload.filename} 第{row.row_no}行：修改",
        after={k: v for k, v in values.items() if "id_number" not in k},
    )
    row.refresh_from_db()
    return row


# -- 全部转学籍系统 ----------------------------------------------------------------------


MSG_PROMOTE_RACE = (
    "转入时有学生刚被其他学校注册，本次转入已全部撤销，数据未改变。请再次点击“全部转学籍系统”。"
)


def _template_workbook(rows: Sequence[StagedRow]) -> bytes:
    """The ready rows in the national template's layout, written as the registry's own
    export writes it (registry.imports.export.rows_export: text cells, formula-like text
    kept as text without changing it), so the import reads back exactly these values."""
    return rows_export(
        rows=(
            {c.key: "" if (v := row.cells.get(c.key)) is None else str(v) for c in COLUMNS}
            for row in rows
        )
    )


@dataclass(frozen=True)
class Promoted:
    written: int
    suspected: int  # written as 问题学籍
    blocked: int  # refused by 查重, still staged
    not_ready: int  # still staged with their errors
    batch_id: str


@transaction.atomic(durable=True)
def promote_all(*, upload_id: str, actor: Actor, request: Any = None) -> Promoted:
    """全部转学籍系统: every ready row through the student import's own dry run and
    confirmation (registry.imports.pipeline import_validate and import_commit) in ONE
    transaction with the staged rows' new states: a failure anywhere leaves students,
    the index, problem records and the staged rows as they were. Rows 查重 refuses stay
    staged with its reason; rows like another record are written as 问题学籍."""
    from tenant_apps.registry.imports.pipeline import import_commit, import_validate
    from tenant_apps.registry.models import ImportBatch

    upload = RosterUpload.objects.select_for_update().select_related("source").get(pk=upload_id)
    if upload.source.kind == RosterSource.Kind.TEACHERS:
        raise _refuse(MSG_NOT_PUPILS, "rows", "state")
    # Every write (upload, mapping, class, correction) has checked the rows already; what
    # changed in the registry since (a class deleted, a pupil registered) the import's own
    # dry run below finds, and such a row stays staged with its reason.
    ready = list(upload.rows.filter(state=StagedRow.State.READY).order_by("row_no"))
    if not ready:
        raise _refuse(MSG_NOTHING_READY, "rows", "state")
    batch = ImportBatch(
        id=uuid.uuid4(),
        filename=f"{upload.source.get_kind_display()}转入：{upload.filename}"[:200],
        fmt="xlsx",
        created_by=actor.label,
    )
    batch.file_key = default_storage.save(
        f"imports/{batch.id}/upload.xlsx", ContentFile(_template_workbook(ready))
    )
    batch.save()
    import_validate(batch_id=str(batch.pk))
    batch.refresh_from_db()
    if batch.state != ImportBatch.State.READY:
        raise ApplicationError(str(batch.counts.get("message") or "转入失败。"), code="state")
    written = import_commit(
        batch_id=str(batch.pk), mode=ImportBatch.Mode.VALID_ONLY.value, actor=actor
    )
    if written.get("skipped"):
        # The confirmation skipped a row its dry run had passed (a pupil registered
        # elsewhere in the microseconds between): it does not say which, so rather than
        # mark that row promoted, undo the whole promotion; the next try's dry run finds
        # the pupil and keeps the row staged with the reason.
        raise ApplicationError(MSG_PROMOTE_RACE, code="conflict")
    # The template file's row n + 2 is ready[n] (row 1 is the header).
    refused: dict[int, list[str]] = {}
    for e in batch.errors:
        refused.setdefault(int(e["row"]) - 2, []).append(str(e["message"]))
    suspected = {int(d["row"]) - 2 for d in batch.duplicates if d["kind"] == "suspected"}
    now = timezone.now()
    # Three updates whatever the size: written, written as 问题学籍, refused (each with
    # its own message; few).
    written_rows = [r.pk for n, r in enumerate(ready) if n not in refused and n not in suspected]
    twin_rows = [r.pk for n, r in enumerate(ready) if n not in refused and n in suspected]
    for pks, note in ((written_rows, ""), (twin_rows, MSG_PROMOTED_SUSPECTED)):
        StagedRow.objects.filter(pk__in=pks).update(
            state=StagedRow.State.PROMOTED, note=note, promoted_at=now, import_batch_id=batch.pk
        )
    for n, messages in refused.items():
        StagedRow.objects.filter(pk=ready[n].pk).update(
            state=StagedRow.State.BLOCKED, note=" ".join(messages)[:300]
        )
    counts = _counts_save(upload)
    audit_record(
        actor=actor,
        request=request,
        action="导入",
        object_type=OBJECT_TYPE,
        object_id=upload.pk,
        object_repr=f"{upload.filename}：全部转学籍系统，转入{written['written']}人",
        after={"written": written["written"], "blocked": len(refused)},
    )
    return Promoted(
        written=written["written"],
        suspected=len(suspected - set(refused)),
        blocked=len(refused),
        not_ready=counts["total"]
        - counts["states"].get(StagedRow.State.PROMOTED, 0)
        - counts["states"].get(StagedRow.State.BLOCKED, 0),
        batch_id=str(batch.pk),
    )
