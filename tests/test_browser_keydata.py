"""关键数据变更 in Chromium (issue 19 point 1): the registrar opens a registered pupil's page,
applies to correct the name with a proof, the approver sees old → new masked and passes it
to the county. At desktop width and at 360 px; screenshots in test-artifacts/ (keydata-*)."""

from __future__ import annotations

import io
import uuid

import pytest
from django.db import connection
from PIL import Image

from conftest import World
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser


def _cleanup(world: World, pk: int, identifier: uuid.UUID) -> None:
    from shared_apps.student_index.models import IndexEntry
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.models import KeyDataChange, Student
    from tenants.context import school_context

    with school_context(world.a.schema):
        KeyDataChange.objects.filter(student_id=pk).delete()
        Student.objects.filter(pk=pk).delete()
    connection.set_schema_to_public()
    Case.objects.filter(student_uuid=identifier).delete()
    IndexEntry.objects.filter(student_uuid=identifier).delete()


@pytest.mark.parametrize(
    ("label", "viewport"),
    [("desktop", {"width": 1366, "height": 900}), ("360", {"width": 360, "height": 800})],
)
def test_registrar_applies_and_approver_passes_it_to_the_county(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
    tmp_path,
    label: str,
    viewport: dict[str, int],
) -> None:
    from tenant_apps.registry.tests.test_keydata import _pupil

    world = live_db
    serial = 101 if label == "desktop" else 103
    pupil = _pupil(world.a.schema, f"浏览关键{'甲' if label == 'desktop' else '乙'}", serial)
    proof = tmp_path / "户口簿.png"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(buffer, format="PNG")
    proof.write_bytes(buffer.getvalue())
    try:
        context = chromium_browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        url = f"http://{world.a.host}:{server}"
        _login(page, url, "registrar")
        page.goto(f"{url}/registry/students/{pupil.uuid}/")
        page.click("a:has-text('申请关键数据变更')")
        page.wait_for_load_state()
        page.fill("#kd-name", "浏览更正")
        page.fill("#reason", "户口簿姓名与学籍不一致")
        page.set_input_files("#files", str(proof))
        page.screenshot(path=str(ARTIFACTS / f"keydata-1-form-{label}.png"), full_page=True)
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("button:has-text('提交申请')")
        page.wait_for_load_state()
        assert "已提交关键数据变更申请" in page.content()
        # no sideways scrolling at 360 px: the table scrolls inside its own box
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= viewport["width"] + 1, width
        context.close()

        context = chromium_browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        _login(page, url, "approver")
        page.goto(f"{url}/registry/keydata/")
        page.click(f"tr:has-text('{pupil_name(world, pupil)}') a >> nth=0")
        page.wait_for_load_state()
        values = page.locator("#keydata-values").inner_text()
        # inside the school the names show in full, as the school's lists show them
        assert "浏览更正" in values
        page.screenshot(path=str(ARTIFACTS / f"keydata-2-detail-{label}.png"), full_page=True)
        page.click("button:has-text('审核通过，报送教育局')")
        page.wait_for_load_state()
        assert "学校审核已通过" in page.content()
        context.close()
    finally:
        _cleanup(world, pupil.pk, pupil.uuid)


def pupil_name(world: World, pupil: object) -> str:
    from tenant_apps.registry.models import Student
    from tenants.context import school_context

    with school_context(world.a.schema):
        name = Student.objects.get(pk=pupil.pk).name  # type: ignore[attr-defined]
    connection.set_schema_to_public()
    return name
