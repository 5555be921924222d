"""The county's 合并重复学籍 page (issue 19 point 6): pick two records of the officer's
schools (the same school or two) by 全国学籍号 or 身份证件号, see them side by side
(masked; 显示完整信息 reveals, one read.reveal entry per record), choose per field which
value survives and whose family members, merge; the school's merges are listed with 撤销合并.

The work is registry.facade.merge's (inside the school); this page holds the transaction
and writes the bureau's audit entries before and after the merge in it.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.audit import READ_REVEAL, WRITE, audit_record
from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.bureau.selectors import access_school, access_schools
from tenant_apps.registry.facade import (
    MergePair,
    merge_across,
    merge_find,
    merge_pair,
    merge_undo,
    merges_list,
)
from tenants.models import School

MSG_NOT_FOUND = "在{school}未找到全国学籍号或身份证件号为“{key}”的学籍（{which}）。"


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def _school(request: HttpRequest, raw: str) -> School | None:
    if not raw.isdigit():
        return None
    return access_school(user=request.user, school_id=int(raw))  # type: ignore[arg-type]


def _find(school: School, key: str, which: str) -> uuid.UUID:
    found = merge_find(schema_name=school.schema_name, key=key)
    if found is None:
        raise ApplicationError(
            MSG_NOT_FOUND.format(school=school.name, key=key.strip(), which=which),
            code="not_found",
            extra={"a" if which == "保留记录" else "b": [_("未找到该学籍。")]},
        )
    return found


def _page(
    request: HttpRequest, *, error: str = "", field_errors: dict[str, Any] | None = None
) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    raw_school = source.get("school", "")
    school = _school(request, raw_school)
    if raw_school and school is None:
        raise Http404
    raw_school_b = source.get("school_b", "") or raw_school
    school_b = _school(request, raw_school_b)
    if raw_school_b and school_b is None:
        raise Http404
    a, b = source.get("a", "").strip(), source.get("b", "").strip()
    reveal = source.get("reveal") == "1"
    pair: MergePair | None = None
    if school is not None and school_b is not None and a and b and not error:
        try:
            pair = merge_pair(
                schema_name=school.schema_name,
                survivor_uuid=_find(school, a, "保留记录"),
                merged_uuid=_find(school_b, b, "并入记录"),
                reveal=reveal,
                merged_schema=school_b.schema_name,
            )
            if pair is None:
                raise ApplicationError(_("请选择两条不同的学籍记录。"), code="invalid")
        except ApplicationError as exc:
            error, field_errors = exc.message, exc.extra
    if pair is not None and reveal:
        # A reveal that cannot be recorded does not happen (audit_record raises).
        for side, where in ((pair.survivor, school), (pair.merged, school_b)):
            audit_record(
                request=request,
                action=READ_REVEAL,
                object_type="student",
                object_id=str(side.student_uuid),
                school=where.schema_name if where else None,
            )
    merges = merges_list(schema_name=school.schema_name) if school is not None else []
    query = urlencode({"school": raw_school, "school_b": raw_school_b, "a": a, "b": b})
    return render(
        request,
        "bureau/merge.html",
        {
            "schools": access_schools(user=request.user).order_by("code"),  # type: ignore[arg-type]
            "school": school,
            "school_b": school_b,
            "a": a,
            "b": b,
            "reveal": reveal,
            "pair": pair,
            "query": query,
            "swap_query": urlencode(
                {"school": raw_school_b, "school_b": raw_school, "a": b, "b": a}
            ),
            "merges": merges,
            "error": error,
            "field_errors": field_errors or {},
        },
        status=400 if error and request.method == "POST" else 200,
    )


def _merge(request: HttpRequest, school: School, school_b: School) -> HttpResponse:
    survivor = _uuid(request.POST.get("survivor", ""))
    merged = _uuid(request.POST.get("merged", ""))
    if survivor is None or merged is None:
        return _page(request, error=_("请先找到要合并的两条学籍记录。"))
    pair = merge_pair(
        schema_name=school.schema_name,
        survivor_uuid=survivor,
        merged_uuid=merged,
        reveal=False,
        merged_schema=school_b.schema_name,
    )
    if pair is None:
        return _page(request, error=_("未找到要合并的学籍记录，可能已被删除或合并。"))
    choices = {
        row.key: request.POST.get(f"choice_{row.key}", "survivor")
        for row in pair.rows
        if f"choice_{row.key}" in request.POST
    }
    family_from = request.POST.get("family_from", "survivor")
    reason = request.POST.get("reason", "").strip()
    summary = {
        "school": school.name,
        "merged_school": school_b.name,
        "survivor": pair.survivor.national_number,
        "merged": pair.merged.national_number,
    }
    try:
        with transaction.atomic():
            audit_record(
                request=request,
                action=WRITE,
                object_type="student_merge",
                object_id=str(survivor),
                object_repr=f"合并学籍（合并前）：{school.name}"[:200],
                before={
                    **summary,
                    "fields": {r.label: [r.survivor, r.merged] for r in pair.rows if r.differs},
                    "family": [list(pair.survivor.family), list(pair.merged.family)],
                },
                school=school.schema_name,
            )
            done = merge_across(
                survivor_school_id=school.pk,
                merged_school_id=school_b.pk,
                survivor_uuid=survivor,
                merged_uuid=merged,
                choices=choices,
                family_from=family_from,
                actor=Actor.of(request.user),
                reason=reason,
            )
            labels = {r.key: r.label for r in pair.rows}
            audit_record(
                request=request,
                action=WRITE,
                object_type="student_merge",
                object_id=str(survivor),
                object_repr=f"合并学籍（合并后）：{school.name}"[:200],
                after={
                    **summary,
                    "chosen_from_merged": [labels[k] for k, v in choices.items() if v == "merged"],
                    "family_from": "并入记录" if family_from == "merged" else "保留记录",
                    "moved": done.moved,
                    "set_aside": done.set_aside,
                },
                school=school.schema_name,
            )
    except ApplicationError as exc:
        return _page(request, error=exc.message, field_errors=exc.extra)
    messages.success(
        request,
        _("已合并：并入记录已成为指向保留记录的已合并记录，保留记录未再修改前可以撤销。"),
    )
    return redirect(f"{request.path}?{urlencode({'school': school.pk})}")


@right_required(Right.BUREAU_AUDIT)
@require_http_methods(["GET", "POST"])
def merge_view(request: HttpRequest) -> HttpResponse:
    """GET: find and compare the two records; POST: merge them (404 outside the officer's
    schools)."""
    if request.method == "POST":
        school = _school(request, request.POST.get("school", ""))
        school_b = _school(
            request, request.POST.get("school_b", "") or request.POST.get("school", "")
        )
        if school is None or school_b is None:
            raise Http404
        return _merge(request, school, school_b)
    return _page(request)


@right_required(Right.BUREAU_AUDIT)
@require_http_methods(["POST"])
def merge_undo_view(request: HttpRequest, school_id: int, merge_id: int) -> HttpResponse:
    """撤销合并: exactly what was there comes back, while the survivor is unchanged."""
    school = access_school(user=request.user, school_id=school_id)  # type: ignore[arg-type]
    if school is None:
        raise Http404
    back = f"{_reverse_page()}?{urlencode({'school': school.pk})}"
    try:
        with transaction.atomic():
            view = merge_undo(
                schema_name=school.schema_name, merge_id=merge_id, actor=Actor.of(request.user)
            )
            audit_record(
                request=request,
                action=WRITE,
                object_type="student_merge",
                object_id=str(view.survivor_uuid),
                object_repr=f"撤销合并学籍：{school.name}"[:200],
                after={"school": school.name, "merged": view.merged_number},
                school=school.schema_name,
            )
    except ApplicationError as exc:
        if exc.code == "not_found":
            raise Http404 from exc
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(request, _("已撤销合并，两条学籍已恢复为合并前的样子。"))
    return redirect(back)


def _reverse_page() -> str:
    from django.urls import reverse

    return reverse("bureau:merge")
