"""The family photo upload link in Debian Chromium at 360 px (issue 17 point 8): a parent
opens the link without an account, picks a picture, sees the national file made from it
with its warning, submits it, and the link then refuses a second use.

Screenshots go to test-artifacts/ (photo-family-*.png)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from conftest import SENTINEL_STUDENT, World
from tests.test_browser import ARTIFACTS, chromium_browser, server  # noqa: F401

pytestmark = [pytest.mark.browser]


@pytest.fixture
def family_link(live_db: World, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A committed link of school A's sentinel pupil and a phone-like picture on white;
    the link, the photo it files and the photo's file are removed afterwards."""
    from django.core.files.storage import default_storage

    from common.actor import Actor
    from tenant_apps.registry.models import FamilyPhotoLink, Student, StudentPhoto
    from tenant_apps.registry.photos.family import family_links_issue
    from tenant_apps.registry.photos.tests.images import encode, portrait
    from tenants.context import school_context

    with school_context(live_db.a.schema):
        student = Student.objects.get(name=SENTINEL_STUDENT)
        token = family_links_issue(
            actor=Actor("registrar", "学籍管理员", live_db.a.schema),
            student_ids=[str(student.identifier)],
        )[0].token
    connection.set_schema_to_public()
    picture = tmp_path / "IMG_2041.jpg"
    picture.write_bytes(encode(portrait((1500, 2000), background=(250, 250, 250))))
    try:
        yield token, picture
    finally:
        connection.set_schema_to_public()
        with school_context(live_db.a.schema):
            for photo in StudentPhoto.objects.filter(student=student, source="family"):
                for key in (photo.file_key, photo.original_key):
                    if key:
                        default_storage.delete(key)
                photo.delete()
            FamilyPhotoLink.objects.filter(student=student).delete()
        connection.set_schema_to_public()


def _fits(page) -> None:  # noqa: ANN001 - a playwright page
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways: {width} px"


def test_a_parent_uploads_a_photo_through_the_link_on_a_phone(
    live_db: World,
    family_link: tuple[str, Path],
    server: int,  # noqa: F811
    chromium_browser,  # noqa: ANN001, F811
) -> None:
    token, picture = family_link
    url = f"http://{live_db.a.host}:{server}/registry/photos/family/{token}/"
    context = chromium_browser.new_context(
        viewport={"width": 360, "height": 780}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    try:
        page.goto(url)
        assert page.locator("[data-family-state=open]").is_visible()
        assert SENTINEL_STUDENT not in page.content()
        assert page.locator("input[type=file][capture=user]").count() == 1
        _fits(page)
        page.screenshot(path=str(ARTIFACTS / "photo-family-open.png"), full_page=True)
        page.set_input_files("input[type=file]", str(picture))
        page.click("button[type=submit]")
        page.wait_for_selector("[data-family-state=preview]")
        preview = page.locator(".family-photo img")
        assert preview.evaluate("img => img.naturalWidth") == 358
        assert preview.evaluate("img => img.naturalHeight") == 441
        assert "背景" in page.locator(".family-warnings").inner_text()
        _fits(page)
        page.screenshot(path=str(ARTIFACTS / "photo-family-preview.png"), full_page=True)
        page.click("text=提交照片")
        page.wait_for_selector("[data-family-state=submitted]")
        _fits(page)
        page.screenshot(path=str(ARTIFACTS / "photo-family-submitted.png"), full_page=True)
        page.goto(url)
        assert page.locator("[data-family-state=refused]").is_visible()
        assert "此链接已使用过" in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / "photo-family-used.png"), full_page=True)
    finally:
        context.close()
