"""The students' pages of a school: home and statistics, the list (with export and
submission), a student's detail, create and edit, and the school's 学籍审核. The 问题学籍 pages
are in problems.views, the 批量导入 pages in imports.views."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.reauth import STUDENT_EXPORT, sensitive
from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.jobs.links import job_followed
from tenant_apps.registry.classes.selectors import class_list, listable_class_ids
from tenant_apps.registry.fields import COLUMNS
from tenant_apps.registry.keydata.services import key_fields
from tenant_apps.registry.models import Student
from tenant_apps.registry.policy import rules as policy
from tenant_apps.registry.students import approval, bulk, services
from tenant_apps.registry.students.forms import (
    StudentForm,
    history_rows,
    national_number_display,
    student_raw,
    student_sections,
)
from tenant_apps.registry.students.reveal import reveal_grant, shown
from tenant_apps.registry.students.selectors import registry_counts, student_get, student_list
from tenants.models import School


def _school(request: HttpRequest) -> School:
    return request.tenant  # type: ignore[attr-defined,no-any-return]


def _actor(request: HttpRequest) -> Actor:
    return Actor.of(request.user)


def _has(request: HttpRequest, right: str) -> bool:
    return bool(request.user.has_right(right))  # type: ignore[union-attr]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _ids(request: HttpRequest) -> list[int]:
    """Checked student rows (primary keys of this school's schema; the services look
    every one up in the current schema and refuse unknown ones)."""
    return sorted({int(v) for v in request.POST.getlist("ids") if v.isdigit()})


def _flash_error(request: HttpRequest, exc: ApplicationError) -> None:
    details = [m for msgs in exc.extra.values() for m in msgs if m != exc.message]
    messages.error(request, " ".join([exc.message, *details]))


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


# -- school home, classes, stats (unchanged pages) ------------------------------


def _listable_class_ids(request: HttpRequest) -> set[int]:
    return listable_class_ids(request.user)


def _pending_lines() -> list[tuple[str, int]]:
    """(label, count) of the records not yet registered, by registration state: shown
    apart from 在读, and only the states that have records."""
    from tenant_apps.registry import counts

    found = counts.lines_count(Student.objects.all())
    return [(line.label, found[line.key]) for line in counts.pending_lines() if found[line.key]]


@right_required(Right.SCHOOL_VIEW)
def school_home(request: HttpRequest) -> HttpResponse:
    classes = list(class_list())
    if not classes and _has(request, Right.SCHOOL_MANAGE):
        # A freshly opened school: its administrator starts from the set-up checklist.
        return redirect("school_admin:setup")
    by_stage: dict[str, list[object]] = {}
    for c in classes:
        by_stage.setdefault(c.get_stage_display(), []).append(c)
    return render(
        request,
        "registry/school_home.html",
        {
            "school": _school(request),
            "counts": registry_counts(),
            "pending_lines": _pending_lines(),
            "classes_by_stage": by_stage,
            "listable": _listable_class_ids(request),
        },
    )


@right_required(Right.STATS_VIEW)
def stats_view(request: HttpRequest) -> HttpResponse:
    rows = [
        {"name": c.name, "count": c.student_count}  # type: ignore[attr-defined]
        for c in class_list()
    ]
    peak = max([r["count"] for r in rows] + [1])
    for r in rows:
        r["width"] = round(100 * r["count"] / peak)
    return render(
        request,
        "registry/stats.html",
        {
            "counts": registry_counts(),
            "rows": rows,
            "schema": connection.schema_name,
        },
    )


# -- 学生名册 ---------------------------------------------------------------------------


VIEW_RIGHTS = (Right.REGISTRY_VIEW, Right.REGISTRY_VIEW_OWN)
EDIT_RIGHTS = (Right.REGISTRY_EDIT, Right.REGISTRY_EDIT_OWN)


def _photo_banner(request: HttpRequest) -> str:
    from django.utils import timezone

    from tenant_apps.registry.photos.selectors import deadline_banner

    if not _has(request, Right.PHOTOS_MANAGE):
        return ""
    return deadline_banner(today=timezone.localdate())


def _with_thumbnails(students: list[Student]) -> list[Student]:
    """Each student of the page with `photo_thumb`, the link to the current photo ("" if
    none): one query for the page. The list shows the national file scaled down by CSS
    (it is ≤ 60 KB already; a second, derived file would have to follow every copy)."""
    from tenant_apps.registry.photos.selectors import photo_urls

    urls = photo_urls(student_ids=[s.pk for s in students])
    for s in students:
        s.photo_thumb = urls.get(s.pk, "")  # type: ignore[attr-defined]
    return students


@right_required(VIEW_RIGHTS)
def student_list_view(request: HttpRequest) -> HttpResponse:
    p = request.GET
    scope = policy.student_scope(request.user)
    search = p.get("q", "").strip()
    class_id = _int(p.get("class_id") or p.get("class"))  # "class" kept for old links
    status = p.get("status", "") if p.get("status", "") in Student.Status.values else ""
    audit_state = p.get("audit_state", "")
    audit_state = audit_state if audit_state in Student.Audit.values else ""
    qs = student_list(
        search=search,
        class_id=class_id,
        status=status,
        audit_state=audit_state,
        class_ids=scope,
    )
    page = Paginator(qs, 30).get_page(p.get("page"))
    page.object_list = _with_thumbnails(list(page.object_list))
    classes = class_list() if scope is None else class_list().filter(pk__in=scope)
    filters = {"q": search, "class_id": class_id or "", "status": status}
    filters["audit_state"] = audit_state
    query = urlencode({k: v for k, v in filters.items() if v})
    can_edit = _has(request, Right.REGISTRY_EDIT)
    return render(
        request,
        "registry/student_list.html",
        {
            "page": page,
            "job": job_followed(request),
            "q": search,
            "classes": classes,
            "class_id": str(class_id or ""),
            "status": status,
            "audit_state": audit_state,
            "statuses": Student.Status.choices,
            "audit_states": Student.Audit.choices,
            "query": query,
            "can_edit": can_edit,
            "can_import": _has(request, Right.DATA_MANAGE),
            "can_export": _has(request, Right.REGISTRY_VIEW),  # the whole-school export
            "can_submit": can_edit and audit_state == Student.Audit.DRAFT,
            # 新生照片 due by 30 September: the school's photo staff see how many are left.
            "photo_banner": _photo_banner(request),
        },
    )


@right_required(Right.REGISTRY_VIEW)
@sensitive(STUDENT_EXPORT)  # before require_POST: a stale GET is sent to the password page too
@require_POST
def student_export_view(request: HttpRequest) -> HttpResponse:
    """导出Excel from the list: the file is made by a job whose progress the list shows;
    its result link opens the file (student_export_download_view)."""
    from tenant_apps.registry.students.exports import export_start

    p = request.POST
    status = p.get("status", "") if p.get("status", "") in Student.Status.values else ""
    audit_state = p.get("audit_state", "")
    audit_state = audit_state if audit_state in Student.Audit.values else ""
    filters = {
        "search": p.get("q", "").strip(),
        "class_id": _int(p.get("class_id")),
        "status": status,
        "audit_state": audit_state,
    }
    scope = policy.student_scope(request.user)
    job_id = export_start(
        request=request,
        filters=filters,
        full=p.get("full") == "1",
        class_ids=None if scope is None else sorted(scope),
    )
    query = {
        k: v
        for k, v in (
            ("q", filters["search"]),
            ("class_id", filters["class_id"] or ""),
            ("status", status),
            ("audit_state", audit_state),
        )
        if v
    }
    messages.info(request, _("正在导出，完成后点击“查看结果”下载。"))
    return redirect(reverse("registry:student_list") + "?" + urlencode({**query, "job": job_id}))


@right_required(Right.REGISTRY_VIEW)
def student_export_download_view(request: HttpRequest, token: str) -> HttpResponse:
    """The file of a finished export job, for the account that asked for it only."""
    from shared_apps.jobs.links import job_file_key
    from tenant_apps.registry.students.exports import EXPORT_LINK_SALT

    key = job_file_key(token=token, salt=EXPORT_LINK_SALT, user_id=request.user.pk)  # type: ignore[arg-type]
    if key is None:
        raise Http404
    return redirect(default_storage.url(key))


def _bulk_start(
    request: HttpRequest, action: str, reason: str = ""
) -> bulk.BulkStarted | ApplicationError:
    """全选符合条件的 N 名: the posted filter (never ids) goes to a background job."""
    try:
        return bulk.students_bulk_start(
            action=action,
            flt=bulk.StudentFilter.of(request.POST),
            reason=reason,
            actor=_actor(request),
            owner_id=request.user.pk,  # type: ignore[arg-type]
        )
    except ApplicationError as exc:
        return exc


@right_required(Right.REGISTRY_EDIT)
@require_POST
def student_submit_view(request: HttpRequest) -> HttpResponse:
    fallback = reverse("registry:student_list") + "?audit_state=draft"
    if request.POST.get("all_matching") == "1":
        started = _bulk_start(request, bulk.SUBMIT)
        if isinstance(started, ApplicationError):
            _flash_error(request, started)
            return redirect(_safe_next(request, fallback))
        messages.info(
            request, _("正在提交符合条件的 %(n)s 名学生，进度见下方。") % {"n": started.matching}
        )
        flt = bulk.StudentFilter.of(request.POST)
        query = flt.query(audit_state=Student.Audit.DRAFT, job=started.job_id)
        return redirect(reverse("registry:student_list") + "?" + query)
    ids = _ids(request)
    if not ids:
        messages.error(request, _("请先勾选要提交的学生。"))
        return redirect(_safe_next(request, fallback))
    try:
        n = approval.students_submit(student_ids=ids, actor=_actor(request))
    except ApplicationError as exc:
        _flash_error(request, exc)
    else:
        messages.success(request, _("已提交 %(n)s 名学生，等待学校审核。") % {"n": n})
    return redirect(_safe_next(request, fallback))


# -- 学生详情 ---------------------------------------------------------------------------


def _student_or_404(student_id: object) -> Student:
    student = student_get(identifier=str(student_id))
    if student is None:
        raise Http404
    return student


def _visible_student_or_404(request: HttpRequest, student_id: object) -> Student:
    """A student of a class the user may see (class scope); others are not found."""
    student = _student_or_404(student_id)
    if not policy.in_scope(policy.student_scope(request.user), student.school_class_id):
        raise Http404
    return student


def _can_edit(request: HttpRequest, student: Student) -> bool:
    return student.audit_state in services.EDITABLE_STATES and policy.in_scope(
        policy.student_write_scope(request.user), student.school_class_id
    )


def _detail(request: HttpRequest, student: Student, *, reveal: bool) -> HttpResponse:
    from tenant_apps.registry.photos import selectors as photos

    snapshot = services.student_snapshot(student)
    open_states = {"open", "evidence_pending"}
    can_photo = _has(request, Right.PHOTOS_MANAGE)
    return render(
        request,
        "registry/student_detail.html",
        {
            "student": student,
            "reveal": reveal,
            "sections": student_sections(student, snapshot, reveal=reveal),
            "id_number": shown("id_number", student.id_number, reveal=reveal),
            "national_number": national_number_display(student.national_number, reveal=reveal),
            "problems": [pr for pr in student.problems.all() if pr.state in open_states],
            "history": history_rows(student, reveal=reveal),
            "can_edit": _can_edit(request, student),
            # A tombstone of a merge links its survivor when that is in this school too.
            "merged_here": student.merged_into is not None
            and Student.objects.filter(identifier=student.merged_into).exists(),
            # 转出到省外 is the whole-school 维护学籍 right, not a class teacher's.
            "can_transfer_out": _has(request, Right.REGISTRY_EDIT),
            # Whoever sees the record sees the photo (a class teacher their own pupils');
            # only 照片采集 uploads or changes it (policy.PHOTO_FIELDS).
            "photo_url": photos.photo_url(photos.photo_current(student_id=student.pk)),
            "can_photo": can_photo,
            "photo_pending": photos.photos_pending().filter(student_id=student.pk).last()
            if can_photo
            else None,
        },
    )


@right_required(VIEW_RIGHTS)
def student_detail_view(request: HttpRequest, student_id: object) -> HttpResponse:
    return _detail(request, _visible_student_or_404(request, student_id), reveal=False)


@right_required(VIEW_RIGHTS)
@require_POST
@never_cache
def student_reveal_view(request: HttpRequest, student_id: object) -> HttpResponse:
    """显示完整号码: the same page with the ID numbers in full (not cached), by the rule
    the API's ?reveal=1 follows too (registry.students.reveal), audited as read.reveal."""
    student = _visible_student_or_404(request, student_id)
    return _detail(request, student, reveal=reveal_grant(request, student, asked=True))


