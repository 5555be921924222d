"""招生比对: the county publishes its admitted lists and reads the diff of every school,
drills into one school (masked) and grants or revokes an exception for one pupil.
Thin: bureau.admissions does the work."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.audit import READ_EXPORT, audit_record
from accounts.roles import Right
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.bureau import admissions
from shared_apps.bureau.selectors import access_schools
from tenant_apps.rosters import facade as rosters

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
SUMMARY_HEADERS = (
    "学校",
    "录取人数",
    "学籍人数",
    "仅在学籍",
    "仅在录取名单",
    "关键字段不一致",
    "县教育局例外",
    "名单发布时间",
)


def _intake(source: Any) -> tuple[str, int]:
    stage = source.get("stage", "")
    if stage not in rosters.STAGE_LABELS:
        stage = "primary"
    try:
        year = rosters.intake_check(stage, source.get("year", ""))
    except ApplicationError:  # no year asked for (or a bad one): this autumn's intake
        year = rosters.default_intake_year()
    return stage, year


def _flash(request: HttpRequest, exc: ApplicationError) -> None:
    details = [m for msgs in exc.extra.values() for m in msgs if m != exc.message]
    messages.error(request, " ".join([exc.message, *details]))


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_GET
def admissions_view(request: HttpRequest) -> HttpResponse:
    stage, year = _intake(request.GET)
    lines = admissions.county_report(user=request.user, stage=stage, entry_year=year)  # type: ignore[arg-type]
    published = [line for line in lines if line.counts is not None]
    totals = {
        key: sum(getattr(line.counts, key) for line in published)
        for key in ("admitted", "only_registry", "only_listed", "mismatched", "excepted")
    }
    return render(
        request,
        "bureau/admissions.html",
        {
            "stage": stage,
            "year": year,
            "stages": rosters.STAGE_LABELS,
            "intake": rosters.intake_label(stage, year),
            "lines": lines,
            "published": len(published),
            "totals": totals,
            "schools": [(s.pk, s.name) for s in access_schools(user=request.user).order_by("code")],  # type: ignore[arg-type]
            "can_manage": request.user.has_right(Right.BUREAU_SCHOOLS_MANAGE),  # type: ignore[union-attr]
            "query": f"stage={stage}&year={year}",
        },
    )


@right_required(Right.BUREAU_SCHOOLS_MANAGE)
@require_POST
def admissions_upload_view(request: HttpRequest) -> HttpResponse:
    """Publish a list: one school's own file, or the county-wide file split per school."""
    stage, year = _intake(request.POST)
    back = f"{reverse('bureau:admissions')}?stage={stage}&year={year}"
    file = request.FILES.get("file")
    if file is None:
        messages.error(request, _("请选择录取名单文件。"))
        return redirect(back)
    if file.size and file.size > MAX_UPLOAD_BYTES:
        messages.error(request, _("文件超过20MB，请拆分后分批上传。"))
        return redirect(back)
    data, filename = file.read(), file.name or "upload"
    try:
        if request.POST.get("scope") == "school":
            try:
                school_id = int(request.POST.get("school", ""))
            except ValueError:
                raise ApplicationError(_("请选择学校。"), code="invalid") from None
            part = admissions.school_publish(
                user=request.user,  # type: ignore[arg-type]
                school_id=school_id,
                stage=stage,
                entry_year=year,
                filename=filename,
                data=data,
                request=request,
            )
            parts = [part]
        else:
            parts = admissions.county_publish(
                user=request.user,  # type: ignore[arg-type]
                stage=stage,
                entry_year=year,
                filename=filename,
                data=data,
                request=request,
            )
    except ApplicationError as exc:
        _flash(request, exc)
        return redirect(back)
    text = "；".join(
        _("%(school)s %(n)s人") % {"school": p.school_name, "n": p.admitted} for p in parts
    )
    messages.success(
        request,
        _("已发布%(intake)s录取名单：%(schools)s。")
        % {"intake": rosters.intake_label(stage, year), "schools": text},
    )
    return redirect(back)


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_GET
def admissions_export_view(request: HttpRequest) -> HttpResponse:
    """The county's table and every school's differences (masked), audited."""
    stage, year = _intake(request.GET)
    user = request.user
    lines = admissions.county_report(user=user, stage=stage, entry_year=year)  # type: ignore[arg-type]
    summary: list[list[object]] = []
    diffs = []
    for line in lines:
        c = line.counts
        if c is None:
            summary.append([line.school_name, "未发布", "", "", "", "", "", ""])
            continue
        summary.append(
            [
                line.school_name,
                c.admitted,
                c.registry,
                c.only_registry,
                c.only_listed,
                c.mismatched,
                c.excepted,
                f"{c.published_at:%Y-%m-%d %H:%M}",
            ]
        )
        found = admissions.school_report(
            user=user,  # type: ignore[arg-type]
            school_id=line.school_id,
            stage=stage,
            entry_year=year,
        )
        if found is not None and found[1] is not None:
            diffs.append((line.school_name, found[1]))
    data = rosters.diff_workbook(diffs=diffs, summary=summary, summary_headers=SUMMARY_HEADERS)
    intake = rosters.intake_label(stage, year)
    audit_record(
        request=request,
        action=READ_EXPORT,
        object_type="admissions",
        object_id=f"{stage}:{year}",
        object_repr=f"招生比对：{intake}，{len(diffs)}所学校",
        after={"schools": len(diffs)},
    )
    response = HttpResponse(data, content_type=rosters.XLSX)
    name = f"招生比对_{intake}.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"admissions.xlsx\"; filename*=UTF-8''{quote(name)}"
    )
    return response


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_GET
def admissions_school_view(request: HttpRequest, school_id: int) -> HttpResponse:
    stage, year = _intake(request.GET)
    found = admissions.school_report(
        user=request.user,  # type: ignore[arg-type]
        school_id=school_id,
        stage=stage,
        entry_year=year,
    )
    if found is None:
        raise Http404
    school, diff, overrides = found
    return render(
        request,
        "bureau/admissions_school.html",
        {
            "school": school,
            "stage": stage,
            "year": year,
            "intake": rosters.intake_label(stage, year),
            "diff": diff,
            "overrides": overrides,
            "can_manage": request.user.has_right(Right.BUREAU_SCHOOLS_MANAGE),  # type: ignore[union-attr]
            "query": f"stage={stage}&year={year}",
        },
    )


