"""综合查询 pages: the builder with its results (a GET form that round-trips without
JavaScript), the print page, the Excel export and the user's saved queries."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.audit import READ_EXPORT, audit_record
from accounts.reauth import STUDENT_EXPORT, sensitive
from accounts.roles import Right
from common.exceptions import ApplicationError
from common.permissions import has_any_right
from common.views import content_disposition, right_required
from tenant_apps.registry.models import Student
from tenant_apps.registry.policy import rules as policy
from tenant_apps.reports.query import services
from tenant_apps.reports.query.definition import (
    COLUMNS,
    FIELDS,
    LEVELS,
    YESNO,
    Choices,
    Definition,
    DefinitionError,
    from_json,
    from_params,
    is_empty_condition,
    validate,
)
from tenant_apps.reports.query.exports import EXPORT_RIGHTS, full_allowed, query_export
from tenant_apps.reports.query.selectors import (
    query_choices,
    query_page_students,
    query_rows,
    query_students,
    saved_query_get,
    saved_query_list,
)

QUERY_RIGHTS = (Right.STATS_VIEW, Right.REGISTRY_VIEW, Right.REGISTRY_VIEW_OWN)
PAGE_SIZE = 30
PRINT_MAX = 2000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Prepared:
    """One request's definition, checked, with what the page shows around it."""

    def __init__(self, request: HttpRequest) -> None:
        self.scope = policy.student_scope(request.user)
        self.choices: Choices = query_choices(scope=self.scope)
        self.shown: Definition = from_params(request.GET)
        # A row just added and not filled in yet is shown, not run.
        self.definition = replace(
            self.shown,
            conditions=tuple(c for c in self.shown.conditions if not is_empty_condition(c)),
        )
        self.errors: list[str] = []
        self.qs: QuerySet[Student] | None = None
        try:
            validate(self.definition, self.choices)
        except DefinitionError as exc:
            self.errors = exc.messages
        else:
            self.qs = query_students(self.definition, scope=self.scope, choices=self.choices)

    def params(self, **extra: str) -> str:
        pairs = [(k, v) for k, v in self.definition.as_params() if k not in extra]
        return urlencode(pairs + [(k, v) for k, v in extra.items() if v])


def _rows_for_template(p: Prepared) -> list[dict[str, Any]]:
    """Each condition row of the builder with the widget its field needs."""
    rows = []
    for i, c in enumerate(p.shown.conditions):
        f = FIELDS.get(c.field)
        rows.append(
            {
                "i": i,
                "c": c,
                "field": f,
                "known": f is not None,
                "choices": p.choices.of(f) if f is not None else (),
                "value": c.values[0] if c.values else "",
                "courses": tuple(p.choices.courses.items()),
                "terms": tuple(p.choices.terms.items()),
            }
        )
    return rows


def _field_groups() -> list[tuple[str, list[Any]]]:
    groups: dict[str, list[Any]] = {}
    for f in FIELDS.values():
        groups.setdefault(f.group, []).append(f)
    return list(groups.items())


def _column_groups() -> list[tuple[str, list[Any]]]:
    groups: dict[str, list[Any]] = {}
    for c in COLUMNS.values():
        label = "成员1" if c.key.startswith("m1_") else "成员2" if c.key.startswith("m2_") else ""
        groups.setdefault(label or "学生", []).append(c)
    return list(groups.items())


def _can_export(request: HttpRequest) -> bool:
    return has_any_right(request.user, EXPORT_RIGHTS)