# -- 新增 / 修改 ------------------------------------------------------------------------


def _saved(request: HttpRequest, student: Student, created: bool) -> None:
    if student.audit_state == Student.Audit.PROBLEM:
        messages.warning(request, _("已保存，但与其他学籍疑似重复，已转入问题学籍等待处理。"))
    elif created:
        messages.success(request, _("已新增学生“%(name)s”。") % {"name": student.name})
    else:
        messages.success(request, _("已保存“%(name)s”的修改。") % {"name": student.name})


def _with_grade(raw: dict[str, str], classes: list[Any]) -> dict[str, str]:
    """An empty 年级 follows the chosen class (小学2024级), as the help text says."""
    if not raw.get("grade"):
        klass = next((c for c in classes if c.class_no == raw.get("class_no")), None)
        if klass is not None:
            raw["grade"] = klass.grade_name
    return raw


@right_required(Right.REGISTRY_EDIT)
@require_http_methods(["GET", "POST"])
def student_create_view(request: HttpRequest) -> HttpResponse:
    classes = list(class_list())
    form = StudentForm(request.POST or None, classes=classes)
    if request.method == "POST" and form.is_valid():
        try:
            student = services.student_register(
                raw=_with_grade(form.raw(), classes), actor=_actor(request)
            )
        except ApplicationError as exc:
            form.apply_errors(exc.extra, exc.message)
        else:
            _saved(request, student, created=True)
            return redirect("registry:student_detail", student_id=student.identifier)
    return render(
        request, "registry/student_form.html", {"form": form, "student": None, "classes": classes}
    )


