from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from shared_apps.jobs.selectors import job_list_for


@login_required
def job_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "jobs/list.html", {"jobs": job_list_for(user_id=request.user.pk)[:50]})  # type: ignore[arg-type]
