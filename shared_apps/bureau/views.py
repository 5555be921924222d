from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.audit import audit_describe
from accounts.roles import Right
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.bureau.forms import BureauCreateForm, SchoolCreateForm
from shared_apps.bureau.selectors import (
    KIND_EVIDENCE,
    QUEUE_KINDS,
    QueueFilter,
    access_school,
    access_schools,
    bureau_for,
    bureau_list,
    counties_under,
    county_audit_entries,
    county_queue,
    evidence_reviews,
)
from shared_apps.bureau.services import (
    AUDIT_PAGE_SIZE,
    EVIDENCE_PAGE_SIZE,
    bureau_open,
    county_decide,
    county_decide_start,
    county_evidence_open,
    county_queue_rows,
    county_registration_open,
    evidence_review_decide,
    school_open,
)
from shared_apps.jobs.links import job_followed
from tenants.models import School
from tenants.services import AdminInput, SchoolInput, school_set_status


def _apply_errors(form: object, exc: ApplicationError) -> None:
    if exc.extra:
        for name, errors in exc.extra.items():
            for error in errors:
                form.add_error(name if name in form.fields else None, error)  # type: ignore[attr-defined]
    else:
        form.add_error(None, exc.message)  # type: ignore[attr-defined]


def _county_choices(region: object) -> list[tuple[str, str]]:
    return [(c.code[:6], f"{c.name}（{c.code[:6]}）") for c in counties_under(region)]  # type: ignore[arg-type]


def _students(school: School) -> int:
    stats = getattr(school, "stats", None)
    return stats.students if stats else 0


@right_required(Right.BUREAU_SCHOOLS_VIEW)
def bureau_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    schools = list(access_schools(user=user).order_by("code"))  # type: ignore[arg-type]
    peak = max([_students(s) for s in schools] + [1])
    rows = [
        {
            "school": s,
            "students": _students(s),
            "width": round(100 * _students(s) / peak),
            "host": f"{s.slug}.{request.get_host()}",
        }
        for s in schools
    ]
    form = None
    if user.has_right(Right.BUREAU_SCHOOLS_MANAGE):  # type: ignore[union-attr]
        form = SchoolCreateForm(counties=_county_choices(user.region))  # type: ignore[union-attr]
    context = {
        "form": form,
        "bureau": bureau_for(user),  # type: ignore[arg-type]
        "rows": rows,
        "total_students": sum(r["students"] for r in rows),  # type: ignore[misc]
        "active_count": sum(1 for s in schools if s.status == School.Status.ACTIVE),
    }
    return render(request, "bureau/home.html", context)


@right_required(Right.BUREAU_SCHOOLS_MANAGE)
@require_http_methods(["GET", "POST"])
def school_create_view(request: HttpRequest) -> HttpResponse:
    form = SchoolCreateForm(request.POST or None, counties=_county_choices(request.user.region))  # type: ignore[union-attr]
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            opened = school_open(
                data=SchoolInput(
                    name=d["name"],
                    code=d["code"],
                    slug=d["slug"],
                    county_code=d["county_code"],
                    stages=d["stages"],
                    address=d["address"],
                    principal=d["principal"],
                    phone=d["phone"],
                ),
                admin=AdminInput(username=d["admin_username"], full_name=d["admin_full_name"]),
                acting_user=request.user,  # type: ignore[arg-type]
            )
        except ApplicationError as exc:
            _apply_errors(form, exc)
        else:
            # Post/redirect/get: a refresh re-reads the page instead of re-sending the form
            # (which would be refused as a duplicate and lose the password). The password
            # waits in the session only until that page has shown it once.
            request.session[OPENED_KEY.format(school_id=opened.school.school_id)] = {
                "name": d["name"],
                "host": opened.school.host,
                "admin_username": opened.school.admin_username or "",
                "job_id": opened.job_id,
                "password": opened.school.admin_initial_password or "",
            }
            return redirect("bureau:school_opened", school_id=opened.school.school_id)
    return render(request, "bureau/school_create.html", {"form": form})


OPENED_KEY = "bureau.school_opened.{school_id}"


