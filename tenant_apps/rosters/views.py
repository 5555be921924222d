"""The 营养改善计划数据核对 pages: upload a roster, map its columns, match its classes,
correct its rows, 全部转学籍系统. Thin: rosters.services does the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from tenant_apps.registry.fields import BY_KEY
from tenant_apps.rosters import selectors, services
from tenant_apps.rosters.headers import ROSTER_KEYS, TARGETS
from tenant_apps.rosters.models import RosterSource, StagedRow
from tenant_apps.rosters.selectors import cell_shown as _shown

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
ROWS_PER_PAGE = 25
# Fixed values a roster usually lacks: offered on the mapping page.
DEFAULT_KEYS = (
    "nationality",
    "id_type",
    "overseas",
    "health",
    "household_type",
    "entry_mode",
    "attendance",
    "only_child",
    "preschool",
    "left_behind",
    "migrant_child",
    "orphan",
    "martyr_child",
    "needs_aid",
    "boarding_subsidy",
    "postcode",
    "m1_is_guardian",
    "m2_relation",
)
STATE_FILTERS = (
    ("problem", gettext_lazy("待处理")),
    ("ready", gettext_lazy("可转入")),
    ("promoted", gettext_lazy("已转入")),
    ("already", gettext_lazy("此前已转入")),
    ("repeated", gettext_lazy("重复行")),
    ("", gettext_lazy("全部")),
)


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("名册文件"),
        help_text=gettext_lazy("营养改善计划系统导出的 .xlsx、.xls 或 .csv（UTF-8 或 GBK）"),
    )


def _actor(request: HttpRequest) -> Actor:
    return Actor.of(request.user)


def _flash(request: HttpRequest, exc: ApplicationError) -> None:
    details = [m for msgs in exc.extra.values() for m in msgs if m != exc.message]
    messages.error(request, " ".join([exc.message, *details]))


def _upload(upload_id: object) -> Any:
    upload = selectors.upload_get(upload_id)
    if upload is None:
        raise Http404
    return upload


@right_required(Right.DATA_MANAGE)
@require_http_methods(["GET", "POST"])
def nutrition_view(request: HttpRequest) -> HttpResponse:
    """营养改善计划数据核对: the upload and the school's staged rosters."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        if file.size and file.size > MAX_UPLOAD_BYTES:
            form.add_error("file", _("文件超过20MB，请拆分后分批上传。"))
        else:
            try:
                upload = services.upload_stage(
                    kind=RosterSource.Kind.NUTRITION,
                    filename=file.name or "upload",
                    data=file.read(),
                    actor=_actor(request),
                )
            except ApplicationError as exc:
                for msg in exc.extra.get("file", []) or [exc.message]:
                    form.add_error("file", msg)
            else:
                return redirect("rosters:upload", upload_id=upload.pk)
    return render(
        request,
        "rosters/nutrition.html",
        {"form": form, "uploads": selectors.upload_list(RosterSource.Kind.NUTRITION)[:20]},
    )


@right_required(Right.DATA_MANAGE)
def sources_view(request: HttpRequest) -> HttpResponse:
    """外部名册: every source of the school with its latest uploads."""
    sources = []
    for kind, label in RosterSource.Kind.choices:
        # The teacher export's uploads are listed on its own page, under its own right.
        teachers = kind == RosterSource.Kind.TEACHERS
        uploads = [] if teachers else list(selectors.upload_list(kind)[:5])
        sources.append({"kind": kind, "label": label, "uploads": uploads})
    can_teachers = request.user.has_right(Right.TEACHERS_MANAGE)  # type: ignore[union-attr]
    return render(
        request, "rosters/sources.html", {"sources": sources, "can_teachers": can_teachers}
    )


def _summary(upload: Any) -> dict[str, Any]:
    from tenant_apps.registry.students.forms import ERROR_KIND_LABELS

    counts = upload.counts
    states = counts.get("states") or {}
    labels = dict(StagedRow.State.choices)
    extra = {
        "class_unmatched": _("班级未对应"),
        "duplicate": _("身份证件号重复"),
    }
    return {
        "states": [(labels[s], states.get(s, 0), s) for s in StagedRow.State.values],
        "by_kind": sorted(
            (
                (extra.get(k) or ERROR_KIND_LABELS.get(k, k), n)
                for k, n in (counts.get("by_kind") or {}).items()
            ),
            key=lambda kv: -kv[1],
        ),
    }


