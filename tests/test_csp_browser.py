"""The pages pass their Content-Security-Policy in a real browser (Debian Chromium).

Every page of both hosts that opens without a parameter, plus a student's page, a
school's page and the pages whose inline handlers and style attributes moved into
static/js/page.js, is loaded as the roles that use it; a `securitypolicyviolation`
listener installed before any page script, and the console, must report nothing. The
moved behaviours are exercised: the folding menu, the language switch, the change-kind
select, a confirmation, and the bars' widths.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from conftest import SENTINEL_STUDENT, World
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401
from tests.test_isolation import _routes

pytestmark = pytest.mark.browser

# Installed into every page before its own scripts: collects what the policy blocked.
WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " "
    + (e.sourceFile || "") + ":" + (e.lineNumber || 0) + " " + (e.sample || ""));
});
"""
# Parameterless routes a browser cannot usefully open: downloads, POST-only actions, and
# logging out (which would end the walk's session).
SKIP = (
    "accounts/logout/",
    "export/",
    "i18n/setlang/",
    "end-others/",
    "students/submit/",
    "dashboard/report/",  # the monthly PDF
)


class Watched:
    """A browser page whose CSP violations and console CSP errors are recorded."""

    def __init__(self, browser: Any, viewport: dict[str, int] | None = None) -> None:
        self.context = browser.new_context(viewport=viewport or {"width": 1366, "height": 900})
        self.context.add_init_script(WATCH_VIOLATIONS)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.violations: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.console.append(f"page error: {exc}"))

    def _console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.console.append(f"{self.page.url}: {text}")

    def collect(self) -> None:
        """Read the listener's findings of the current page (before leaving it)."""
        found = self.page.evaluate("window.__csp || []")
        self.violations += [f"{self.page.url}: {v}" for v in found]

    def visit(self, url: str) -> None:
        # A POST-only route answers GET with an empty 405, which Chromium replaces by its
        # own error page (and that navigation would race the next one): no page of ours.
        origin = "/".join(url.split("/", 3)[:3])
        if self.page.url.startswith(origin + "/"):  # fetch needs a page of the same host
            status = self.page.evaluate(
                "url => fetch(url, {credentials: 'same-origin'}).then(r => r.status)", url
            )
            if status == 405:
                return
        self.page.goto(url)
        self.page.wait_for_load_state()
        self.collect()

    def problems(self) -> list[str]:
        self.collect()
        return self.violations + self.console


def _pages(urlconf: str) -> list[str]:
    return [
        "/" + r
        for r in _routes(urlconf)
        if "<" not in r and not r.startswith(("api/", "static/")) and not r.endswith(SKIP)
    ]


def _sentinel_identifier(world: World) -> str:
    from tenant_apps.registry.models import Student
    from tenants.context import school_context

    with school_context(world.a.schema):
        identifier = str(Student.objects.get(name=SENTINEL_STUDENT).identifier)
    connection.set_schema_to_public()
    return identifier


def test_school_pages_run_without_policy_violations(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    url = f"http://{live_db.a.host}:{server}"
    student = _sentinel_identifier(live_db)
    for username in ("registrar", "admin"):
        watched = Watched(chromium_browser)
        watched.visit(f"{url}/accounts/login/")
        _login(watched.page, url, username)
        watched.collect()
        for path in [*_pages("config.urls_school"), f"/registry/students/{student}/"]:
            watched.visit(f"{url}{path}")
        assert watched.problems() == [], username
        watched.context.close()


def test_bureau_pages_run_without_policy_violations(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    url = f"http://{settings.BASE_DOMAIN}:{server}"
    for username in (live_db.bureau_user, live_db.operator):
        watched = Watched(chromium_browser)
        watched.visit(f"{url}/accounts/login/")
        _login(watched.page, url, username)
        watched.collect()
        for path in [*_pages("config.urls_public"), f"/bureau/schools/{live_db.a.id}/"]:
            watched.visit(f"{url}{path}")
        assert watched.problems() == [], username
        watched.context.close()


def test_moved_handlers_still_work_under_the_policy(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    from tenants.models import School

    school = f"http://{live_db.a.host}:{server}"
    student = _sentinel_identifier(live_db)

    # the side menu folds on a tablet and opens from its toggle
    tablet = Watched(chromium_browser, {"width": 768, "height": 1024})
    _login(tablet.page, school, "registrar")
    assert not tablet.page.locator(".sidebar").is_visible() or tablet.page.evaluate(
        "document.querySelector('.sidebar').getBoundingClientRect().right <= 0"
    )
    tablet.page.click(".menu-toggle")
    assert tablet.page.evaluate("document.body.classList.contains('nav-open')")
    assert tablet.page.get_attribute(".menu-toggle", "aria-expanded") == "true"
    tablet.page.screenshot(path=str(ARTIFACTS / "csp-tablet-menu-open.png"))

    # the change-kind select submits its form when a kind is picked
    tablet.visit(f"{school}/registry/students/{student}/changes/new/")
    with tablet.page.expect_navigation():
        tablet.page.select_option("#kind", index=1)
    assert "kind=" in tablet.page.url
    tablet.collect()

    # the statistics bars get their widths from data-width (no style attribute)
    tablet.visit(f"{school}/registry/stats/")
    widths = tablet.page.eval_on_selector_all(
        ".bar [data-width]", "els => els.map(e => [e.dataset.width, e.style.width])"
    )
    assert widths, "the statistics page shows bars"
    assert all(style == f"{width}%" for width, style in widths), widths
    tablet.page.screenshot(path=str(ARTIFACTS / "csp-school-stats.png"), full_page=True)

    # the language switch submits on change: the page comes back in English
    with tablet.page.expect_navigation():
        tablet.page.select_option("select[name=language]", "en")
    assert tablet.page.get_attribute("html", "lang") == "en"
    assert tablet.problems() == []
    tablet.context.close()

    # a confirmation on the bureau's school page: dismissed, nothing happens
    bureau_url = f"http://{settings.BASE_DOMAIN}:{server}"
    bureau = Watched(chromium_browser)
    _login(bureau.page, bureau_url, live_db.bureau_user)
    bureau.visit(f"{bureau_url}/")
    home_widths = bureau.page.eval_on_selector_all(
        ".barcell [data-width]", "els => els.map(e => [e.dataset.width, e.style.width])"
    )
    assert home_widths, "the bureau's home shows its schools' bars"
    assert all(style == f"{width}%" for width, style in home_widths), home_widths
    bureau.page.screenshot(path=str(ARTIFACTS / "csp-bureau-home.png"), full_page=True)
    bureau.visit(f"{bureau_url}/bureau/schools/{live_db.a.id}/")
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    bureau.page.on("dialog", dismiss)
    bureau.page.click("button.danger")
    assert asked == ["停用后该校无法登录使用，数据完整保留。确定停用？"]
    assert bureau.page.url.endswith(f"/bureau/schools/{live_db.a.id}/")
    assert School.objects.get(pk=live_db.a.id).status == School.Status.ACTIVE
    assert bureau.problems() == []
    bureau.context.close()