@right_required(EDIT_RIGHTS)
@require_http_methods(["GET", "POST"])
def student_edit_view(request: HttpRequest, student_id: object) -> HttpResponse:
    student = _visible_student_or_404(request, student_id)
    if not policy.in_scope(policy.student_write_scope(request.user), student.school_class_id):
        return render(request, "403.html", status=403)
    # Class teachers edit only the fields the school opened for the grade (系统设置).
    editable = policy.editable_fields(request.user, student.school_class)
    locked = set() if editable is None else {c.key for c in COLUMNS} - editable
    back_to_problems = request.GET.get("from") == "problems"
    if student.audit_state not in services.EDITABLE_STATES:
        messages.error(
            request,
            _("该学生当前为“%(state)s”，审核结束前不能修改。")
            % {"state": student.get_audit_state_display()},
        )
        return redirect("registry:student_detail", student_id=student.identifier)
    classes = list(class_list())
    initial = student_raw(student, services.student_snapshot(student))
    form = StudentForm(
        request.POST or None,
        initial=initial,
        classes=classes,
        locked=locked,
        class_fixed=student.audit_state == Student.Audit.REGISTERED,
        key_fixed=key_fields() if student.audit_state == Student.Audit.REGISTERED else (),
    )
    if request.method == "POST" and form.is_valid():
        try:
            updated = services.student_update(
                student_id=student.pk,
                raw=_with_grade(form.raw(), classes),
                actor=_actor(request),
                editable=editable,
            )
        except ApplicationError as exc:
            form.apply_errors(exc.extra, exc.message)
        else:
            _saved(request, updated, created=False)
            if back_to_problems:
                return redirect(reverse("registry:problems") + "#student-" + str(student.pk))
            return redirect("registry:student_detail", student_id=updated.identifier)
    return render(
        request,
        "registry/student_form.html",
        {"form": form, "student": student, "back_to_problems": back_to_problems},
    )


