from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import LoginForm, PasswordChangeForm, SchoolUserForm
from accounts.middleware import SESSION_SCHEMA_KEY
from accounts.roles import Right, Role
from accounts.selectors import user_list
from accounts.services import password_change, user_create
from common.exceptions import ApplicationError
from common.views import right_required


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        auth_login(request, form.get_user())
        request.session[SESSION_SCHEMA_KEY] = connection.schema_name
        target = request.POST.get("next") or request.GET.get("next") or "/"
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = "/"
        return redirect(target)
    return render(request, "accounts/login.html", {"form": form, "tenant": request.tenant})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    return redirect("accounts:login")


@login_required
@require_http_methods(["GET", "POST"])
def password_change_view(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password_change(
                user=request.user,  # type: ignore[arg-type]
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            for name, errors in exc.extra.items():
                if name in form.fields:
                    for error in errors:
                        form.add_error(name, error)
        else:
            update_session_auth_hash(request, request.user)  # type: ignore[arg-type]
            messages.success(request, "密码已修改。")
            return redirect("home")
    return render(request, "accounts/password_change.html", {"form": form})


@right_required(Right.USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_list_view(request: HttpRequest) -> HttpResponse:
    if connection.schema_name == "public":
        return HttpResponseForbidden()
    form = SchoolUserForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = user_create(
                username=form.cleaned_data["username"],
                full_name=form.cleaned_data["full_name"],
                phone=form.cleaned_data["phone"],
                roles=form.cleaned_data["roles"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            form = SchoolUserForm()
    role_labels = dict(Role.choices)
    users = [
        {"user": u, "roles": "、".join(role_labels.get(g.name, g.name) for g in u.groups.all())}
        for u in user_list()
    ]
    return render(
        request, "accounts/user_list.html", {"form": form, "users": users, "created": created}
    )
