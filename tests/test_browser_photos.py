"""The single photo upload in Chromium (issue 17 points 2, 8): the registrar opens a
student's page, uploads a phone-style picture on a white background, sees the original
and the national file side by side with the background warning, and 使用此照片 puts the
photo on the student page and in the list. At desktop width and at 360 px; screenshots go
to test-artifacts/ (photos-*.png)."""

from __future__ import annotations

import pytest
from django.db import connection

from conftest import World
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401
from tests.test_photos_single import WHITE, pupil

pytestmark = pytest.mark.browser


def _settled(page) -> None:
    """Loaded, and every image has arrived (through /files/ and the S3 redirect)."""
    page.wait_for_load_state("load")
    # Polled from here: wait_for_function evaluates a string, which the page's CSP forbids.
    for _ in range(100):
        if page.evaluate("() => Array.from(document.images).every(i => i.complete)"):
            return
        page.wait_for_timeout(100)
    raise AssertionError("images still loading after 10 s")


def _loaded(page, selector: str) -> list[int]:
    """naturalWidth of every image the selector finds (0: not loaded)."""
    return page.eval_on_selector_all(selector, "els => els.map(e => e.naturalWidth)")


@pytest.mark.parametrize(
    ("label", "viewport"),
    [("desktop", {"width": 1366, "height": 900}), ("360", {"width": 360, "height": 800})],
)
def test_single_upload_with_the_side_by_side_preview(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
    tmp_path,
    label: str,
    viewport: dict[str, int],
) -> None:
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.photos.tests.images import encode, portrait
    from tenants.context import school_context

    world = live_db
    name = f"照片浏览{label}"
    p = pupil(world.a.schema, name)
    connection.set_schema_to_public()
    picture = tmp_path / "手机照片.png"
    picture.write_bytes(encode(portrait((900, 1200), background=WHITE), "PNG"))
    try:
        context = chromium_browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        url = f"http://{world.a.host}:{server}"
        _login(page, url, "registrar")
        page.goto(f"{url}/registry/students/{p.uuid}/")
        assert page.locator(".photo-slot", has_text="照片待采集").count() == 1
        page.click("a:has-text('上传照片')")
        page.wait_for_load_state()
        page.screenshot(path=str(ARTIFACTS / f"photos-1-upload-{label}.png"), full_page=True)
        page.set_input_files("#id_photo", str(picture))
        page.click("button:has-text('上传并预览')")
        _settled(page)
        assert "背景不是淡蓝色" in page.content()
        assert page.locator("figcaption", has_text="原图").count() == 1
        assert page.locator("figcaption", has_text="规范化结果").count() == 1
        widths = _loaded(page, ".photo-compare img")
        assert len(widths) == 2
        assert widths[1] == 358, widths  # the national file itself, 358 × 441
        assert widths[0] == 900, widths  # the original as uploaded
        # Side by side on a desktop, one above the other at 360 px, never wider than it.
        boxes = [page.locator(".photo-compare figure").nth(i).bounding_box() for i in (0, 1)]
        if label == "desktop":
            assert boxes[0]["y"] == boxes[1]["y"]
            assert boxes[1]["x"] > boxes[0]["x"] + boxes[0]["width"] - 1
        else:
            assert boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"]
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= viewport["width"], scroll
        page.screenshot(path=str(ARTIFACTS / f"photos-2-preview-{label}.png"), full_page=True)

        page.click("button:has-text('使用此照片')")
        _settled(page)
        assert "已采用新照片" in page.content()
        assert _loaded(page, "img.photo-img") == [358]
        page.screenshot(path=str(ARTIFACTS / f"photos-3-student-{label}.png"), full_page=True)
        page.goto(f"{url}/registry/students/?q={name}")
        _settled(page)
        assert _loaded(page, "img.photo-thumb") == [358]
        page.screenshot(path=str(ARTIFACTS / f"photos-4-list-{label}.png"), full_page=True)
        page.goto(f"{url}/registry/photos/")
        _settled(page)
        assert page.locator("h2", has_text="各班照片采集情况").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.screenshot(path=str(ARTIFACTS / f"photos-5-school-{label}.png"), full_page=True)
        context.close()
    finally:
        connection.set_schema_to_public()
        with school_context(world.a.schema):
            Student.objects.filter(pk=p.pk).delete()
        connection.set_schema_to_public()
