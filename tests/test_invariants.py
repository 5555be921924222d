"""Invariants of the layout: the standard library's platform module, app placement by
folder, migrations in step with models, and the template schema kept out of sight."""

from __future__ import annotations

import os
import platform
import sysconfig
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


def test_platform_is_the_standard_library_module() -> None:
    assert platform.__file__ == os.path.join(sysconfig.get_paths()["stdlib"], "platform.py")
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_app_placement_follows_the_folder() -> None:
    shared, tenant = set(settings.SHARED_APPS), set(settings.TENANT_APPS)
    for app in settings.INSTALLED_APPS:
        if app.startswith("shared_apps.") or app == "tenants":
            assert app in shared, app
            assert app not in tenant, app
        if app.startswith("tenant_apps."):
            assert app in tenant, app
            assert app not in shared, app
    assert "accounts" in shared
    assert "accounts" in tenant
    both = {a for a in shared & tenant if not a.startswith(("django.", "rest_framework"))}
    # knox: API tokens live beside their users, in every schema (accounts.ApiToken).
    assert both == {"accounts", "knox"}


@pytest.mark.parametrize("folder", ["shared_apps", "tenant_apps"])
def test_every_app_folder_is_installed_in_its_list(folder: str) -> None:
    wanted = settings.SHARED_APPS if folder == "shared_apps" else settings.TENANT_APPS
    found = sorted(p.parent.name for p in (ROOT / folder).glob("*/apps.py"))
    assert found, folder
    for name in found:
        assert f"{folder}.{name}" in wanted


def test_models_and_migrations_agree(db: None) -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_template_schema_is_never_listed_routed_or_fanned_out(public: None) -> None:
    from tenants.models import Domain, School

    template = School.objects.get(schema_name=settings.TENANT_BASE_SCHEMA)
    assert template.kind == School.Kind.TEMPLATE
    assert not Domain.objects.filter(tenant=template).exists()
    assert template not in School.objects.schools()
    assert not School.objects.serving().filter(pk=template.pk).exists()


def test_template_holds_no_school_data(public: None) -> None:
    from accounts.models import User
    from tenant_apps.registry.models import SchoolClass, Student
    from tenants.context import school_context

    with school_context(settings.TENANT_BASE_SCHEMA):
        assert User.objects.count() == 0
        assert Student.objects.count() == 0
        assert SchoolClass.objects.count() == 0


def test_every_app_model_has_a_docstring_naming_its_schema() -> None:
    for model in apps.get_models():
        module = model.__module__
        if module.startswith(("tenants.", "accounts.", "shared_apps.", "tenant_apps.")):
            doc = model.__doc__ or ""
            assert "Schema" in doc or "schema" in doc, model
