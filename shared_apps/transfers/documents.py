"""Printable documents of a case: the status letter for the family (办理情况告知书) at
any step, and the numbered transfer certificate (转学证明) of an out-transfer."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import connection
from django.utils import timezone

from common.exceptions import ApplicationError
from common.pdf import Doc, render
from shared_apps.transfers.models import Case, CaseKind, CaseState
from shared_apps.transfers.selectors import case_steps_view
from tenant_apps.registry.facade import Person, person_of
from tenants.context import school_context

TRANSFER_KINDS = {CaseKind.TRANSFER, CaseKind.TRANSFER_OUT_EXTERNAL, CaseKind.TRANSFER_IN_EXTERNAL}
STEP_STATES = {
    "done": "已通过",
    "current": "办理中",
    "pending": "待办理",
    "rejected": "未通过",
    "withdrawn": "已撤回",
}


def _person_here(identifier: uuid.UUID | None) -> Person | None:
    """The student as the CURRENT school holds it, if it does (a school prints its own
    pupil's full name; anyone else gets the masked summary)."""
    if identifier is None or connection.schema_name == "public":
        return None
    return person_of(schema_name=connection.schema_name, identifier=identifier)


def _step_times(case: Case) -> dict[int, str]:
    times: dict[int, str] = {}
    for h in case.steps.filter(action__in=["approve", "reject", "withdraw"]).order_by("at"):
        times[h.step] = timezone.localtime(h.at).strftime("%Y-%m-%d")
    return times


def letter_pdf(case: Case, *, issuer: str) -> bytes:
    """转学办理情况告知书 (or 学籍异动办理情况告知书) for the family, printable at any step."""
    person = _person_here(case.student_uuid)
    name = person.name if person else str(case.summary.get("name", ""))
    kind = case.get_kind_display()
    title = "转学办理情况告知书" if case.kind in TRANSFER_KINDS else "学籍异动办理情况告知书"
    p = case.payload
    route = ""
    if case.kind == CaseKind.TRANSFER:
        route = f"（由{p.get('sending_school', '')}转入{p.get('receiving_school', '')}）"
    elif case.kind == CaseKind.TRANSFER_OUT_EXTERNAL:
        route = f"（转入{p.get('destination_region', '')}{p.get('destination', '')}）"
    applied = timezone.localtime(case.created_at).strftime("%Y年%m月%d日")
    today = timezone.localdate()
    times = _step_times(case)
    rows = []
    for view in case_steps_view(case):
        when = times.get(view.index, "")
        if view.state == "current" and case.due_on:
            when = f"期限 {case.due_on:%Y-%m-%d}"
        rows.append([view.label, view.owner, STEP_STATES.get(view.state, view.state), when])
    if case.state == CaseState.OPEN:
        current = case.current or {}
        closing = (
            f"目前由{current.get('owner_name', '')}办理（{current.get('label', '')}），"
            f"办理期限为{case.due_on:%Y年%m月%d日}（10个工作日）。"
        )
    elif case.state == CaseState.DONE:
        closing = "该业务已办结。"
        if case.kind == CaseKind.TRANSFER:
            closing += f"请持本告知书到{p.get('receiving_school', '')}报到，学籍档案已随之转入。"
    elif case.state == CaseState.REJECTED:
        last = case.steps.filter(action="reject").order_by("-at").first()
        closing = f"该业务未获通过，原因：{last.note if last else ''}。"
    else:
        closing = "该申请已由学校撤回。"
    doc = Doc(
        title=title,
        number=f"业务编号：{case.number}",
        before=[
            f"{name}同学家长：",
            f"您为孩子申请的{kind}{route}已于{applied}受理。截至{today:%Y年%m月%d日}，"
            "办理情况如下：",
        ],
        header=["办理环节", "办理单位", "办理情况", "时间"],
        rows=rows,
        after=[closing, "如有疑问，请与学校学籍管理员联系。学校不得要求提供上传材料以外的证明。"],
        signature=[issuer, f"{today:%Y年%m月%d日}"],
    )
    return render(doc)


def certificate_pdf(case: Case) -> bytes:
    """转学证明 of a completed out-transfer, printed by the sending school (the current
    schema must be that school's)."""
    if case.kind != CaseKind.TRANSFER_OUT_EXTERNAL or case.state != CaseState.DONE:
        raise ApplicationError("只有已办结的转出业务可以打印转学证明。", code="invalid")
    from tenants.models import School

    school = School.objects.filter(pk=case.school_id).values_list("schema_name", "name").first()
    if school is None:
        raise ApplicationError("未找到该学校。", code="not_found")
    with school_context(school[0]):
        person = _person_here(case.student_uuid)
    if person is None:
        raise ApplicationError("未找到该学生。", code="not_found")
    p = case.payload
    left = (
        dt.date.fromisoformat(str(p.get("left_on"))) if p.get("left_on") else timezone.localdate()
    )
    born = f"{person.birth_date:%Y年%m月%d日}" if person.birth_date else ""
    doc = Doc(
        title="转学证明",
        number=f"编号：{p.get('certificate_no', '')}",
        before=[
            f"{p.get('destination_region', '')}{p.get('destination', '')}：",
            f"兹有我校{person.class_name}学生{person.name}，性别{person.sex}，{born}出生，"
            f"身份证件号{person.id_number}，全国学籍号{person.national_number}，"
            f"因{p.get('reason', '')}，经学校和县级教育行政部门审核同意，"
            f"于{left:%Y年%m月%d日}转出我校，请予接收。",
            "特此证明。",
        ],
        rows=[
            ["业务编号", case.number],
            ["原就读学校", school[1]],
            ["转入学校", f"{p.get('destination_region', '')}{p.get('destination', '')}"],
        ],
        after=["本证明连同学生学籍档案复印件一并交转入学校，学籍接续以全国学籍号为准。"],
        signature=[f"{school[1]}（盖章）", f"{left:%Y年%m月%d日}"],
    )
    return render(doc)
