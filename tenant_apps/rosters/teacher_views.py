"""The 师训平台教师名单核对 pages: upload the teacher-training platform's export, map its
columns, correct its rows, see the diff with the teacher records and confirm it. Thin:
rosters.services stages and checks, rosters.teachers diffs and applies. The right is
教师信息管理's, whoever keeps the teacher records."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import Right
from common.exceptions import ApplicationError
from common.views import right_required
from tenant_apps.rosters import selectors, services, teachers
from tenant_apps.rosters.models import RosterSource, RosterUpload, StagedRow
from tenant_apps.rosters.selectors import cell_shown as _shown
from tenant_apps.rosters.views import MAX_UPLOAD_BYTES, ROWS_PER_PAGE, UploadForm, _actor, _flash

# Fixed values for empty cells of the export (it seldom says 用工形式).
DEFAULT_KEYS = ("title", "employment")
STATE_FILTERS = (
    ("problem", gettext_lazy("待修改")),
    ("ready", gettext_lazy("可确认")),
    ("promoted", gettext_lazy("已确认")),
    ("repeated", gettext_lazy("重复行")),
    ("", gettext_lazy("全部")),
)
# The rows' states in this flow's words.
STATE_LABELS: dict[str, Any] = {
    StagedRow.State.INVALID: gettext_lazy("待修改"),
    StagedRow.State.READY: gettext_lazy("可确认"),
    StagedRow.State.REPEATED: gettext_lazy("重复行"),
    StagedRow.State.PROMOTED: gettext_lazy("已确认"),
}


class TeacherUploadForm(UploadForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("师训平台导出的 .xlsx、.xls 或 .csv（UTF-8 或 GBK）")


def _upload(upload_id: object) -> RosterUpload:
    upload = selectors.upload_get(upload_id, teachers=True)
    if upload is None:
        raise Http404
    return upload


@right_required(Right.TEACHERS_MANAGE)
@require_http_methods(["GET", "POST"])
def teachers_view(request: HttpRequest) -> HttpResponse:
    """The upload and the school's staged teacher exports."""
    form = TeacherUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        if file.size and file.size > MAX_UPLOAD_BYTES:
            form.add_error("file", _("文件超过20MB，请拆分后分批上传。"))
        else:
            try:
                upload = services.upload_stage(
                    kind=RosterSource.Kind.TEACHERS,
                    filename=file.name or "upload",
                    data=file.read(),
                    actor=_actor(request),
                )
            except ApplicationError as exc:
                for msg in exc.extra.get("file", []) or [exc.message]:
                    form.add_error("file", msg)
            else:
                return redirect("rosters:teachers_upload", teachers_upload_id=upload.pk)
    return render(
        request,
        "rosters/teachers.html",
        {"form": form, "uploads": selectors.upload_list(RosterSource.Kind.TEACHERS)[:20]},
    )


def _summary(upload: RosterUpload) -> dict[str, Any]:
    counts = upload.counts
    states = counts.get("states") or {}
    return {
        "states": [(label, states.get(s, 0), s) for s, label in STATE_LABELS.items()],
        "by_kind": sorted(
            ((teachers.KIND_LABELS.get(k, k), n) for k, n in (counts.get("by_kind") or {}).items()),
            key=lambda kv: -kv[1],
        ),
    }


@right_required(Right.TEACHERS_MANAGE)
def teachers_upload_view(request: HttpRequest, teachers_upload_id: object) -> HttpResponse:
    """概况 and the diff with the teacher records, with 确认."""
    upload = _upload(teachers_upload_id)
    applied = upload.counts.get("applied")
    diff = None if applied else teachers.teacher_diff(upload)
    return render(
        request,
        "rosters/teachers_upload.html",
        {
            "upload": upload,
            "counts": upload.counts,
            "applied": applied,
            "diff": diff,
            **_summary(upload),
        },
    )


