"""Issue 12, point 7: no internal identifier reaches a person.

The demo of `make run` is loaded and lived in the way the issue's reporter did: the
bureau approves a student through its page, the subject teacher enters marks, a pupil
transfers from 古港镇完全小学 to 淮川街道中心小学, the school is backed up. Then every page
of both hosts is opened as each demo role, and the text a person reads (HTML without its
tags and attributes) must hold no schema name (`@public`, `@s<digits>`), no
`copied_from`, no record UUID, no raw field key of the registry and no `key=value` diff."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD, login
from tests.test_isolation import _fill, _routes, placeholder_values

SKIPPED_PREFIXES = ("api/", "files/", "i18n/", "static/", "accounts/logout/")
GUGANG, HUAICHUAN = "2143016965", "2143016967"
SCHOOL_STAFF = ("A001", "A002", "A003", "A004", "A005")


class _Text(HTMLParser):
    """The text of a page as read: data outside <script>/<style>, no tags, no attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _refused() -> list[re.Pattern[str]]:
    from tenant_apps.registry.fields import COLUMNS

    keys = sorted({c.key for c in COLUMNS})
    return [
        re.compile(r"@public"),
        re.compile(r"@s\d+"),
        re.compile(r"copied_from"),
        re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}"),  # a record's UUID
        re.compile(r"(?<![A-Za-z0-9_])[a-z][a-z_]*=\S"),  # level=优秀, score=95
        re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(keys) + r")(?![A-Za-z0-9_])"),
    ]


def _school(code: str) -> tuple[int, str, str]:
    from tenants.models import School

    connection.set_schema_to_public()
    school = School.objects.get(code=code)
    return school.pk, school.schema_name, school.domains.get().domain


def _passwords_known(schemas: list[str]) -> None:
    """Demo passwords are random; the walk signs in with the test password."""
    from accounts.models import User
    from tenants.context import school_context

    for schema in schemas:
        with school_context(schema):
            for user in User.objects.all():
                user.set_password(PASSWORD)
                user.save(update_fields=["password"])
    connection.set_schema_to_public()