@right_required(Right.DATA_MANAGE)
def upload_view(request: HttpRequest, upload_id: object) -> HttpResponse:
    upload = _upload(upload_id)
    unmatched = selectors.class_matches(upload.source).filter(class_no="").count()
    return render(
        request,
        "rosters/upload.html",
        {"upload": upload, "counts": upload.counts, "unmatched": unmatched, **_summary(upload)},
    )


@right_required(Right.DATA_MANAGE)
@require_http_methods(["GET", "POST"])
def mapping_view(request: HttpRequest, upload_id: object) -> HttpResponse:
    upload = _upload(upload_id)
    mapping: list[str] = upload.counts.get("mapping") or []
    if request.method == "POST":
        chosen = [request.POST.get(f"col{ci}", "") for ci in range(len(upload.headers))]
        defaults = {k: request.POST.get(f"default_{k}", "") for k in DEFAULT_KEYS}
        try:
            services.mapping_save(
                upload_id=str(upload.pk),
                mapping=chosen,
                defaults=defaults,
                actor=_actor(request),
                request=request,
            )
        except ApplicationError as exc:
            _flash(request, exc)
            mapping = chosen
        else:
            messages.success(request, _("列对应已保存，所有行已重新校验。"))
            return redirect("rosters:upload", upload_id=upload.pk)
    samples: list[list[str]] = [[] for _ in upload.headers]
    for row in upload.rows.order_by("row_no")[:3]:
        for ci, value in enumerate(row.raw[: len(samples)]):
            key = mapping[ci] if ci < len(mapping) else ""
            samples[ci].append(_shown(key or "", value))
    columns = [
        {
            "index": ci,
            "number": ci + 1,
            "header": header or _("（无列名）"),
            "target": mapping[ci] if ci < len(mapping) else "",
            "samples": [s for s in samples[ci] if s],
        }
        for ci, header in enumerate(upload.headers)
    ]
    fixed = [
        {"key": k, "header": BY_KEY[k].header, "value": upload.source.defaults.get(k, "")}
        for k in DEFAULT_KEYS
    ]
    return render(
        request,
        "rosters/mapping.html",
        {
            "upload": upload,
            "columns": columns,
            "targets": list(TARGETS.items()),
            "defaults": fixed,
        },
    )


@right_required(Right.DATA_MANAGE)
@require_http_methods(["GET", "POST"])
def classes_view(request: HttpRequest, upload_id: object) -> HttpResponse:
    """年级/班级对应: each roster (年级, 班级) pair to a school class, or a new class."""
    from tenant_apps.registry.classes.selectors import class_list

    upload = _upload(upload_id)
    if request.method == "POST":
        match = selectors.match_get(int(request.POST.get("match", "0") or 0))
        if match is None or match.source_id != upload.source_id:
            raise Http404
        try:
            if request.POST.get("create") == "1":
                name = services.class_create_for(
                    match_id=match.pk, actor=_actor(request), request=request
                )
                messages.success(request, _("已新建班级“%(name)s”。") % {"name": name})
            else:
                services.class_match_set(
                    match_id=match.pk,
                    class_no=request.POST.get("class_no", ""),
                    actor=_actor(request),
                    request=request,
                )
                messages.success(request, _("班级对应已保存。"))
        except ApplicationError as exc:
            _flash(request, exc)
        return redirect("rosters:classes", upload_id=upload.pk)
    classes = [(c.class_no, c.name) for c in class_list()]
    return render(
        request,
        "rosters/classes.html",
        {"upload": upload, "matches": selectors.class_matches(upload.source), "classes": classes},
    )


