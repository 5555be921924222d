"""证书管理 pages (right CERTIFICATES_MANAGE) and the public verification page."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.core import get_usage

from accounts.audit import audit_record
from accounts.roles import Right
from accounts.sessions import client_ip
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import content_disposition, right_required
from tenant_apps.reports.certificates import selectors, services
from tenant_apps.reports.certificates.documents import certificate_pdf
from tenant_apps.reports.models.certificates import Certificate, Kind

PAGE_SIZE = 50


def verify_url(request: HttpRequest, code: str) -> str:
    """The public page of a code on this school's host (what the QR code opens)."""
    return request.build_absolute_uri(reverse("cert_verify", kwargs={"verify_code": code}))


def _int(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() else None


@right_required(Right.CERTIFICATES_MANAGE)
@require_GET
def cert_home(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    state = request.GET.get("state", "")
    q = request.GET.get("q", "")
    page = Paginator(selectors.certificate_list(kind=kind, state=state, q=q), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    find = request.GET.get("find", "")
    return render(
        request,
        "reports/certificates/home.html",
        {
            "page": page,
            "kinds": Kind.choices,
            "states": Certificate.State.choices,
            "kind": kind,
            "state": state,
            "q": q,
            "find": find,
            "candidates": selectors.student_candidates(q=find),
            "schemes": [services.scheme_for(k) for k in Kind.values],
            "classes": selectors.classes_with_leavers(),
        },
    )


def _back(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    messages.error(request, error.message)
    return redirect("reports:cert_home")


@right_required(Right.CERTIFICATES_MANAGE)
@require_POST
def cert_scheme(request: HttpRequest) -> HttpResponse:
    try:
        services.scheme_update(
            kind=request.POST.get("kind", ""),
            prefix=request.POST.get("prefix", ""),
            year=_int(request.POST.get("year")) or 0,
            width=_int(request.POST.get("width")) or 0,
            actor=Actor.of(request.user),
            request=request,
        )
    except ApplicationError as exc:
        return _back(request, exc)
    messages.success(request, _("编号规则已保存。"))
    return redirect("reports:cert_home")


@right_required(Right.CERTIFICATES_MANAGE)
@require_POST
def cert_issue(request: HttpRequest) -> HttpResponse:
    try:
        cert = services.certificate_issue(
            kind=request.POST.get("kind", ""),
            student_identifier=_uuid(request.POST.get("student_id", "")),
            purpose=request.POST.get("purpose", ""),
            actor=Actor.of(request.user),
            request=request,
        )
    except ApplicationError as exc:
        return _back(request, exc)
    messages.success(request, _("已签发，证书编号 %(n)s。") % {"n": cert.number})
    return redirect("reports:cert_detail", cert_id=cert.pk)


def _uuid(value: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise ApplicationError(services.MSG_NOT_FOUND, code="not_found") from exc


@right_required(Right.CERTIFICATES_MANAGE)
@require_POST
def cert_issue_class(request: HttpRequest) -> HttpResponse:
    try:
        issued, passed = services.certificate_issue_class(
            class_id=_int(request.POST.get("class_id")) or 0,
            kind=request.POST.get("kind", Kind.DIPLOMA),
            actor=Actor.of(request.user),
            request=request,
        )
    except ApplicationError as exc:
        return _back(request, exc)
    messages.success(
        request,
        _("已签发 %(n)s 份，%(m)s 人已有有效证书未重发。") % {"n": len(issued), "m": passed},
    )
    return redirect("reports:cert_home")


def _cert_or_404(request: HttpRequest, cert_id: int) -> Certificate | HttpResponse:
    cert = selectors.certificate_get(certificate_id=cert_id)
    if cert is None:
        return render(request, "404.html", status=404)
    return cert


@right_required(Right.CERTIFICATES_MANAGE)
@require_GET
def cert_detail(request: HttpRequest, cert_id: int) -> HttpResponse:
    cert = _cert_or_404(request, cert_id)
    if isinstance(cert, HttpResponse):
        return cert
    from common.masking import mask_id_number

    v = cert.values
    return render(
        request,
        "reports/certificates/detail.html",
        {
            "cert": cert,
            "kind_label": Kind(cert.kind).label,
            "values": v,
            "id_masked": mask_id_number(str(v.get("id_number", ""))),
            "url": verify_url(request, cert.code),
        },
    )


def _pdf_response(request: HttpRequest, cert: Certificate) -> HttpResponse:
    body = certificate_pdf(cert, verify_url=verify_url(request, cert.code))
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition(
        f"{cert.get_kind_display()}-{cert.number}.pdf", inline=True
    )
    add_never_cache_headers(response)
    return response


@right_required(Right.CERTIFICATES_MANAGE)
@require_GET
def cert_pdf(request: HttpRequest, cert_id: int) -> HttpResponse:
    cert = _cert_or_404(request, cert_id)
    if isinstance(cert, HttpResponse):
        return cert
    # A document with the pupil's data left the system: recorded like an export.
    audit_record(
        request=request,
        action="certificate.download",
        object_type="certificate",
        object_id=cert.number,
        object_repr=f"{Kind(cert.kind).label} {cert.number}",
    )
    return _pdf_response(request, cert)


@right_required(Right.CERTIFICATES_MANAGE)
@require_POST
def cert_reprint(request: HttpRequest, cert_id: int) -> HttpResponse:
    try:
        cert = services.certificate_reprint(
            certificate_id=cert_id, actor=Actor.of(request.user), request=request
        )
    except ApplicationError as exc:
        return _back(request, exc)
    return _pdf_response(request, cert)


@right_required(Right.CERTIFICATES_MANAGE)
@require_POST
def cert_void(request: HttpRequest, cert_id: int) -> HttpResponse:
    try:
        services.certificate_void(
            certificate_id=cert_id,
            reason=request.POST.get("reason", ""),
            actor=Actor.of(request.user),
            request=request,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return (
            redirect("reports:cert_detail", cert_id=cert_id)
            if exc.code != "not_found"
            else (redirect("reports:cert_home"))
        )
    messages.success(request, _("证书已作废。"))
    return redirect("reports:cert_detail", cert_id=cert_id)


# -- public ---------------------------------------------------------------------------


def _address(_group: str, request: HttpRequest) -> str:
    ip = client_ip(request.META)
    if ip is None:
        return "unknown"
    parsed = ipaddress.ip_address(ip)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return ip


def verify_limited(request: HttpRequest) -> bool:
    """Counts this look-up; True once the client's address is past CERTIFICATE_VERIFY_RATE."""
    usage = get_usage(
        request,
        group="cert-verify",
        key=_address,
        rate=settings.CERTIFICATE_VERIFY_RATE,
        increment=True,
    )
    return usage is not None and bool(usage["should_limit"])


@require_GET
def cert_verify(request: HttpRequest, verify_code: str) -> HttpResponse:
    """No sign-in (the QR code is scanned by anyone). The same page shape for every
    answer; only genuine / 已作废 / 未找到 and item 5's fields."""
    if verify_limited(request):
        response = render(
            request, "reports/certificates/verify.html", {"limited": True}, status=429
        )
    else:
        result = selectors.certificate_verify(code=verify_code)
        response = render(request, "reports/certificates/verify.html", {"result": result})
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex"
    return response