def _live_a_little(gugang: tuple[int, str, str], huaichuan: tuple[int, str, str]) -> dict:
    """What the demo's people do on a first day; returns URL values for the walk."""
    from common.actor import Actor
    from shared_apps.backups.models import SchoolBackup
    from shared_apps.transfers.services import CaseActor, case_decide
    from shared_apps.transfers.transfer import transfer_start
    from tenant_apps.grades.models import ClassCourse
    from tenant_apps.grades.services import marks_save
    from tenant_apps.registry.models import SchoolClass, Student
    from tenants.context import school_context

    g_id, g_schema, g_host = gugang
    h_id, h_schema, _h_host = huaichuan
    # The bureau approves one waiting pupil on its page.
    with school_context(g_schema):
        waiting = Student.objects.filter(audit_state="county_pending").order_by("pk").first()
        item = f"{g_id}:{waiting.identifier}"  # type: ignore[union-attr]
        registered = (
            Student.objects.filter(audit_state="registered", status="01")
            .order_by("school_class__entry_year", "pk")
            .first()
        )
        moving = registered.identifier  # type: ignore[union-attr]
        entry_year = registered.school_class.entry_year  # type: ignore[union-attr]
    connection.set_schema_to_public()
    bureau = login(settings.BASE_DOMAIN, "lyjy01")
    answer = bureau.post("/bureau/audit/", {"items": [item], "decision": "approve"})
    assert answer.status_code == 302
    connection.set_schema_to_public()
    # The subject teacher enters 数学 for the first pupils of a class, twice (a change).
    from accounts.models import User

    with school_context(g_schema):
        cell = ClassCourse.objects.filter(course__code="14").order_by("pk").first()
        teacher = User.objects.get(username="A005")
        pupils = list(
            Student.objects.filter(school_class_id=cell.school_class_id).order_by("pk")[:2]  # type: ignore[union-attr]
        )
        for level, score in ((3, "86"), (4, "95")):
            marks_save(
                user=teacher,
                class_course_id=cell.pk,  # type: ignore[union-attr]
                rows=[
                    {"student": str(p.identifier), "level": level, "score": score} for p in pupils
                ],
            )
        marked = str(pupils[0].identifier)
    # The registrar reports a pupil missing; the approver passes it to the bureau. A
    # suspected duplicate waits in 问题学籍.
    from tenant_apps.registry.changes.services import (
        ChangeInput,
        change_school_decide,
        change_submit,
    )
    from tenant_apps.registry.models import ProblemRecord, StatusChange

    with school_context(g_schema):
        other = (
            Student.objects.filter(audit_state="registered", status="01")
            .exclude(identifier=moving)
            .order_by("-pk")
            .first()
        )
        change = change_submit(
            student_id=other.pk,  # type: ignore[union-attr]
            data=ChangeInput(
                kind=StatusChange.Kind.MISSING,
                change_date=timezone.localdate(),
                reason_text="家长报告走失，已报警",
            ),
            uploads=[],
            actor=Actor("A002", "李建国", g_schema),
        )
        change_school_decide(
            change_id=change.pk,
            approve=True,
            reason="",
            actor=Actor("A003", "陈校长", g_schema),
            case_actor=CaseActor("A003", g_schema, None, frozenset({"registry.approve"})),
        )
        problem = ProblemRecord.objects.create(student=pupils[1], kind="suspected")
    connection.set_schema_to_public()
    # A pupil moves from 古港 to 淮川, approved by 古港's approver and the bureau.
    with school_context(h_schema):
        target = SchoolClass.objects.filter(entry_year=entry_year).order_by("pk").first()
        case = transfer_start(
            actor=Actor("A002", "李建国", h_schema),
            sending_school_id=g_id,
            student_uuid=moving,
            target_class_id=target.pk,  # type: ignore[union-attr]
            reason="随父母工作调动",
        )
    connection.set_schema_to_public()
    case_decide(
        case_id=case.pk,
        actor=CaseActor("A003", g_schema, None, frozenset({"registry.approve"})),
        approve=True,
        step=0,
    )
    case_decide(
        case_id=case.pk,
        actor=CaseActor("lyjy01", "public", "430181000000", frozenset({"bureau.audit"})),
        approve=True,
    )
    # The school administrator backs the school up (as 立即备份 records it; pg_dump runs
    # in its own process and cannot see this test's uncommitted schools).
    SchoolBackup.objects.create(
        school_id=g_id,
        key=f"platform/backups/{g_schema}/demo.dump",
        size=380_000,
        sha256="0" * 64,
        kind="manual",
        created_by=f"A001@{g_schema}",
    )
    connection.set_schema_to_public()
    return {
        "moved": str(moving),
        "marked": marked,
        "case_id": str(case.pk),
        "school_id": g_id,
        "change_id": str(change.pk),
        "problem_id": str(problem.pk),
    }


def entry_year_of_demo() -> int:
    from demo.data import _school_year_start

    return _school_year_start(timezone.localdate())


def _walk(client: Client, urlconf: str, values: dict[str, str], who: str) -> list[str]:
    refused = _refused()
    problems: list[str] = []
    for route in _routes(urlconf):
        if route.startswith(SKIPPED_PREFIXES):
            continue
        path = _fill(route, values)
        response = client.get(path)
        connection.set_schema_to_public()
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = _Text()
        parser.feed(response.content.decode())
        # The two-factor page spells out its otpauth:// link for apps that cannot scan.
        text = re.sub(r"otpauth://\S+", "", " ".join(parser.parts))
        # E-mail examples (如 name@example.com) are no field keys.
        text = re.sub(r"[\w.+-]+@[\w-]+\.[\w.]+", "", text)
        for pattern in refused:
            for found in sorted(set(pattern.findall(text))):
                at = text.find(found)
                problems.append(f"{who} {path}: {found!r} in …{text[max(at - 40, 0) : at + 40]!r}…")
    return problems


