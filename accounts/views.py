from __future__ import annotations

import time
from typing import Any

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import totp
from accounts.devices import device_remember
from accounts.forms import (
    LoginForm,
    PasswordChangeForm,
    ReauthForm,
    SchoolUserForm,
    TotpCodeForm,
    TotpDisableForm,
)
from accounts.login import (
    LoginStatus,
    locked_until,
    login_attempt,
    login_second_factor,
    password_change,
    password_confirm,
)
from accounts.middleware import ACTIVITY_KEY, LOGIN_AT_KEY, SESSION_SCHEMA_KEY, session_close
from accounts.models import User
from accounts.reauth import PASSWORD_RESET, reauth_mark, sensitive
from accounts.roles import Right, Role
from accounts.selectors import public_user_list, user_list, user_session_list, user_token_list
from accounts.services import (
    public_user_get,
    totp_available,
    totp_disable,
    totp_enable,
    user_create,
    user_password_reset,
    user_set_active,
    user_unlock,
)
from accounts.sessions import (
    api_token_revoke,
    client_ip,
    user_session_end,
    user_session_record,
    user_session_rekey,
    user_sessions_end,
    user_sessions_prune,
)
from common.exceptions import ApplicationError
from common.views import right_required

# A sign-in whose password was right and that waits for the 6-digit code.
PENDING_LOGIN_KEY = "_pending_login"
PENDING_LOGIN_SECONDS = 300
TOTP_SETUP_KEY = "_totp_setup"


