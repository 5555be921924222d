"""审计日志 pages: a school administrator's own school, a bureau's schools and itself.

Both hosts serve /accounts/audit/ (search, paginated, newest first) and
/accounts/audit/export/ (the same filters as CSV, after re-entering the password; the
export is itself recorded).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET

from accounts.audit import FIELD_LABELS, READ_EXPORT, audit_record
from accounts.audit_selectors import (
    EXPORT_MAX_ROWS,
    AuditFilters,
    AuditLog,
    audit_csv,
    audit_log_bureau,
    audit_log_school,
    bureau_school,
    bureau_schools,
)
from accounts.people import people_labels
from accounts.reauth import AUDIT_EXPORT, sensitive
from accounts.roles import Right
from common.views import right_required

PAGE_SIZE = 50
ACTION_LABELS = {
    "write": gettext_noop("写入"),
    "login": gettext_noop("登录"),
    "login.failed": gettext_noop("登录失败"),
    "logout": gettext_noop("退出登录"),
    "read": gettext_noop("全部敏感查看"),
    "read.reveal": gettext_noop("显示完整号码"),
    "read.lookup": gettext_noop("跨校查找学生"),
    "read.export": gettext_noop("导出"),
    "read.export.full": gettext_noop("导出完整号码"),
    "read.file": gettext_noop("下载文件"),
    "restore": gettext_noop("恢复备份"),
}
OBJECT_LABELS = {
    "student": gettext_noop("学生"),
    "problem": gettext_noop("问题学籍"),
    "import_batch": gettext_noop("导入批次"),
    "evidence_review": gettext_noop("佐证审核"),
    "joint_case": gettext_noop("跨县联合认定"),
    "school": gettext_noop("学校"),
    "grade": gettext_noop("年级"),
    "school_class": gettext_noop("班级"),
    "job": gettext_noop("后台任务"),
    "lookup": gettext_noop("跨校查找"),
    "file": gettext_noop("文件"),
    "user": gettext_noop("用户"),
    "audit_log": gettext_noop("审计日志"),
    "backup": gettext_noop("备份"),
    "marks": gettext_noop("成绩"),
    "aux_numbering": gettext_noop("学籍辅号编排"),
    "case": gettext_noop("业务"),
    "nutrition_beneficiaries": gettext_noop("营养改善计划受益学生"),
    "nutrition_roster": gettext_noop("月度受益学生名册"),
    "nutrition_counts": gettext_noop("受益学生统计"),
}
VALUE_LABELS = {
    "audit_state": gettext_noop("注册状态"),
    "national_number": gettext_noop("全国学籍号"),
    "rows": gettext_noop("行数"),
    "filters": gettext_noop("筛选条件"),
    "school_id": gettext_noop("学校"),
    "unknown_user": gettext_noop("用户名不存在"),
    "issued_to": gettext_noop("链接发给"),
    "backup_at": gettext_noop("备份时间"),
    "target": gettext_noop("恢复目标"),
    "source": gettext_noop("来源学校"),
    "locked_until": gettext_noop("锁定至"),
    "failed_logins": gettext_noop("连续输错次数"),
    "is_active": gettext_noop("启用"),
    # A grade cell's marks (grades.services.marks_save): {pupil: {level, score}}.
    "level": gettext_noop("等级"),
    "score": gettext_noop("成绩"),
    "items": gettext_noop("学生"),
    "decision": gettext_noop("审核结果"),
    "reason": gettext_noop("原因"),
}
PUBLIC_LABEL = gettext_noop("教育局/平台")


def _value_label(key: str) -> str:
    if key in VALUE_LABELS:
        return _(VALUE_LABELS[key])
    return FIELD_LABELS.get(key, key)


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:  # a moment (DjangoJSONEncoder's ISO text), shown in local time
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return moment.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dict):  # nested values read like the rest: 等级：优秀，成绩：95
        return "，".join(f"{_value_label(k)}：{_text(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return "、".join(_text(v) for v in value) or "—"
    return str(value)


def _changes(row: dict[str, Any]) -> list[dict[str, Any]]:
    before, after = row["before"] or {}, row["after"] or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [
        {
            "label": _value_label(k),
            "before": _text(before.get(k)) if k in before else None,
            "after": _text(after.get(k)),
        }
        for k in keys
    ]


def _stored_actor(row: dict[str, Any]) -> str:
    """The entry's account in the shape accounts.people reads."""
    if not row["username"]:
        return ""
    return f"{row['username']}@{row['source']}"


def _presented(row: dict[str, Any]) -> dict[str, Any]:
    action = ACTION_LABELS.get(row["action"])
    kind = OBJECT_LABELS.get(row["object_type"])
    return row | {
        "action_label": _(action) if action else row["action"],
        "object_label": _(kind) if kind else row["object_type"],
        "changes": _changes(row),
    }