# -- 学籍审核（学校） --------------------------------------------------------------------


@right_required(Right.REGISTRY_APPROVE)
@require_http_methods(["GET", "POST"])
def audit_view(request: HttpRequest) -> HttpResponse:
    error, reason_error, reason = "", "", ""
    flt = bulk.StudentFilter.of(request.GET)
    if request.method == "POST":
        ids = _ids(request)
        approve = request.POST.get("decision") == "approve"
        reason = request.POST.get("reason", "").strip()[:300]
        if request.POST.get("all_matching") == "1":
            started = _bulk_start(request, bulk.APPROVE if approve else bulk.RETURN, reason)
            if isinstance(started, ApplicationError):
                error = started.message
                reason_error = " ".join(started.extra.get("reason", []))
            else:
                messages.info(
                    request,
                    _("正在处理符合条件的 %(n)s 名学生，进度见下方。") % {"n": started.matching},
                )
                query = bulk.StudentFilter.of(request.POST).query(job=started.job_id)
                return redirect(reverse("registry:audit") + "?" + query)
        elif not ids:
            error = _("请先勾选要审核的学生。")
        else:
            try:
                n = approval.students_school_decide(
                    student_ids=ids, approve=approve, reason=reason, actor=_actor(request)
                )
            except ApplicationError as exc:
                error = exc.message
                reason_error = " ".join(exc.extra.get("reason", []))
            else:
                if approve:
                    text = _("已审核通过 %(n)s 名学生，已报送教育局审核。")
                else:
                    text = _("已退回 %(n)s 名学生，学籍管理员修改后可重新提交。")
                messages.success(request, text % {"n": n})
                return redirect(reverse("registry:audit") + "?" + flt.query())
    pending = student_list(
        search=flt.search,
        class_id=flt.class_id,
        status=flt.status,
        audit_state=Student.Audit.SCHOOL_PENDING,
    )
    page = Paginator(pending, 100).get_page(request.GET.get("page"))
    me = request.user.username
    return render(
        request,
        "registry/audit.html",
        {
            "page": page,
            "drafts": student_list(audit_state=Student.Audit.DRAFT).count(),
            "error": error,
            "reason_error": reason_error,
            "reason": reason,
            "me": me,
            "flt": flt,
            "query": flt.query(),
            "classes": class_list(),
            "class_id": str(flt.class_id or ""),
            # 全选符合条件的 N 名: the approver's own submissions are never among them.
            "matching": bulk.students_matching(
                action=bulk.APPROVE, flt=flt, actor_username=me
            ).count(),
            "job": job_followed(request),
        },
    )