@right_required(QUERY_RIGHTS)
def query_home(request: HttpRequest) -> HttpResponse:
    p = Prepared(request)
    page = None
    rows: list[dict[str, str]] = []
    if p.qs is not None:
        page = Paginator(query_page_students(p.qs, p.definition.columns), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        rows = query_rows(page.object_list, p.definition.columns)
    username = request.user.get_username()
    headers = []
    for key in p.definition.columns if not p.errors else ():
        col = COLUMNS[key]
        desc = p.definition.sort == key and not p.definition.desc
        headers.append(
            {
                "key": key,
                "label": col.label,
                "sortable": bool(col.sort_path),
                "sorted": p.definition.sort == key,
                "desc": p.definition.sort == key and p.definition.desc,
                "href": "?" + p.params(sort=key, dir="desc" if desc else "asc"),
            }
        )
    return render(
        request,
        "reports/query/home.html",
        {
            "p": p,
            "conditions": _rows_for_template(p),
            "field_groups": _field_groups(),
            "column_groups": _column_groups(),
            "chosen": set(p.shown.columns),
            "headers": headers,
            "rows": [[r[k] for k in p.definition.columns] for r in rows],
            "page": page,
            "query": p.params(),
            "levels": LEVELS,
            "yesno": YESNO,
            "sortable": [c for c in COLUMNS.values() if c.sort_path],
            "saved": saved_query_list(owner=username),
            "can_export": _can_export(request),
            "can_full": full_allowed(request.user),
        },
    )


def _refused(request: HttpRequest, p: Prepared) -> HttpResponse:
    for message in p.errors:
        messages.error(request, message)
    return redirect(reverse("reports:query_home") + "?" + request.GET.urlencode())


@right_required(EXPORT_RIGHTS)
def query_print(request: HttpRequest) -> HttpResponse:
    """A print-friendly page of every result row (up to PRINT_MAX), recorded in the audit
    log like an export: it puts the same rows on paper."""
    p = Prepared(request)
    if p.qs is None:
        return _refused(request, p)
    total = p.qs.count()
    if total > PRINT_MAX:
        messages.error(request, _("结果超过2000行，请缩小条件后再打印，或导出Excel。"))
        return redirect(reverse("reports:query_home") + "?" + p.params())
    students = query_page_students(p.qs, p.definition.columns)
    rows = query_rows(students, p.definition.columns)
    audit_record(
        request=request,
        action=READ_EXPORT,
        object_type="student",
        after={"rows": total, "filters": p.definition.as_json(), "source": "reports.query.print"},
    )
    return render(
        request,
        "reports/query/print.html",
        {
            "labels": [COLUMNS[k].label for k in p.definition.columns],
            "rows": [[r[k] for k in p.definition.columns] for r in rows],
            "total": total,
            "conditions": _summary(p),
            "school": getattr(request, "tenant", None),
            "now": timezone.localtime(),
            "query": p.params(),
        },
    )


def _summary(p: Prepared) -> list[str]:
    """The conditions in words, printed above the table."""
    words = []
    for c in p.definition.conditions:
        f = FIELDS[c.field]
        names = dict(p.choices.of(f))
        op = dict(f.ops)[c.op]
        if c.field == "marks":
            value = p.choices.courses.get(c.course, "") + (f" {c.term}" if c.term else "")
            detail = dict(LEVELS).get(int(c.values[0])) if c.values else f"{c.low}～{c.high}"
            words.append(f"{f.label}：{value} {op} {detail}")
            continue
        picked = "、".join(names.get(v, v) for v in c.values)
        span = f"{c.low}～{c.high}" if (c.low or c.high) else ""
        if f.widget == "yesno" and c.values:
            picked = dict(YESNO).get(c.values[0], "")
        words.append(f"{f.label} {op} {picked} {span}".strip())
    return words


@right_required(EXPORT_RIGHTS)
@sensitive(STUDENT_EXPORT)
def query_export_view(request: HttpRequest) -> HttpResponse:
    """导出Excel: the chosen columns of every result row; `full=1` shows ID numbers and
    phones in full for a reader who may see them (recorded as read.export.full)."""
    p = Prepared(request)
    if p.qs is None:
        return _refused(request, p)
    data, _rows = query_export(
        query_page_students(p.qs, p.definition.columns),
        p.definition,
        request=request,
        full=request.GET.get("full") == "1",
    )
    response = HttpResponse(data, content_type=XLSX)
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = content_disposition(f"综合查询-{stamp}.xlsx")
    return response


# -- saved queries -------------------------------------------------------------------------


def _owner(request: HttpRequest) -> str:
    return str(request.user.get_username())


@right_required(QUERY_RIGHTS)
@require_POST
def query_saved_create(request: HttpRequest) -> HttpResponse:
    """保存查询: the builder posts its current parameters and a name."""
    params = QueryDict(request.POST.get("params", ""))
    scope = policy.student_scope(request.user)
    try:
        definition = validate(from_params(params), query_choices(scope=scope))
        saved = services.saved_query_create(
            owner=_owner(request), name=request.POST.get("name", ""), definition=definition
        )
    except DefinitionError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(reverse("reports:query_home") + "?" + params.urlencode())
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("reports:query_home") + "?" + params.urlencode())
    messages.success(request, _("查询已保存：%(name)s") % {"name": saved.name})
    return redirect(reverse("reports:query_saved_open", kwargs={"query_id": saved.pk}))


@right_required(QUERY_RIGHTS)
def query_saved_open(request: HttpRequest, query_id: Any) -> HttpResponse:
    saved = saved_query_get(owner=_owner(request), query_id=query_id)
    if saved is None:
        raise Http404
    try:
        definition = from_json(saved.definition)
    except DefinitionError:
        definition = Definition()
    params = urlencode([*definition.as_params(), ("saved", str(saved.pk))])
    return redirect(reverse("reports:query_home") + "?" + params)


@right_required(QUERY_RIGHTS)
@require_POST
def query_saved_rename(request: HttpRequest, query_id: Any) -> HttpResponse:
    if saved_query_get(owner=_owner(request), query_id=query_id) is None:
        raise Http404
    try:
        services.saved_query_update(
            owner=_owner(request), query_id=query_id, name=request.POST.get("name", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已重命名。"))
    return redirect("reports:query_home")


@right_required(QUERY_RIGHTS)
@require_POST
def query_saved_delete(request: HttpRequest, query_id: Any) -> HttpResponse:
    if saved_query_get(owner=_owner(request), query_id=query_id) is None:
        raise Http404
    services.saved_query_delete(owner=_owner(request), query_id=query_id)
    messages.success(request, _("已删除保存的查询。"))
    return redirect("reports:query_home")