@right_required(Right.BUREAU_SCHOOLS_MANAGE)
@require_http_methods(["GET"])
def school_opened_view(request: HttpRequest, school_id: int) -> HttpResponse:
    """The confirmation after opening a school: the one-time admin password on the first
    view only; later views (a refresh) say it was shown and how to have it reset."""
    school = access_school(user=request.user, school_id=school_id)  # type: ignore[arg-type]
    key = OPENED_KEY.format(school_id=school_id)
    opened = request.session.get(key)
    if school is None or opened is None:
        raise Http404
    password = opened.pop("password", "")
    if password:
        request.session[key] = opened  # the rest stays for the progress bar on a refresh
    return render(
        request,
        "bureau/school_created.html",
        {"school": school, "opened": opened, "password": password},
    )


@right_required(Right.BUREAU_SCHOOLS_VIEW)
def school_detail_view(request: HttpRequest, school_id: int) -> HttpResponse:
    school = access_school(user=request.user, school_id=school_id)  # type: ignore[arg-type]
    if school is None:
        raise Http404
    return render(request, "bureau/school_detail.html", {"school": school})


@right_required(Right.BUREAU_SCHOOLS_MANAGE)
@require_POST
def school_status_view(request: HttpRequest, school_id: int) -> HttpResponse:
    if access_school(user=request.user, school_id=school_id) is None:  # type: ignore[arg-type]
        raise Http404
    status = request.POST.get("status", "")
    try:
        school_set_status(school_id=school_id, status=status, scope=request.user.region)  # type: ignore[union-attr]
    except ApplicationError as exc:
        raise Http404 from exc
    return redirect("bureau:school_detail", school_id=school_id)


@right_required(Right.STATS_VIEW)
def stats_view(request: HttpRequest) -> HttpResponse:
    schools = access_schools(user=request.user)  # type: ignore[arg-type]
    by_county: dict[str, dict[str, int | str]] = {}
    for s in schools:
        entry = by_county.setdefault(
            s.county_id or "",
            {"name": s.county.name if s.county else "", "schools": 0, "students": 0},
        )
        entry["schools"] = int(entry["schools"]) + 1
        entry["students"] = int(entry["students"]) + getattr(
            getattr(s, "stats", None), "students", 0
        )
    return render(
        request,
        "bureau/stats.html",
        {"counties": sorted(by_county.values(), key=lambda e: str(e["name"]))},
    )


@right_required(Right.PLATFORM_BUREAUS_MANAGE)
@require_http_methods(["GET", "POST"])
def bureau_list_view(request: HttpRequest) -> HttpResponse:
    form = BureauCreateForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = bureau_open(**form.cleaned_data)
        except ApplicationError as exc:
            _apply_errors(form, exc)
        else:
            form = BureauCreateForm()
    return render(
        request,
        "bureau/bureau_list.html",
        {"form": form, "bureaus": bureau_list(), "created": created},
    )


# -- 学籍审核 and 佐证审核 (county level) ------------------------------------------------


def _audit_items(values: list[str]) -> list[tuple[int, str]]:
    """Checked rows as (school_id, student_uuid); county_decide checks each school
    against the officer's region and looks the students up inside that school."""
    items = []
    for value in values:
        school_id, _sep, student_uuid = value.partition(":")
        try:
            items.append((int(school_id), str(uuid.UUID(student_uuid))))
        except ValueError:
            continue
    return items