def _row_fields(row: StagedRow) -> list[dict[str, Any]]:
    """The fields a correction form shows: those with an error, then the row's others."""
    errors: dict[str, list[str]] = {}
    for e in row.errors:
        key = e["key"] if e["key"] in TARGETS or e["key"] == "class_no" else ""
        if e["key"] == "class_no":
            key = "roster_class"
        errors.setdefault(key, []).append(e["message"])
    keys = [k for k in errors if k]
    keys += [k for k in ("name", "sex", "birth_date", "id_number") if k not in keys]
    fields = []
    for key in keys:
        if key in ROSTER_KEYS:
            value = row.grade_text if key == "roster_grade" else row.class_text
        else:
            value = row.edits.get(key, row.cells.get(key, ""))
        secret = "id_number" in key
        fields.append(
            {
                "key": key,
                "label": TARGETS.get(key, key),
                # An ID number is never echoed in full: typed again when wrong.
                "value": "" if secret else _shown(key, value),
                "placeholder": _shown(key, value) if secret else "",
                "errors": errors.get(key, []),
            }
        )
    if "roster_class" in errors and "roster_grade" not in errors:
        fields.insert(
            1,
            {
                "key": "roster_grade",
                "label": TARGETS["roster_grade"],
                "value": row.grade_text,
                "placeholder": "",
                "errors": [],
            },
        )
    return fields


def _row_item(row: StagedRow) -> dict[str, Any]:
    return {
        "row": row,
        "name": str(row.cells.get("name") or row.edits.get("name") or ""),
        "id_number": _shown("id_number", row.cells.get("id_number")),
        "klass": f"{row.grade_text}{row.class_text}",
        "fields": _row_fields(row),
        "row_errors": [
            e["message"] for e in row.errors if e["key"] not in TARGETS and e["key"] != "class_no"
        ],
        "normalised": [
            {**n, "before": _shown(n["key"], n["before"]), "after": _shown(n["key"], n["after"])}
            for n in row.normalised
        ],
        "editable": row.state
        in (StagedRow.State.INVALID, StagedRow.State.BLOCKED, StagedRow.State.READY),
    }


@right_required(Right.DATA_MANAGE)
def rows_view(request: HttpRequest, upload_id: object) -> HttpResponse:
    """The correction grid: a small page of rows, each with its own form."""
    upload = _upload(upload_id)
    state = request.GET.get("state", "problem")
    page = Paginator(selectors.rows_of(upload, state), ROWS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "rosters/rows.html",
        {
            "upload": upload,
            "page": page,
            "items": [_row_item(r) for r in page.object_list],
            "state": state,
            "filters": STATE_FILTERS,
            "query": f"state={state}",
            "counts": upload.counts,
        },
    )


@right_required(Right.DATA_MANAGE)
@require_POST
def row_save_view(request: HttpRequest, upload_id: object, row_id: int) -> HttpResponse:
    upload = _upload(upload_id)
    row = selectors.row_get(upload, row_id)
    if row is None:
        raise Http404
    values: dict[str, str] = {}
    for k in request.POST:
        v = request.POST.get(k, "")
        # An ID number left empty keeps its value (the form never echoes it).
        if k.startswith("f_") and k[2:] in TARGETS and (v.strip() or "id_number" not in k):
            values[k[2:]] = v
    try:
        row = services.row_update(
            row_id=row.pk, values=values, actor=_actor(request), request=request
        )
    except ApplicationError as exc:
        _flash(request, exc)
    else:
        if row.state == StagedRow.State.READY:
            messages.success(request, _("第%(row)s行已改正，可以转入。") % {"row": row.row_no})
        else:
            messages.warning(
                request, _("第%(row)s行已保存，还有问题需要改正。") % {"row": row.row_no}
            )
    back = request.POST.get("back", "")
    url = reverse("rosters:rows", kwargs={"upload_id": upload.pk})
    if back.startswith("state="):
        url += "?" + back
    return redirect(f"{url}#row-{row.pk}")


@right_required(Right.DATA_MANAGE)
@require_POST
def promote_view(request: HttpRequest, upload_id: object) -> HttpResponse:
    upload = _upload(upload_id)
    try:
        result = services.promote_all(
            upload_id=str(upload.pk), actor=_actor(request), request=request
        )
    except ApplicationError as exc:
        _flash(request, exc)
    else:
        messages.success(
            request,
            _(
                "已转入学籍系统 %(written)s 人（其中疑似重复 %(suspected)s 人已进入问题学籍）；"
                "查重未通过 %(blocked)s 行、其余未就绪的行仍留在名册中。"
                "请到“学籍管理”查看查重情况并提交审核。"
            )
            % {
                "written": result.written,
                "suspected": result.suspected,
                "blocked": result.blocked,
            },
        )
    return redirect("rosters:upload", upload_id=upload.pk)
