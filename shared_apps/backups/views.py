"""Backup pages. Bureau host: a bureau's schools (bureau.schools.manage, own region only)
or every school (platform operators): list, back up now, restore into the school or into
a new school for inspection. School host: the school's administrator lists the school's
backups and backs it up now; restoring is never done from a school's host."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.reauth import BACKUP_RESTORE, sensitive
from accounts.roles import Right
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.backups.selectors import backup_school, backup_schools, backups_of
from shared_apps.backups.services import backup_start, restore_start
from shared_apps.jobs.links import job_followed
from shared_apps.jobs.models import Job
from tenants.models import School

# Bureau staff who open and suspend schools, and platform operators (for every school).
BACKUP_RIGHTS = (Right.BUREAU_SCHOOLS_MANAGE, Right.PLATFORM_BUREAUS_MANAGE)
# On a school's host: its administrator.
SCHOOL_BACKUP_RIGHT = Right.SCHOOL_MANAGE


def who(request: HttpRequest) -> str:
    """How a backup records who asked: username@schema (the account's own schema)."""
    return f"{request.user.get_username()}@{connection.schema_name}"


def _with_job(url: str, job: Job) -> HttpResponse:
    return redirect(f"{url}?job={job.pk}")


def _school_or_404(request: HttpRequest, school_id: int) -> School:
    school = backup_school(user=request.user, school_id=school_id)  # type: ignore[arg-type]
    if school is None:
        raise Http404
    return school


# -- bureau host -----------------------------------------------------------------------


@right_required(BACKUP_RIGHTS)
@require_GET
def overview_view(request: HttpRequest) -> HttpResponse:
    schools = backup_schools(user=request.user)  # type: ignore[arg-type]
    return render(request, "backups/overview.html", {"schools": schools})


@right_required(BACKUP_RIGHTS)
@require_http_methods(["GET", "POST"])
def school_backups_view(request: HttpRequest, school_id: int) -> HttpResponse:
    school = _school_or_404(request, school_id)
    here = reverse("backups:school", kwargs={"school_id": school.pk})
    if request.method == "POST":
        if school.provisioning != School.Provisioning.READY:
            messages.error(request, _("该学校尚未开通完成，无法备份。"))
            return redirect(here)
        job = backup_start(school=school, user_id=request.user.pk, created_by=who(request))  # type: ignore[arg-type]
        return _with_job(here, job)
    return render(
        request,
        "backups/school.html",
        {
            "school": school,
            "backups": backups_of(school_id=school.pk),
            "job": job_followed(request),
            "can_restore": True,
        },
    )


@right_required(BACKUP_RIGHTS)
@require_POST
@sensitive(BACKUP_RESTORE)  # a restore overwrites a school: the password again first
def school_restore_view(request: HttpRequest, school_id: int) -> HttpResponse:
    school = _school_or_404(request, school_id)
    here = reverse("backups:school", kwargs={"school_id": school.pk})
    raw_id = request.POST.get("backup_id", "")
    try:
        job = restore_start(
            school=school,
            backup_id=int(raw_id) if raw_id.isdigit() else 0,
            target=request.POST.get("target", ""),
            user_id=request.user.pk,  # type: ignore[arg-type]
            confirm_code=request.POST.get("confirm_code", ""),
            new_code=request.POST.get("new_code", ""),
            new_slug=request.POST.get("new_slug", ""),
            new_name=request.POST.get("new_name", ""),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(here)
    return _with_job(here, job)


# -- school host -----------------------------------------------------------------------


@right_required(SCHOOL_BACKUP_RIGHT)
@require_http_methods(["GET", "POST"])
def own_backups_view(request: HttpRequest) -> HttpResponse:
    school: Any = request.tenant  # type: ignore[attr-defined]
    here = reverse("backups:own")
    if request.method == "POST":
        job = backup_start(school=school, user_id=request.user.pk, created_by=who(request))  # type: ignore[arg-type]
        return _with_job(here, job)
    return render(
        request,
        "backups/school.html",
        {
            "school": school,
            "backups": backups_of(school_id=school.pk),
            "job": job_followed(request),
            "can_restore": False,
        },
    )