def _side(values: dict[str, Any] | None) -> str:
    """One side of a diff as a cell: 注册状态：待提交；全国学籍号：L4301…"""
    return "；".join(f"{_value_label(k)}：{_text(v)}" for k, v in (values or {}).items())


def _readable(row: dict[str, Any]) -> dict[str, Any]:
    """An entry as the export's reader reads it: actions, objects and fields by their
    Chinese names (the API keeps the codes)."""
    shown = _presented(row)
    return row | {
        "action": shown["action_label"],
        "object_type": shown["object_label"] if row["object_type"] else "",
        "before": _side(row["before"]),
        "after": _side(row["after"]),
    }


def _page_context(request: HttpRequest, log: AuditLog, filters: AuditFilters) -> dict[str, Any]:
    page = Paginator(log, PAGE_SIZE).get_page(request.GET.get("page"))  # type: ignore[arg-type,var-annotated]
    rows = [_presented(r) for r in page.object_list]
    # Who, as "school · name（staff number）": an entry's account lives in the schema the
    # entry was read from (public for bureau and platform staff).
    stored = [_stored_actor(r) for r in rows]
    people = people_labels(stored)
    for r, actor in zip(rows, stored, strict=True):
        r["person"] = people[actor] if actor else (r["user_display"] or "—")
    page.object_list = rows
    return {
        "page": page,
        "filters": filters,
        "actions": [(code, _(label)) for code, label in ACTION_LABELS.items()],
        "query": urlencode(filters.as_query()),
    }


def _csv_response(
    request: HttpRequest,
    log: AuditLog,
    filters: AuditFilters,
    *,
    school: str | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """The entries as CSV; the export is recorded (in this host's schema, naming the
    school whose entries left) once the rows are read."""
    rows = [_readable(r) for r in log[0:EXPORT_MAX_ROWS]]
    headers = [
        _("时间"),
        _("用户名"),
        _("姓名"),
        _("IP地址"),
        _("学校"),
        _("操作"),
        _("对象类型"),
        _("对象编号"),
        _("对象"),
        _("修改前"),
        _("修改后"),
        _("请求方法"),
        _("路径"),
        _("状态码"),
    ]
    body = audit_csv(rows, headers)
    audit_record(
        request=request,
        action=READ_EXPORT,
        object_type="audit_log",
        after={"rows": len(rows), "filters": filters.as_query(), **(extra or {})},
        school=school,
    )
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
    return response


# -- school host -------------------------------------------------------------------------


def school_log(request: HttpRequest, filters: AuditFilters) -> AuditLog:
    """The school's own log on its host (shared with the API)."""
    if connection.schema_name == "public":
        raise Http404
    school = request.tenant  # type: ignore[attr-defined]
    return audit_log_school(schema=school.schema_name, school_name=school.name, filters=filters)


@right_required(Right.USERS_MANAGE)
@require_GET
def school_audit_view(request: HttpRequest) -> HttpResponse:
    filters = AuditFilters.from_params(request.GET)
    context = _page_context(request, school_log(request, filters), filters)
    return render(request, "accounts/audit_log.html", context | {"on_bureau": False})


@right_required(Right.USERS_MANAGE)
@require_GET
@sensitive(AUDIT_EXPORT)
def school_audit_export_view(request: HttpRequest) -> HttpResponse:
    filters = AuditFilters.from_params(request.GET)
    return _csv_response(request, school_log(request, filters), filters)


# -- bureau host -------------------------------------------------------------------------


def bureau_log(request: Any, params: Any, filters: AuditFilters) -> tuple[AuditLog, Any]:
    """The bureau's log for `?school_id=` (404 outside the user's schools) or, without
    one, the bureau's own public entries. Shared with the API."""
    if connection.schema_name != "public":
        raise Http404
    user = request.user
    school = bureau_school(user, params.get("school_id"))
    names = {s.schema: s.name for s in bureau_schools(user)} | {"public": _(PUBLIC_LABEL)}
    log = audit_log_bureau(
        user=user,
        school_schema=school.schema if school else None,
        filters=filters,
        school_names=names,
    )
    return log, school


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_GET
def bureau_audit_view(request: HttpRequest) -> HttpResponse:
    filters = AuditFilters.from_params(request.GET)
    log, school = bureau_log(request, request.GET, filters)
    context = _page_context(request, log, filters)
    if school is not None:
        context["query"] = urlencode({"school_id": school.id, **filters.as_query()})
    context |= {
        "on_bureau": True,
        "schools": bureau_schools(request.user),  # type: ignore[arg-type]
        "school": school,
    }
    return render(request, "accounts/audit_log.html", context)


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_GET
@sensitive(AUDIT_EXPORT)
def bureau_audit_export_view(request: HttpRequest) -> HttpResponse:
    filters = AuditFilters.from_params(request.GET)
    log, school = bureau_log(request, request.GET, filters)
    if school is None:
        return _csv_response(request, log, filters)
    return _csv_response(
        request, log, filters, school=school.schema, extra={"school_id": school.id}
    )