def _safe_next(request: HttpRequest, target: str | None, default: str = "/") -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def session_open(request: HttpRequest, user: User, backend: str | None = None) -> None:
    """Sign `user` in: bind the session to this schema, start the idle and re-entry
    clocks and list the session under "我的登录"."""
    auth_login(request, user, backend=backend)
    now = int(time.time())
    request.session[SESSION_SCHEMA_KEY] = connection.schema_name
    request.session[ACTIVITY_KEY] = now
    request.session[LOGIN_AT_KEY] = now
    reauth_mark(request)
    if request.session.session_key is None:
        request.session.save()
    user_session_record(
        user=user,
        session_key=str(request.session.session_key),
        ip=client_ip(request.META),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


def password_changed_keep_session(request: HttpRequest) -> None:
    """After a password change this session stays signed in, with a new key (the
    service ended every other session and revoked every API token)."""
    old_key = request.session.session_key
    update_session_auth_hash(request, request.user)  # type: ignore[arg-type]
    user_session_rekey(old_key=old_key, new_key=request.session.session_key)


def _pending_login(request: HttpRequest) -> dict[str, Any] | None:
    pending = request.session.get(PENDING_LOGIN_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_LOGIN_SECONDS:
        return None
    return pending


def _login_page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("step", "password")
    return render(
        request,
        "accounts/login.html",
        {"tenant": request.tenant, **context},  # type: ignore[attr-defined]
        status=status,
    )


def _signed_in(request: HttpRequest, user: User, target: str, backend: str | None) -> HttpResponse:
    """Open the session and remember this browser as known to the account."""
    session_open(request, user, backend=backend)
    response = redirect(target)
    device_remember(request, response, user.pk)
    return response


def _throttled_page(request: HttpRequest, message: str, wait: int) -> HttpResponse:
    response = _login_page(request, status=429, form=LoginForm(), error=message)
    response["Retry-After"] = str(wait)
    return response


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and request.POST.get("step") == "code":
        return _login_code_step(request)
    request.session.pop(PENDING_LOGIN_KEY, None)
    target = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    form = LoginForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = login_attempt(
            request=request,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
        )
        if result.ok and result.user is not None:
            return _signed_in(request, result.user, target, getattr(result.user, "backend", None))
        if result.status is LoginStatus.THROTTLED:
            return _throttled_page(request, result.message, result.retry_after)
        if result.status is LoginStatus.TOTP_REQUIRED and result.user is not None:
            request.session[PENDING_LOGIN_KEY] = {
                "uid": result.user.pk,
                "at": int(time.time()),
                "next": target,
                "backend": getattr(result.user, "backend", None),
            }
            return _login_page(request, step="code", code_form=TotpCodeForm())
        form.add_error(None, result.message)
    elif request.method == "POST":
        form.add_error(None, _("请输入用户名和密码。"))
    return _login_page(request, form=form, next=target if target != "/" else "")


def _login_code_step(request: HttpRequest) -> HttpResponse:
    pending = _pending_login(request)
    if pending is None:
        request.session.pop(PENDING_LOGIN_KEY, None)
        return _login_page(request, form=LoginForm(), error=_("验证已超时，请重新登录。"))
    code_form = TotpCodeForm(request.POST)
    if code_form.is_valid():
        result = login_second_factor(
            request=request, user_id=int(pending["uid"]), code=code_form.cleaned_data["code"]
        )
        if result.ok and result.user is not None:
            request.session.pop(PENDING_LOGIN_KEY, None)
            target = _safe_next(request, pending.get("next"))
            return _signed_in(request, result.user, target, pending.get("backend"))
        if result.status is LoginStatus.THROTTLED:
            return _throttled_page(request, result.message, result.retry_after)
        if result.status is not LoginStatus.TOTP_INVALID:
            # Locked (or disabled meanwhile): start again from the password.
            request.session.pop(PENDING_LOGIN_KEY, None)
            return _login_page(request, form=LoginForm(), error=result.message)
        code_form.add_error("code", result.message)
    return _login_page(request, step="code", code_form=code_form)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    session_close(request)
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
                request=request,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            for name, errors in exc.extra.items():
                if name in form.fields:
                    for error in errors:
                        form.add_error(name, error)
        else:
            password_changed_keep_session(request)
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
        {
            "user": u,
            "roles": "、".join(role_labels.get(g.name, g.name) for g in u.groups.all()),
            "locked_until": locked_until(u),
            "is_self": u.pk == request.user.pk,
        }
        for u in user_list()
    ]
    return render(
        request, "accounts/user_list.html", {"form": form, "users": users, "created": created}
    )


def _school_user(request: HttpRequest, user_id: int) -> User:
    """An account of this school (never on the bureau host)."""
    if connection.schema_name == "public":
        raise Http404
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise Http404
    return user


def _unlock(request: HttpRequest, user: User, back: str) -> HttpResponse:
    """Unlock a locked account; shared by the school's and the platform's account pages."""
    user_unlock(user=user, actor=request.user, request=request)  # type: ignore[arg-type]
    messages.success(request, _("已解锁账号 %(username)s。") % {"username": user.username})
    return redirect(back)


def _set_active(request: HttpRequest, user: User, back: str) -> HttpResponse:
    """Enable (active=1) or disable (active=0) an account, with the outcome as a message."""
    active = request.POST.get("active")
    if active not in {"0", "1"}:
        messages.error(request, _("请选择启用或停用。"))
        return redirect(back)
    try:
        user_set_active(user=user, active=active == "1", actor=request.user, request=request)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        done = (
            _("已启用账号 %(username)s。")
            if active == "1"
            else _("已停用账号 %(username)s，其登录已全部退出。")
        )
        messages.success(request, done % {"username": user.username})
    return redirect(back)


@right_required(Right.USERS_MANAGE)
@require_POST
def user_unlock_view(request: HttpRequest, user_id: int) -> HttpResponse:
    return _unlock(request, _school_user(request, user_id), "accounts:user_list")


@right_required(Right.USERS_MANAGE)
@require_POST
def user_active_view(request: HttpRequest, user_id: int) -> HttpResponse:
    return _set_active(request, _school_user(request, user_id), "accounts:user_list")


@right_required(Right.USERS_MANAGE)
@require_http_methods(["GET", "POST"])
@sensitive(PASSWORD_RESET)
def user_password_reset_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """重置密码: GET asks for confirmation; POST (confirm=1) sets a new one-time password
    and shows it in this answer only (not kept in the session, not cached)."""
    user = _school_user(request, user_id)
    context: dict[str, Any] = {"target": user, "is_self": user.pk == request.user.pk}
    if request.method == "POST":
        if request.POST.get("confirm") != "1":
            context["error"] = _("请确认重置该账号的密码。")
        else:
            try:
                context["reset"] = user_password_reset(
                    user=user,
                    actor=request.user,  # type: ignore[arg-type]
                    request=request,
                )
            except ApplicationError as exc:
                context["error"] = exc.message
    response = render(request, "accounts/password_reset.html", context)
    if "reset" in context:
        response["Cache-Control"] = "no-store"
    return response


# -- 账号管理 on the bureau host: bureau and platform accounts (platform operators) ------


def _public_user(public_user_id: int) -> User:
    user = public_user_get(public_user_id)
    if user is None:
        raise Http404
    return user


@right_required(Right.PLATFORM_BUREAUS_MANAGE)
@require_GET
def platform_user_list_view(request: HttpRequest) -> HttpResponse:
    """Every bureau and platform account with its state; the platform operator unlocks,
    enables and disables them (bureau accounts are opened with their bureau)."""
    if connection.schema_name != "public":
        raise Http404
    from shared_apps.regions.models import Bureau

    bureaus = dict(Bureau.objects.values_list("region_id", "name"))
    role_labels = dict(Role.choices)
    users = [
        {
            "user": u,
            "roles": "、".join(role_labels.get(g.name, g.name) for g in u.groups.all()),
            "scope": bureaus.get(u.region_id or "", u.region.name if u.region else ""),
            "locked_until": locked_until(u),
            "is_self": u.pk == request.user.pk,
        }
        for u in public_user_list()
    ]
    return render(request, "accounts/platform_users.html", {"users": users})


@right_required(Right.PLATFORM_BUREAUS_MANAGE)
@require_POST
def platform_user_unlock_view(request: HttpRequest, public_user_id: int) -> HttpResponse:
    return _unlock(request, _public_user(public_user_id), "platform_users")


@right_required(Right.PLATFORM_BUREAUS_MANAGE)
@require_POST
def platform_user_active_view(request: HttpRequest, public_user_id: int) -> HttpResponse:
    return _set_active(request, _public_user(public_user_id), "platform_users")


# -- 我的登录 -----------------------------------------------------------------------------


@login_required
def sessions_view(request: HttpRequest) -> HttpResponse:
    user_sessions_prune(user=request.user)  # type: ignore[arg-type]
    rows = user_session_list(user=request.user, current_key=request.session.session_key)  # type: ignore[arg-type]
    tokens = user_token_list(user=request.user, current_id=None)  # type: ignore[arg-type]
    return render(request, "accounts/sessions.html", {"sessions": rows, "tokens": tokens})


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        api_token_revoke(user=request.user, token_id=token_id)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已注销该接口令牌。"))
    return redirect("accounts:sessions")


@login_required
@require_POST
def session_end_view(request: HttpRequest, session_id: int) -> HttpResponse:
    current = request.session.session_key
    try:
        ended_key = user_session_end(user=request.user, session_id=session_id)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("accounts:sessions")
    if ended_key == current:
        session_close(request)
        return redirect("accounts:login")
    messages.success(request, _("已退出该会话。"))
    return redirect("accounts:sessions")


@login_required
@require_POST
def sessions_end_others_view(request: HttpRequest) -> HttpResponse:
    n = user_sessions_end(user=request.user, keep_key=request.session.session_key)  # type: ignore[arg-type]
    messages.success(request, _("已退出其他 %(n)s 个会话和接口令牌。") % {"n": n})
    return redirect("accounts:sessions")


# -- 再次输入密码、两步验证 ----------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def reauth_view(request: HttpRequest) -> HttpResponse:
    target = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    form = ReauthForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = password_confirm(
            user=request.user,  # type: ignore[arg-type]
            password=form.cleaned_data["password"],
            request=request,
        )
        if result.ok:
            reauth_mark(request)
            return redirect(target)
        form.add_error("password", result.message)
    return render(
        request,
        "accounts/reauth.html",
        {"form": form, "action": reverse("accounts:reauth"), "next": target, "carry": []},
    )


def _totp_issuer(request: HttpRequest) -> str:
    tenant = getattr(request, "tenant", None)
    if tenant is not None and getattr(tenant, "kind", "") == "school":
        return str(tenant.name)
    return _("学籍管理平台")


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    available = totp_available(user)
    code_form = TotpCodeForm()
    disable_form = TotpDisableForm()
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "disable" and user.totp_enabled:
        disable_form = TotpDisableForm(request.POST)
        if disable_form.is_valid():
            result = password_confirm(
                user=user, password=disable_form.cleaned_data["password"], request=request
            )
            if result.ok:
                totp_disable(user=user, keep_session_key=request.session.session_key)
                messages.success(request, _("两步验证已关闭，其他登录已全部退出。"))
                return redirect("accounts:two_factor")
            disable_form.add_error("password", result.message)
    secret = ""
    if available and not user.totp_enabled:
        secret = request.session.get(TOTP_SETUP_KEY) or totp.secret_generate()
        request.session[TOTP_SETUP_KEY] = secret
        if action == "enable":
            code_form = TotpCodeForm(request.POST)
            if code_form.is_valid():
                try:
                    totp_enable(
                        user=user,
                        secret=secret,
                        code=code_form.cleaned_data["code"],
                        keep_session_key=request.session.session_key,
                    )
                except ApplicationError as exc:
                    code_form.add_error("code", exc.message)
                else:
                    request.session.pop(TOTP_SETUP_KEY, None)
                    messages.success(
                        request,
                        _("两步验证已启用，今后登录时需要输入验证码；其他登录已全部退出。"),
                    )
                    return redirect("accounts:two_factor")
    return render(
        request,
        "accounts/two_factor.html",
        {
            "available": available,
            "enabled": user.totp_enabled,
            "secret": secret,
            "uri": totp.provisioning_uri(
                secret, account=user.username, issuer=_totp_issuer(request)
            )
            if secret
            else "",
            "code_form": code_form,
            "disable_form": disable_form,
        },
    )
