"""The school's own profile (学校(机构)基础信息管理, domain.md §2.1, §3.1 step 1).

The school administrator edits address, principal, phone, 办学类型, 举办者, 简介, the
12-digit location code, postcode, e-mail, website and the campuses (校区) on the school's
host; name, 学校标识码, stages and county stay the bureau's (tenants.services). The values
live on the public School row and its Campus rows, so the bureau's pages read the current
ones without asking the school's schema. One save is one transaction: the row, the
campuses and the audit entry (in the school's own log, before/after under Chinese labels).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils import timezone

from accounts.audit import WRITE, audit_record
from common.actor import Actor
from common.exceptions import ApplicationError
from common.normalize import normalize_digits
from shared_apps.regions.validators import validate_region_code
from tenants.models import Campus, School, SchoolType, Sponsor

MSG_INVALID = "学校信息有误，请按提示修改。"
MSG_NOT_FOUND = "未找到该学校。"
MAX_CAMPUSES = 20
_PHONE = re.compile(r"^[0-9][0-9\-]{6,19}$")
_POSTCODE = re.compile(r"^[0-9]{6}$")

# The fields the school edits, in page order, with the labels the audit log uses.
LABELS: dict[str, str] = {
    "address": "地址",
    "location_code": "所在地行政区划代码",
    "postcode": "邮政编码",
    "principal": "校长",
    "phone": "联系电话",
    "school_type": "办学类型",
    "sponsor": "举办者",
    "email": "电子信箱",
    "website": "学校网址",
    "intro": "学校简介",
}
CAMPUS_LABEL = "校区"
LIMITS = {
    "address": 200,
    "principal": 50,
    "phone": 20,
    "email": 100,
    "website": 200,
    "intro": 2000,
}


@dataclass(frozen=True)
class CampusInput:
    name: str
    address: str = ""
    phone: str = ""


@dataclass(frozen=True)
class ProfileInput:
    address: str = ""
    location_code: str = ""
    postcode: str = ""
    principal: str = ""
    phone: str = ""
    school_type: str = ""
    sponsor: str = ""
    email: str = ""
    website: str = ""
    intro: str = ""
    campuses: Sequence[CampusInput] = field(default_factory=tuple)


def _clean(data: ProfileInput, county_code: str) -> tuple[dict[str, str], list[CampusInput]]:
    """Normalised values, or ApplicationError with one message per field (keyed as the
    input is)."""
    values = {name: " ".join(str(getattr(data, name) or "").split()) for name in LABELS}
    values["intro"] = str(data.intro or "").strip()
    errors: dict[str, list[str]] = {}

    def bad(name: str, message: str) -> None:
        errors.setdefault(name, []).append(f"{LABELS.get(name, CAMPUS_LABEL)}：{message}")

    for name, limit in LIMITS.items():
        if len(values[name]) > limit:
            bad(name, f"不能超过 {limit} 个字。")
    for name in ("phone", "postcode", "location_code"):
        values[name] = normalize_digits(values[name])
    if values["phone"] and not _PHONE.match(values["phone"]):
        bad("phone", "应为手机号或带区号的固定电话，如 0731-83000000。")
    if values["postcode"] and not _POSTCODE.match(values["postcode"]):
        bad("postcode", "应为 6 位数字。")
    if values["location_code"]:
        try:
            values["location_code"] = validate_region_code(values["location_code"])
        except ValidationError as exc:
            bad("location_code", exc.messages[0])
        else:
            if county_code and values["location_code"][:6] != county_code[:6]:
                bad("location_code", "不在本校所在县（市、区）内。")
    if values["school_type"] and values["school_type"] not in SchoolType.values:
        bad("school_type", "请从列表中选择。")
    if values["sponsor"] and values["sponsor"] not in Sponsor.values:
        bad("sponsor", "请从列表中选择。")
    if values["email"]:
        try:
            validate_email(values["email"])
        except ValidationError:
            bad("email", "格式不正确。")
    if values["website"]:
        try:
            URLValidator(schemes=["http", "https"])(values["website"])
        except ValidationError:
            bad("website", "应为以 http:// 或 https:// 开头的网址。")
    campuses = []
    seen: set[str] = set()
    for n, campus in enumerate(data.campuses, 1):
        name = " ".join(campus.name.split())
        address = " ".join(campus.address.split())
        phone = normalize_digits(campus.phone)
        if not (name or address or phone):
            continue  # an empty row of the form
        if not name:
            bad("campuses", f"第{n}个校区请填写校区名称。")
        elif len(name) > 60 or len(address) > 200:
            bad(
                "campuses", f"第{n}个校区（{name[:60]}）：名称不超过 60 个字，地址不超过 200 个字。"
            )
        elif name in seen:
            bad("campuses", f"校区名称“{name}”重复。")
        elif phone and not _PHONE.match(phone):
            bad("campuses", f"校区“{name}”的电话格式不正确。")
        seen.add(name)
        campuses.append(CampusInput(name=name, address=address, phone=phone))
    if len(campuses) > MAX_CAMPUSES:
        bad("campuses", f"最多登记 {MAX_CAMPUSES} 个校区。")
    if errors:
        first = next(iter(errors.values()))[0]
        raise ApplicationError(first, code="invalid", extra=errors)
    return values, campuses


def _display(name: str, value: str) -> str:
    """The value as a person reads it in the log: code tables by their labels."""
    if name == "school_type":
        return str(dict(SchoolType.choices).get(value, value))
    if name == "sponsor":
        return str(dict(Sponsor.choices).get(value, value))
    return value


def campuses_text(campuses: Sequence[Any]) -> str:
    """One line for the audit log: 东校区（长沙路1号，0731-83000001）；西校区."""
    parts = []
    for c in campuses:
        details = "，".join(v for v in (c.address, c.phone) if v)
        parts.append(f"{c.name}（{details}）" if details else c.name)
    return "；".join(parts)


@transaction.atomic
def school_profile_update(
    *, school_id: int, data: ProfileInput, actor: Actor, request: Any = None
) -> School:
    """Save the school's profile and campuses (the campuses replace the previous list)
    and mark the profile reviewed now, even when nothing changed (the start-of-year
    checklist's confirmation). Audited in the current schema with the changed values
    only, before and after, under their Chinese labels."""
    school = School.objects.select_for_update().filter(pk=school_id, kind="school").first()
    if school is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    values, campuses = _clean(data, school.county_id or "")
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    for name, value in values.items():
        old = str(getattr(school, name) or "")
        if old != value:
            before[LABELS[name]] = _display(name, old)
            after[LABELS[name]] = _display(name, value)
            setattr(school, name, value)
    old_campuses = campuses_text(list(school.campuses.all()))
    new_campuses = campuses_text(campuses)
    if old_campuses != new_campuses:
        before[CAMPUS_LABEL], after[CAMPUS_LABEL] = old_campuses, new_campuses
        school.campuses.all().delete()
        Campus.objects.bulk_create(
            Campus(school=school, name=c.name, address=c.address, phone=c.phone, position=n)
            for n, c in enumerate(campuses)
        )
    school.profile_reviewed_at = timezone.now()
    school.profile_reviewed_by = actor.label[:80]
    school.save(update_fields=[*LABELS, "profile_reviewed_at", "profile_reviewed_by"])
    audit_record(
        request=request,
        actor=actor,
        action=WRITE,
        object_type="school",
        object_id=school.pk,
        object_repr=f"{school.name}：学校基本信息" + ("" if after else "（核对无误）"),
        before=before,
        after=after,
    )
    return school  # type: ignore[no-any-return]
