from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware

from tenants.models import School


class SchoolRoutingMiddleware(TenantMainMiddleware):
    """django-tenants routing by host, minus the template schema (never served)."""

    def get_tenant(self, domain_model, hostname):  # type: ignore[no-untyped-def]
        tenant = super().get_tenant(domain_model, hostname)
        if tenant.kind == School.Kind.TEMPLATE:
            raise domain_model.DoesNotExist
        return tenant


class SchoolStatusMiddleware:
    """A suspended or not-yet-provisioned school's host shows a clear page; data stays."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        school = getattr(request, "tenant", None)
        if school is not None and school.kind == School.Kind.SCHOOL:
            if school.provisioning != School.Provisioning.READY:
                return render(
                    request,
                    "tenants/school_closed.html",
                    {"school": school, "reason": "provisioning"},
                    status=503,
                )
            if school.status == School.Status.SUSPENDED:
                return render(
                    request,
                    "tenants/school_closed.html",
                    {"school": school, "reason": "suspended"},
                    status=403,
                )
        return self.get_response(request)