def _birth(text: str) -> dt.date | None:
    text = text.strip().replace("/", "-")
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a date only
        except ValueError:
            continue
    return None


@right_required(Right.BUREAU_SCHOOLS_MANAGE)
@require_POST
def admissions_override_view(request: HttpRequest, school_id: int) -> HttpResponse:
    stage, year = _intake(request.POST)
    back = reverse("bureau:admissions_school", kwargs={"school_id": school_id})
    back += f"?stage={stage}&year={year}"
    birth_text = request.POST.get("birth_date", "")
    birth = _birth(birth_text)
    try:
        if birth_text.strip() and birth is None:
            raise ApplicationError(_("出生日期应写成2019-09-01这样的格式。"), code="invalid")
        admissions.override_grant(
            user=request.user,  # type: ignore[arg-type]
            school_id=school_id,
            stage=stage,
            entry_year=year,
            name=request.POST.get("name", ""),
            sex=request.POST.get("sex", ""),
            birth_date=birth,
            id_number=request.POST.get("id_number", ""),
            reason=request.POST.get("reason", ""),
            request=request,
        )
    except ApplicationError as exc:
        if exc.code == "not_found":
            raise Http404 from exc
        _flash(request, exc)
    else:
        messages.success(request, _("已开具例外：该生可以不在录取名单中注册。"))
    return redirect(back)


@right_required(Right.BUREAU_SCHOOLS_MANAGE)
@require_POST
def admissions_revoke_view(request: HttpRequest, school_id: int, override_id: int) -> HttpResponse:
    stage, year = _intake(request.POST)
    back = reverse("bureau:admissions_school", kwargs={"school_id": school_id})
    back += f"?stage={stage}&year={year}"
    try:
        admissions.override_revoke(
            user=request.user,  # type: ignore[arg-type]
            school_id=school_id,
            override_id=override_id,
            reason=request.POST.get("reason", ""),
            request=request,
        )
    except ApplicationError as exc:
        if exc.code == "not_found":
            raise Http404 from exc
        _flash(request, exc)
    else:
        messages.success(request, _("已撤销该例外。"))
    return redirect(back)