def test_no_internal_identifier_on_any_page_of_the_demo(public: None, tmp_path: Path) -> None:
    from demo.data import demo_load

    # given: the demo, lived in for a day
    demo_load(state_dir=tmp_path)
    gugang, huaichuan = _school(GUGANG), _school(HUAICHUAN)
    _passwords_known(["public", gugang[1], huaichuan[1]])
    done = _live_a_little(gugang, huaichuan)
    # when: every page is opened by each demo role on its host
    problems: list[str] = []
    for host, schema_values in (
        (
            gugang[2],
            {
                "student_id": done["marked"],
                "change_id": done["change_id"],
                "problem_id": done["problem_id"],
            },
        ),
        (huaichuan[2], {"student_id": done["moved"]}),
    ):
        values = placeholder_values(case_id=done["case_id"], **schema_values)
        for username in SCHOOL_STAFF:
            client = login(host, username)
            problems += _walk(client, "config.urls_school", values, f"{username}@{host}")
    values = placeholder_values(case_id=done["case_id"], school_id=str(done["school_id"]))
    for username in ("lyjy01", "admin"):
        client = login(settings.BASE_DOMAIN, username)
        problems += _walk(client, "config.urls_public", values, f"{username}@bureau")
    # then
    assert problems == [], "\n".join(problems)
    # and people, schools and diffs read as such
    moved = login(huaichuan[2], "A002").get(f"/registry/students/{done['moved']}/")
    page = moved.content.decode()
    assert "浏阳市教育局 · 刘学籍（lyjy01）" in page
    assert "古港镇完全小学（转学时随学籍转入的原记录）" in page
    assert "古港镇完全小学 · 李建国（A002）" in page  # an entry copied from the sender
    # the bureau's approval in a pupil's own history is the bureau's, not the school's
    own = login(gugang[2], "A002").get(f"/registry/students/{done['marked']}/").content.decode()
    assert "浏阳市教育局 · 刘学籍（lyjy01）" in own
    assert "古港镇完全小学 · 刘学籍" not in own
    admin = login(gugang[2], "A001")
    assert "古港镇完全小学 · 周晓梅（A001）" in admin.get("/backups/").content.decode()
    log = admin.get("/accounts/audit/").content.decode()
    assert "等级：优秀，成绩：95.0" in log
    assert "古港镇完全小学 · 赵老师（A005）" in log
    # the approver tells the pupils waiting apart by their whole L numbers
    from tenant_apps.registry.models import Student
    from tenants.context import school_context

    with school_context(gugang[1]):
        waiting = list(
            Student.objects.filter(audit_state="school_pending").values_list(
                "national_number", flat=True
            )
        )
    connection.set_schema_to_public()
    queue = login(gugang[2], "A003").get("/registry/audit/").content.decode()
    assert waiting
    assert all(n.startswith("L") and n in queue for n in waiting)
    # the renumbering page states the rule it numbers by, not a placeholder's name
    renumber = login(settings.BASE_DOMAIN, "lyjy01").get(
        "/bureau/renumber/", {"stage": "primary", "entry_year": str(entry_year_of_demo())}
    )
    text = renumber.content.decode()
    assert "示例" not in text
    assert "平台默认规则（本省规则未配置）：小学13位" in text
    # the bureau's own decision names what it decided, and who
    own = login(settings.BASE_DOMAIN, "lyjy01").get("/accounts/audit/").content.decode()
    assert "古港镇完全小学 1 名学生" in own
    assert "审核结果</span>：<ins>教育局审核通过</ins>" in own
    assert "浏阳市教育局 · 刘学籍（lyjy01）" in own
