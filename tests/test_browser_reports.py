"""The report app in Debian Chromium with a real worker (issue 15, point 10):

* 综合查询 → export: a registrar builds a query in the builder (a condition, a chosen
  column), runs it, and downloads its Excel, which holds exactly the rows the page showed,
  masked, under a Chinese file name;
* a print-centre batch: a whole-school 学籍卡片 run as a job, whose progress bar moves
  to 100 % and whose 查看结果 saves one ZIP with a PDF per class, each naming its pupils;
* the certificate pages: issue a 学籍证明, see its verification code and open the public
  verification page, which shows only the masked name, school, kind and date.

Screenshots go to test-artifacts/ (query-*.png, print-batch-*.png, certificate-*.png)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from conftest import World
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.worker]

PUPILS = {  # class number -> names (registered, 在读), besides the world's sentinel
    2: ["浏览甲一", "浏览甲二", "浏览甲三"],
    3: ["浏览乙一", "浏览乙二"],
}


@pytest.fixture
def pupils(live_db: World) -> Iterator[World]:
    """Two more classes of committed, registered pupils in school A; removed afterwards."""
    from tenant_apps.registry.models import SchoolClass, Student
    from tenants.context import school_context

    with school_context(live_db.a.schema):
        made = []
        for number, names in PUPILS.items():
            klass = SchoolClass.objects.create(
                stage="primary",
                entry_year=2024,
                number=number,
                class_no=SchoolClass.make_class_no("primary", 2024, number),
            )
            made.append(klass.pk)
            for i, name in enumerate(names, start=1):
                Student.objects.create(
                    name=name,
                    sex="1" if i % 2 else "2",
                    birth_date=dt.date(2018, 5, i),
                    id_number=f"43018120180{number}0{i}",  # refused nowhere: a test record
                    birthplace="430181108000",
                    household_region="430181108000",
                    school_class=klass,
                    number_in_class=i,
                    entry_year_month="202409",
                    audit_state=Student.Audit.REGISTERED,
                )
    connection.set_schema_to_public()
    try:
        yield live_db
    finally:
        connection.set_schema_to_public()
        with school_context(live_db.a.schema):
            Student.objects.filter(school_class_id__in=made).delete()
            SchoolClass.objects.filter(pk__in=made).delete()
        connection.set_schema_to_public()


def test_query_builder_runs_and_exports_what_it_shows(
    pupils: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    import openpyxl

    url = f"http://{pupils.a.host}:{server}"
    context = chromium_browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    _login(page, url, "registrar")
    page.goto(f"{url}/reports/query/")
    # a condition: 性别 is 女 (code 2), added through the builder's field list
    page.select_option("select[name=add]", label="性别")
    with page.expect_navigation():
        page.click("button[value=add]")
    page.select_option("select[name=v0]", "2")
    with page.expect_navigation():
        page.click("button[value=run]")
    assert "共 2 名学生" in page.locator(".q-count").inner_text()
    shown = sorted(page.locator(".q-results tbody tr td:first-child").all_inner_texts())
    assert shown == sorted(["浏览甲二", "浏览乙二"])
    page.screenshot(path=str(ARTIFACTS / "query-results.png"), full_page=True)

    with page.expect_download() as info:
        page.click("a[data-export]")
    download = info.value
    assert download.suggested_filename.startswith("综合查询-")
    assert download.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    rows = [
        [c for c in row if c is not None]
        for row in book.active.iter_rows(values_only=True)  # type: ignore[union-attr]
        if any(c is not None for c in row)
    ]
    names = sorted(cell for row in rows for cell in row if cell in ("浏览甲二", "浏览乙二"))
    assert names == sorted(["浏览甲二", "浏览乙二"])
    everything = " ".join(str(c) for row in rows for c in row)
    assert "浏览甲一" not in everything
    assert "哨兵甲乙" not in everything

    # the same page on a phone: the builder and the results fit 360 px
    phone = chromium_browser.new_context(viewport={"width": 360, "height": 780}).new_page()
    _login(phone, url, "registrar")
    phone.goto(page.url)
    assert "共 2 名学生" in phone.locator(".q-count").inner_text()
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the query page is {overflow}px wider than a phone"
    phone.screenshot(path=str(ARTIFACTS / "query-360.png"), full_page=True)
    phone.context.close()
    context.close()


def test_a_print_batch_shows_its_progress_and_saves_one_zip_by_class(
    pupils: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
    celery_worker_thread: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pypdf import PdfReader

    from shared_apps.jobs.models import Job
    from tenant_apps.reports.printing import services

    # The live server and the worker run in this process: three classes make a batch.
    monkeypatch.setattr(services, "BATCH_THRESHOLD", 3)
    url = f"http://{pupils.a.host}:{server}"
    context = chromium_browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    polled: list[int] = []
    page.on(
        "response",
        lambda r: polled.append(r.json()["percent"]) if "/api/v1/jobs/" in r.url else None,
    )
    _login(page, url, "registrar")
    try:
        page.goto(f"{url}/reports/print/")
        page.select_option("#print-document", label="学籍卡片")
        page.select_option("#print-scope", "school")
        page.select_option("#print-format", "pdf")
        with page.expect_navigation():
            page.click(".print-form button[type=submit]")
        assert page.locator(".print-job .job").count() == 1
        assert "正在后台生成" in page.content()
        page.screenshot(path=str(ARTIFACTS / "print-batch-started.png"), full_page=True)
        page.locator(".print-job .job-percent").wait_for()
        page.wait_for_selector(".job[data-state=succeeded]", timeout=60_000)
        page.wait_for_load_state()
        page.locator(".job-result:not([hidden])").wait_for(timeout=10_000)
        assert page.locator(".job-percent").first.inner_text() == "100%"
        assert "已生成学籍卡片（5 名学生）" in page.locator(".job-message").first.inner_text()
        # the bar itself is full: drawn by the poller, or by the page reloaded at the end
        page.wait_for_function(
            "() => { const s = document.querySelector('.print-job .progress span');"
            " return s.style.width === '100%' || s.dataset.width === '100'; }",
            timeout=10_000,
        )
        assert polled, "the progress bar never asked the job how far it was"
        page.wait_for_timeout(600)  # the bar's width eases in over 0.4 s (app.css)
        page.screenshot(path=str(ARTIFACTS / "print-batch-done.png"), full_page=True)

        with page.expect_download() as info:
            page.click(".job-result")
        download = info.value
        assert download.suggested_filename.endswith(".zip"), download.suggested_filename
        assert download.suggested_filename.startswith("学籍卡片"), download.suggested_filename
        archive = zipfile.ZipFile(download.path())
        pdfs = sorted(n for n in archive.namelist() if n.endswith(".pdf"))
        assert len(pdfs) == 2, pdfs  # one a class (the sentinel is a draft: no card)
        text = ""
        for name in pdfs:
            reader = PdfReader(io.BytesIO(archive.read(name)))
            text += "".join(p.extract_text() for p in reader.pages)
        for names in PUPILS.values():
            for name in names:
                assert name in text, name
    finally:
        connection.set_schema_to_public()
        Job.objects.filter(kind=services.JOB_KIND).delete()
        context.close()


def test_a_certificate_is_issued_and_its_public_page_shows_only_what_it_may(
    pupils: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    from pypdf import PdfReader

    from tenant_apps.reports.models import Certificate
    from tenants.context import school_context

    url = f"http://{pupils.a.host}:{server}"
    context = chromium_browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    _login(page, url, "registrar")
    try:
        page.goto(f"{url}/reports/certificates/?find=浏览甲一")
        page.fill("input[name=purpose]", "办理转学")
        with page.expect_navigation():
            page.click("button:has-text('开具学籍证明')")
        page.wait_for_selector("dl.facts code")
        assert "浏览甲一" in page.content()
        code = page.locator("dl.facts code").inner_text().strip()
        page.screenshot(path=str(ARTIFACTS / "certificate-detail.png"), full_page=True)
        # the printed certificate carries the same code (its QR code opens the page below)
        # (fetched by the page itself: the browser resolves the school's host name)
        kind, encoded = page.evaluate(
            """async (href) => {
                const r = await fetch(href);
                const bytes = new Uint8Array(await r.arrayBuffer());
                let text = "";
                for (const b of bytes) text += String.fromCharCode(b);
                return [r.headers.get("content-type"), btoa(text)];
            }""",
            page.locator("a:has-text('查看PDF')").get_attribute("href"),
        )
        assert kind == "application/pdf"
        body = base64.b64decode(encoded)
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
        assert code in text
        assert "浏览甲一" in text
        (ARTIFACTS / "certificate.pdf").write_bytes(body)
        subprocess.run(  # noqa: S603 - fixed arguments: page 1 as a PNG to look at
            [
                "/usr/bin/pdftoppm",
                "-png",
                "-r",
                "60",
                "-singlefile",
                "-f",
                "1",
                "-l",
                "1",
                str(ARTIFACTS / "certificate.pdf"),
                str(ARTIFACTS / "certificate-pdf"),
            ],
            check=True,
        )

        # anyone with the QR code, signed in or not, sees the masked name and nothing more
        public = chromium_browser.new_context(viewport={"width": 360, "height": 780}).new_page()
        public.goto(f"{url}/verify/{code}/")
        card = public.locator("[data-verify-state]")
        assert card.get_attribute("data-verify-state") == "valid"
        text = card.inner_text()
        assert "真实有效" in text
        assert pupils.a.name in text
        assert "学籍证明" in text
        assert "浏览甲一" not in public.content()
        assert "430181" not in public.content()
        assert "办理转学" not in public.content()
        assert public.locator("nav, .menu, a[href*='login']").count() == 0
        public.screenshot(path=str(ARTIFACTS / "certificate-verify-360.png"), full_page=True)
        public.context.close()
    finally:
        connection.set_schema_to_public()
        with school_context(pupils.a.schema):
            Certificate.objects.filter(values__name="浏览甲一").delete()
        connection.set_schema_to_public()
        context.close()
