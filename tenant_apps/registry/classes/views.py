"""The 人籍一致 confirmation posted from the class teacher's list of pupils (本班学生)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.roles import Right
from common.exceptions import ApplicationError
from common.views import right_required
from tenant_apps.registry.classes.roster import MSG_CONFIRMED, roster_confirm, roster_term


@right_required(Right.REGISTRY_EDIT_OWN)
@require_POST
def roster_confirm_view(request: HttpRequest, class_id: int) -> HttpResponse:
    try:
        check = roster_confirm(
            user=request.user, class_id=class_id, note=request.POST.get("note", ""), request=request
        )
    except ApplicationError as exc:
        # A class that is not the teacher's is as unknown to them as a missing one.
        if exc.code in ("not_found", "forbidden"):
            raise Http404 from None
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            MSG_CONFIRMED.format(
                klass=check.school_class.name, term=roster_term().label, pupils=check.pupils
            ),
        )
    return redirect(f"{reverse('registry:student_list')}?class_id={class_id}#roster-{class_id}")