def _school_filter(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _audit_students(
    request: HttpRequest, items: list[tuple[int, str]], *, approve: bool, reason: str
) -> None:
    """The log entry of a batch decision names its students by school and count (the
    URL names no object)."""
    counts: dict[int, int] = {}
    for school_id, _student in items:
        counts[school_id] = counts.get(school_id, 0) + 1
    names = dict(
        access_schools(user=request.user)  # type: ignore[arg-type]
        .filter(pk__in=counts)
        .values_list("pk", "name")
    )
    audit_describe(
        request,
        object_type="student",
        object_repr="、".join(f"{names.get(k, '')} {n} 名学生" for k, n in counts.items()),
        after={"decision": "教育局审核通过" if approve else "教育局审核退回", "reason": reason},
    )


def _reason_and_decision(request: HttpRequest) -> tuple[bool, str]:
    return request.POST.get("decision") == "approve", request.POST.get("reason", "").strip()[:300]


def _audit_post(
    request: HttpRequest,
) -> tuple[HttpResponse | None, dict[str, str]]:
    """The queue's batch decision: the checked registrations in one transaction, or
    全选符合条件的 N 名 (the filter, never ids) as a background job. Only registrations
    are decided in a batch; a 佐证 is opened and decided alone."""
    items = _audit_items(request.POST.getlist("items"))
    approve, reason = _reason_and_decision(request)
    all_matching = request.POST.get("all_matching") == "1"
    failed = {"error": "", "reason_error": "", "reason": reason}
    if not items and not all_matching:
        failed["error"] = _("请先勾选要审核的学生。")
        return None, failed
    posted = QueueFilter.of(request.POST)
    try:
        if all_matching:
            started = county_decide_start(
                user=request.user,  # type: ignore[arg-type]
                school_id=posted.school_id,
                min_days=posted.min_days,
                approve=approve,
                reason=reason,
            )
        else:
            n = county_decide(
                user=request.user,  # type: ignore[arg-type]
                items=items,
                approve=approve,
                reason=reason,
            )
    except ApplicationError as exc:
        failed["error"] = exc.message
        failed["reason_error"] = " ".join(exc.extra.get("reason", []))
        return None, failed
    if all_matching:
        audit_describe(
            request,
            object_type="student",
            object_repr=f"符合条件的 {started.matching} 名学生",
            after={"decision": "教育局审核通过" if approve else "教育局审核退回", "reason": reason},
        )
        messages.info(
            request,
            _("正在处理符合条件的 %(n)s 名学生，进度见下方。") % {"n": started.matching},
        )
        back = urlencode(posted.query() | {"job": started.job_id})
        return redirect(reverse("bureau:audit") + "?" + back), failed
    _audit_students(request, items, approve=approve, reason=reason)
    if approve:
        text = _("已审核通过 %(n)s 名学生，学籍已注册，国家校验通过后分配正式学籍号。")
    else:
        text = _("已退回 %(n)s 名学生，学校修改后可重新提交。")
    messages.success(request, text % {"n": n})
    return redirect(request.get_full_path()), failed


@right_required(Right.BUREAU_AUDIT)
@require_http_methods(["GET", "POST"])
def audit_view(request: HttpRequest) -> HttpResponse:
    """学籍审核: everything waiting for the county (registrations and 佐证), oldest first,
    paged through all of it, filtered by school, waiting days and kind; masked until an
    item is opened (audit_registration_view, evidence_detail_view)."""
    flt = QueueFilter.of(request.GET)
    failed = {"error": "", "reason_error": "", "reason": ""}
    if request.method == "POST":
        response, failed = _audit_post(request)
        if response is not None:
            return response
    queue = county_queue(user=request.user, flt=flt)  # type: ignore[arg-type]
    page = Paginator(queue, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = county_queue_rows(user=request.user, rows=list(page.object_list))  # type: ignore[arg-type]
    # 全选符合条件的 N 名 covers the registrations only (a 佐证 is decided alone).
    batchable = 0
    if flt.kind != KIND_EVIDENCE:
        batchable = county_audit_entries(
            user=request.user,  # type: ignore[arg-type]
            school_id=flt.school_id,
            min_days=flt.min_days,
        ).count()
    return render(
        request,
        "bureau/audit_students.html",
        {
            "rows": rows,
            "page": page,
            "query": urlencode(flt.query()),
            "filters": flt,
            "kinds": QUEUE_KINDS,
            "wait_choices": WAIT_CHOICES,
            "batchable": batchable,
            "job": job_followed(request),
            "schools": access_schools(user=request.user).order_by("code"),  # type: ignore[arg-type]
            **failed,
        },
    )


# "waited at least" choices of the queue's filter (any whole number works in the URL).
WAIT_CHOICES = (3, 7, 10, 30)


@right_required(Right.BUREAU_AUDIT)
@require_http_methods(["GET", "POST"])
def audit_registration_view(
    request: HttpRequest, school_id: int, student_id: uuid.UUID
) -> HttpResponse:
    """One registration opened: the record with its real values (one read.reveal entry
    per opening) and the decision on this student alone."""
    error, reason_error, reason = "", "", ""
    if request.method == "POST":
        approve, reason = _reason_and_decision(request)
        try:
            county_decide(
                user=request.user,  # type: ignore[arg-type]
                items=[(school_id, str(student_id))],
                approve=approve,
                reason=reason,
            )
        except ApplicationError as exc:
            if exc.code == "not_found":
                raise Http404 from exc
            error = exc.message
            reason_error = " ".join(exc.extra.get("reason", []))
        else:
            if approve:
                messages.success(
                    request, _("已审核通过，学籍已注册，国家校验通过后分配正式学籍号。")
                )
            else:
                messages.success(request, _("已退回，学校修改后可重新提交。"))
            return redirect("bureau:audit")
    opened = county_registration_open(
        request=request,
        user=request.user,  # type: ignore[arg-type]
        school_id=school_id,
        student_uuid=student_id,
    )
    if opened is None:
        raise Http404
    return render(
        request,
        "bureau/audit_record.html",
        {
            "opened": opened,
            "record": opened.record,
            "error": error,
            "reason_error": reason_error,
            "reason": reason,
        },
    )


@right_required(Right.BUREAU_AUDIT)
@require_http_methods(["GET", "POST"])
def evidence_view(request: HttpRequest) -> HttpResponse:
    """佐证审核: the pending 佐证 of the user's schools, oldest first, masked; each is
    opened and decided alone (evidence_detail_view). A POST here (the decision form of
    an older page) is decided as on the item's page."""
    if request.method == "POST":
        raw_id = request.POST.get("review_id", "")
        if not raw_id.isdigit():
            messages.error(request, _("未找到待审核的佐证。"))
            return redirect("bureau:evidence")
        return _evidence_decide(request, int(raw_id))
    flt = QueueFilter.of(request.GET)
    reviews = evidence_reviews(user=request.user, flt=flt)  # type: ignore[arg-type]
    page = Paginator(reviews, EVIDENCE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = county_queue_rows(
        user=request.user,  # type: ignore[arg-type]
        rows=[
            (KIND_EVIDENCE, r.school_id, r.pk, r.student_uuid, r.submitted_at)
            for r in page.object_list
        ],
    )
    return render(
        request,
        "bureau/audit_evidence.html",
        {
            "rows": rows,
            "page": page,
            "query": urlencode(flt.query()),
            "filters": flt,
            "wait_choices": WAIT_CHOICES,
            "schools": access_schools(user=request.user).order_by("code"),  # type: ignore[arg-type]
        },
    )


def _evidence_decide(request: HttpRequest, review_id: int) -> HttpResponse:
    accept = request.POST.get("decision") == "accept"
    reason = request.POST.get("reason", "").strip()[:300]
    try:
        evidence_review_decide(
            user=request.user,  # type: ignore[arg-type]
            review_id=review_id,
            accept=accept,
            reason=reason,
        )
    except ApplicationError as exc:
        if exc.code == "not_found":
            raise Http404 from exc
        messages.error(request, exc.message)
        return redirect("bureau:evidence_detail", review_id=review_id)
    audit_describe(
        request,
        object_type="evidence_review",
        object_id=review_id,
        after={"decision": "佐证通过" if accept else "佐证不通过", "reason": reason},
    )
    messages.success(
        request,
        _("佐证已通过，该问题学籍已解决。") if accept else _("已判定佐证不通过，学校将重新处理。"),
    )
    return redirect("bureau:evidence")


@right_required(Right.BUREAU_AUDIT)
@require_http_methods(["GET", "POST"])
def evidence_detail_view(request: HttpRequest, review_id: int) -> HttpResponse:
    """One 佐证 opened: the file, the school's note and the student's real values (one
    read.reveal entry per opening), and the decision on it alone."""
    if request.method == "POST":
        return _evidence_decide(request, review_id)
    opened = county_evidence_open(
        request=request,
        user=request.user,  # type: ignore[arg-type]
        review_id=review_id,
    )
    if opened is None:
        raise Http404
    return render(
        request,
        "bureau/evidence_record.html",
        {"opened": opened, "record": opened.evidence.record, "evidence": opened.evidence},
    )
