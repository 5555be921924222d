"""The family upload link's pages: the school makes links (with QR codes), the family
opens one on a phone without an account. Thin: registry.photos.family does the work."""

from __future__ import annotations

import ipaddress

import segno
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import get_usage

from accounts.sessions import client_ip
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from tenant_apps.registry.photos import family

PHOTO_RIGHT = family.PHOTO_RIGHT
# Requests of the family page per client address (django-ratelimit's notation): a
# family needs a handful (open, preview, maybe another picture, submit); a school's
# families share its town's NAT, a script walking tokens meets 2^128 of them.
FAMILY_RATE = "20/m"
UPLOAD_FIELD = "photo"
MSG_LIMITED = "操作过于频繁，请一分钟后再试。"
MSG_NO_FILE = "请先拍照或选择一张照片。"


def family_url(request: HttpRequest, token: str) -> str:
    """The family page of a link on this school's host (what the QR code opens)."""
    return request.build_absolute_uri(
        reverse("registry:photo_family", kwargs={"family_token": token})
    )


def _qr(url: str) -> str:
    return str(segno.make(url, error="m").svg_data_uri(scale=3, border=2))


@right_required(PHOTO_RIGHT)
@require_POST
def family_links_view(request: HttpRequest) -> HttpResponse:
    """Make links for one pupil (`student_id`) or a whole class (`class_id`) and show them
    once, each with its QR code, ready to print or send."""
    class_id = request.POST.get("class_id", "")
    try:
        issued = family.family_links_issue(
            actor=Actor.of(request.user),
            request=request,
            student_ids=request.POST.getlist("student_id"),
            class_id=int(class_id) if class_id.isdigit() else None,
        )
    except ApplicationError as exc:
        return render(request, "family/links.html", {"error": exc.message}, status=404)
    links = [
        {"link": link, "url": (url := family_url(request, link.token)), "qr": _qr(url)}
        for link in issued
    ]
    response = render(request, "family/links.html", {"links": links, "days": family.LINK_DAYS})
    add_never_cache_headers(response)
    return response


def _address(_group: str, request: HttpRequest) -> str:
    ip = client_ip(request.META)
    if ip is None:
        return "unknown"
    if ipaddress.ip_address(ip).version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return ip


def family_limited(request: HttpRequest) -> bool:
    """Counts this request; True once the client's address is past FAMILY_RATE."""
    usage = get_usage(request, group="photo-family", key=_address, rate=FAMILY_RATE, increment=True)
    return usage is not None and bool(usage["should_limit"])


def _page(request: HttpRequest, context: dict[str, object], status: int = 200) -> HttpResponse:
    response = render(request, "family/upload.html", context, status=status)
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex"
    # The token is in the path: never sent to another site ("no-referrer" would make the
    # browser send Origin: null with the form, which the CSRF check refuses).
    response["Referrer-Policy"] = "same-origin"
    return response


@require_http_methods(["GET", "POST"])
def family_upload_view(request: HttpRequest, family_token: str) -> HttpResponse:
    """No sign-in (the link is the family's). GET shows the pupil's masked name and class
    and the camera/file input; POST with a file shows the national file made from it;
    POST with `proof` submits the previewed photo for the school's approval."""
    if family_limited(request):
        return _page(request, {"refused": _(MSG_LIMITED)}, status=429)
    try:
        if request.method == "GET":
            return _page(
                request, {"link": family.family_link_open(token=family_token, request=request)}
            )
        if request.POST.get("proof"):
            done = family.family_photo_submit(
                token=family_token,
                proof=request.POST.get("proof", ""),
                encoded=request.POST.get("photo_data", ""),
                request=request,
            )
            return _page(request, {"link": done, "submitted": True})
        upload = request.FILES.get(UPLOAD_FIELD)
        if upload is None:
            link = family.family_link_open(token=family_token, request=request)
            return _page(request, {"link": link, "error": _(MSG_NO_FILE)}, status=400)
        try:
            preview = family.family_photo_preview(
                token=family_token, data=upload.read(), request=request
            )
        except family.LinkRefused:
            raise
        except ApplicationError as exc:  # the picture refused (not an image, too large...)
            link = family.family_link_open(token=family_token, request=request)
            return _page(request, {"link": link, "error": exc.message}, status=400)
        return _page(request, {"link": preview.link, "preview": preview})
    except family.LinkRefused as exc:
        return _page(
            request,
            {"refused": exc.message},
            status=410 if exc.code in ("used", "expired") else 404,
        )
    except ApplicationError as exc:  # a preview that no longer matches
        return _page(request, {"refused": exc.message}, status=400)