@right_required(Right.TEACHERS_MANAGE)
@require_POST
def teachers_confirm_view(request: HttpRequest, teachers_upload_id: object) -> HttpResponse:
    """确认: the diff shown, applied whole. New accounts' one-time passwords are shown
    on the answer to this POST only (never stored, never in a redirect)."""
    upload = _upload(teachers_upload_id)
    try:
        result = teachers.teachers_apply(
            upload_id=str(upload.pk),
            fingerprint=request.POST.get("fingerprint", ""),
            open_accounts=bool(request.POST.get("open_accounts")),
            actor=_actor(request),
            actor_user=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except ApplicationError as exc:
        _flash(request, exc)
        return redirect("rosters:teachers_upload", teachers_upload_id=upload.pk)
    messages.success(
        request,
        _("已确认：新增教师 %(new)s 人，变更 %(changed)s 人，离开 %(gone)s 人。")
        % {"new": result.new, "changed": result.changed, "gone": result.gone},
    )
    if not result.accounts:
        return redirect("rosters:teachers_upload", teachers_upload_id=upload.pk)
    return render(
        request,
        "rosters/teachers_accounts.html",
        {"upload": upload, "accounts": result.accounts},
    )


@right_required(Right.TEACHERS_MANAGE)
@require_http_methods(["GET", "POST"])
def teachers_mapping_view(request: HttpRequest, teachers_upload_id: object) -> HttpResponse:
    upload = _upload(teachers_upload_id)
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
            return redirect("rosters:teachers_upload", teachers_upload_id=upload.pk)
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
        {
            "key": k,
            "header": teachers.TARGETS[k],
            "value": upload.source.defaults.get(k, ""),
            "choices": teachers.CHOICES[k],
        }
        for k in DEFAULT_KEYS
    ]
    return render(
        request,
        "rosters/teachers_mapping.html",
        {
            "upload": upload,
            "columns": columns,
            "targets": list(teachers.TARGETS.items()),
            "defaults": fixed,
        },
    )


def _row_item(row: StagedRow) -> dict[str, Any]:
    """A row and its correction form: the fields with an error, then the key ones."""
    errors: dict[str, list[str]] = {}
    for e in row.errors:
        errors.setdefault(e["key"], []).append(e["message"])
    keys = [k for k in errors if k in teachers.TARGETS]
    keys += [k for k in ("staff_no", "name", "sex", "id_number") if k not in keys]
    fields = []
    for key in keys:
        value = row.edits.get(key, row.cells.get(key, ""))
        if not value and key in errors:
            value = next((e["value"] for e in row.errors if e["key"] == key), "")
        if key in teachers.CHOICES and value:
            value = dict(teachers.CHOICES[key]).get(str(value), value)  # 女, not its code
        secret = key == "id_number"
        fields.append(
            {
                "key": key,
                "label": teachers.TARGETS[key],
                # An ID number is never echoed in full: typed again when wrong.
                "value": "" if secret else _shown(key, value),
                "placeholder": _shown(key, value) if secret else "",
                "errors": errors.get(key, []),
            }
        )
    return {
        "row": row,
        "state": STATE_LABELS.get(row.state, row.get_state_display()),
        "name": str(row.cells.get("name") or row.edits.get("name") or ""),
        "id_number": _shown("id_number", row.cells.get("id_number")),
        "fields": fields,
        "normalised": [
            {**n, "before": _shown(n["key"], n["before"]), "after": _shown(n["key"], n["after"])}
            for n in row.normalised
        ],
        "editable": row.state in (StagedRow.State.INVALID, StagedRow.State.READY),
    }


@right_required(Right.TEACHERS_MANAGE)
def teachers_rows_view(request: HttpRequest, teachers_upload_id: object) -> HttpResponse:
    """The correction grid, a small page of rows, each with its own form."""
    upload = _upload(teachers_upload_id)
    state = request.GET.get("state", "problem")
    page = Paginator(selectors.rows_of(upload, state), ROWS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "rosters/teachers_rows.html",
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


@right_required(Right.TEACHERS_MANAGE)
@require_POST
def teachers_row_save_view(
    request: HttpRequest, teachers_upload_id: object, teachers_row_id: int
) -> HttpResponse:
    upload = _upload(teachers_upload_id)
    row = selectors.row_get(upload, teachers_row_id)
    if row is None:
        raise Http404
    values: dict[str, str] = {}
    for k in request.POST:
        v = request.POST.get(k, "")
        # An ID number left empty keeps its value (the form never echoes it).
        if k.startswith("f_") and k[2:] in teachers.TARGETS and (v.strip() or k != "f_id_number"):
            values[k[2:]] = v
    try:
        row = services.row_update(
            row_id=row.pk, values=values, actor=_actor(request), request=request
        )
    except ApplicationError as exc:
        _flash(request, exc)
    else:
        if row.state == StagedRow.State.READY:
            messages.success(request, _("第%(row)s行已改正。") % {"row": row.row_no})
        else:
            messages.warning(
                request, _("第%(row)s行已保存，还有问题需要改正。") % {"row": row.row_no}
            )
    back = request.POST.get("back", "")
    url = reverse("rosters:teachers_rows", kwargs={"teachers_upload_id": upload.pk})
    if back.startswith("state="):
        url += "?" + back
    return redirect(f"{url}#row-{row.pk}")
