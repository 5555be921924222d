"""The bureau's school-opening confirmation: the one-time admin password is shown on the
first view only; a refresh shows the page again without it and says how to reset it."""

from __future__ import annotations

import re

import pytest
from django.db import connection, connections

from conftest import PASSWORD, World, login

pytestmark = pytest.mark.django_db

FORM = {
    "name": "开通确认小学",
    "code": "2143990121",
    "slug": "opened-once",
    "county_code": "430181",
    "stages": ["primary"],
    "admin_username": "A009",
    "admin_full_name": "开通管理员",
}


def test_the_password_is_shown_once_and_a_refresh_says_how_to_reset_it(
    world: World, bureau_host: str
) -> None:
    from tenants.models import School

    officer = login(bureau_host, world.bureau_user)
    # given: the officer opens a school with the page's form
    response = officer.post("/bureau/schools/new/", FORM)
    connection.set_schema_to_public()
    school = School.objects.get(code=FORM["code"])
    # then: the answer is a redirect, so a refresh never sends the form again
    assert response.status_code == 302
    assert response["Location"] == f"/bureau/schools/{school.pk}/opened/"

    first = officer.get(response["Location"])
    connection.set_schema_to_public()
    assert first.status_code == 200
    body = first.content.decode()
    shown = re.search(r'<code class="secret">([^<]+)</code>', body)
    assert shown is not None, body
    password = shown.group(1)
    assert "A009" in body
    assert "只显示这一次" in body

    # when: the page is refreshed
    again = officer.get(response["Location"])
    connection.set_schema_to_public()
    refreshed = again.content.decode()
    # then: the same page, progress and school facts, but no password
    assert again.status_code == 200
    assert password not in refreshed
    assert 'class="secret"' not in refreshed
    assert "初始密码已在开通时显示过一次，不再显示。" in refreshed
    assert "请联系平台运营人员" in refreshed
    assert "A009" in refreshed
    assert "data-job-url" in refreshed
    # and the session no longer holds it
    assert password not in str(dict(officer.session))


def test_another_officer_or_an_unknown_school_gets_404(world: World, bureau_host: str) -> None:
    officer = login(bureau_host, world.bureau_user)
    response = officer.post("/bureau/schools/new/", {**FORM, "code": "2143990122", "slug": "o2"})
    connection.set_schema_to_public()
    assert response.status_code == 302
    # an officer of another county never sees the page (nor the password)
    other = login(bureau_host, world.other_bureau_user)
    assert other.get(response["Location"]).status_code == 404
    connection.set_schema_to_public()
    # the officer who opened it, on a school without a confirmation in the session
    assert officer.get(f"/bureau/schools/{world.a.id}/opened/").status_code == 404
    connection.set_schema_to_public()


def test_the_reset_path_the_page_names_sets_a_school_administrators_password(
    live_db: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`manage.py tenant_command changepassword <工号> --schema=<schema>` (README,
    Operating it), which the confirmation page sends the bureau to."""
    from django.contrib.auth.management.commands import changepassword
    from django.core.management import execute_from_command_line

    from accounts.models import User
    from tenants.context import school_context

    # the operator's typing at the terminal
    monkeypatch.setattr(changepassword.getpass, "getpass", lambda prompt="": "Reset-Passw0rd-77")  # type: ignore[attr-defined]
    # manage.py closes every connection when a command ends; here that would be the
    # test's own, which pytest-django keeps
    monkeypatch.setattr(connections, "close_all", lambda: None)
    world = live_db
    try:
        # exactly what the operator types, through manage.py's own argument handling
        execute_from_command_line(
            ["manage.py", "tenant_command", "changepassword", "admin", f"--schema={world.a.schema}"]
        )
        connection.set_schema_to_public()
        with school_context(world.a.schema):
            assert User.objects.get(username="admin").check_password("Reset-Passw0rd-77")
    finally:
        with school_context(world.a.schema):  # the other tests sign in with PASSWORD
            admin = User.objects.get(username="admin")
            admin.set_password(PASSWORD)
            admin.save(update_fields=["password"])
        connection.set_schema_to_public()
