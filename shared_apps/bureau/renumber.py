"""County-wide renumbering of the 学籍辅号 (domain.md §2.2, §3.11).

A county bureau picks one grade (stage + entry year). Every student of that grade in
the county's schools is sorted by school (学校标识码), class number and in-class number
(班内学号) and gets a serial in the province's format. The bureau previews, applies (one
transaction writing every school's schema, with a StudentEvent per changed student),
then locks; while locked nobody, the schools included, can change a 辅号 of that grade
(`grade_locked`, checked by registry.students.services on every write path). Only the county
unlocks, with a reason; every step is in the audit log.

The format is pluggable per province: `format_register("43", AuxFormat(...))`; the
longest registered prefix of the county code wins, "" is the default (§2.2's example).
Reads of schools return frozen dataclasses; no model instance crosses a schema switch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from common.actor import Actor
from common.exceptions import ApplicationError
from shared_apps.bureau.models import AuxNumbering
from shared_apps.regions.models import Region
from tenant_apps.registry.facade import aux_numbers_write, grade_students
from tenants.models import School

STAGES = {"primary": "小学", "junior": "初中", "senior": "高中"}
STAGE_DIGIT = {"primary": "1", "junior": "2", "senior": "3"}

MSG_NOT_COUNTY = "学籍辅号只能由县级教育局编排。"
MSG_STAGE = "请选择学段。"
MSG_YEAR = "请填写四位入学年份，如2024。"
MSG_LOCKED = "该年级的学籍辅号已锁定，须先解锁才能重新编排。"
MSG_STALE = "预览之后名单有变化（学生或班内学号变动），请重新预览核对后再编排。"
MSG_EMPTY = "本县该年级没有在籍学生。"
MSG_NOT_APPLIED = "该年级尚未编排学籍辅号，不能锁定。"
MSG_ALREADY_LOCKED = "该年级的学籍辅号已经锁定。"
MSG_NOT_LOCKED = "该年级的学籍辅号未锁定。"
MSG_REASON = "请填写解锁原因。"
MSG_CAPACITY = "{what}超出本省学籍辅号规则的位数（{limit}），无法编号；请联系平台配置本省规则。"


# -- formats -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuxContext:
    """What a province's format may use to build one student's 辅号."""

    stage: str  # primary / junior / senior
    entry_year: int
    county_code: str  # 6 digits
    school_code: str  # 10-digit 学校标识码
    school_ordinal: int  # 1-based place of the school in the county, by 学校标识码
    serial: int  # 1-based place of the student in the school's grade
    county_serial: int  # 1-based place of the student in the county's grade


@dataclass(frozen=True)
class AuxFormat:
    key: str
    label: str
    make: Callable[[AuxContext], str]


def _fit(value: int, digits: int, what: str) -> str:
    if value >= 10**digits:
        raise ApplicationError(MSG_CAPACITY.format(what=what, limit=f"{digits}位"), code="invalid")
    return f"{value:0{digits}d}"


def example_format(ctx: AuxContext) -> str:
    """§2.2's example province. Primary, 13 digits: stage + 2-digit year + 2-digit county
    + 2-digit township + 2-digit school + 4-digit serial; junior/senior, 11 digits: stage
    + year + county + 2-digit school + serial. The platform records no township per
    school, so township+school together are the school's 4-digit place in the county;
    serials restart in each school (the school part already tells schools apart)."""
    head = f"{STAGE_DIGIT[ctx.stage]}{ctx.entry_year % 100:02d}{ctx.county_code[4:6]}"
    school_digits = 4 if ctx.stage == "primary" else 2
    return (
        head
        + _fit(ctx.school_ordinal, school_digits, "本县学校数")
        + _fit(ctx.serial, 4, "一所学校该年级的学生数")
    )


# Shown to the bureau as the rule it numbers by: what the digits are, and that it is the
# platform's default until the province's own rule is registered (format_register).
DEFAULT_FORMAT = AuxFormat(
    "example",
    "平台默认规则（本省规则未配置）：小学13位 = 学段1位 + 入学年份2位 + 县区2位"
    " + 本县学校序号4位 + 校内序号4位；初中、高中11位 = 学段1位 + 入学年份2位"
    " + 县区2位 + 本县学校序号2位 + 校内序号4位",
    example_format,
)
_FORMATS: dict[str, AuxFormat] = {"": DEFAULT_FORMAT}


def format_register(prefix: str, fmt: AuxFormat) -> None:
    """A province's (or a narrower region's) format, keyed by the start of its code."""
    _FORMATS[prefix] = fmt


def format_unregister(prefix: str) -> None:
    if prefix:
        _FORMATS.pop(prefix, None)


def format_for(county_code: str) -> AuxFormat:
    best = max((p for p in _FORMATS if county_code.startswith(p)), key=len)
    return _FORMATS[best]


# -- reading one school's grade (inside the school's schema) -----------------------------


# -- the plan ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRow:
    school_id: int
    school_name: str
    class_name: str
    number_in_class: int | None
    name: str  # masked
    old: str
    new: str


@dataclass(frozen=True)
class SchoolPlan:
    school_id: int
    school_name: str
    schema_name: str
    assignments: tuple[tuple[int, str, str], ...]  # (student id in the school, old, new)


@dataclass(frozen=True)
class Plan:
    county: str  # 12-digit code
    county_name: str
    stage: str
    entry_year: int
    fmt: AuxFormat
    rows: tuple[PlanRow, ...]
    schools: tuple[SchoolPlan, ...]
    digest: str  # fingerprint of the assignment: apply refuses a list that changed since
    numbering: AuxNumberingView | None = None

    @property
    def changed(self) -> int:
        return sum(1 for r in self.rows if r.old != r.new)

    @property
    def grade_label(self) -> str:
        return f"{STAGES[self.stage]}{self.entry_year}级"


@dataclass(frozen=True)
class AuxNumberingView:
    id: int
    stage: str
    entry_year: int
    state: str
    state_label: str
    count: int
    applied_by: str
    applied_at: object
    locked_by: str
    locked_at: object
    unlocked_by: str
    unlocked_at: object
    unlock_reason: str
    grade_label: str = field(default="")


def _view(n: AuxNumbering) -> AuxNumberingView:
    return AuxNumberingView(
        id=n.pk,
        stage=n.stage,
        entry_year=n.entry_year,
        state=n.state,
        state_label=n.get_state_display(),
        count=n.count,
        applied_by=n.applied_by,
        applied_at=n.applied_at,
        locked_by=n.locked_by,
        locked_at=n.locked_at,
        unlocked_by=n.unlocked_by,
        unlocked_at=n.unlocked_at,
        unlock_reason=n.unlock_reason,
        grade_label=f"{STAGES.get(n.stage, n.stage)}{n.entry_year}级",
    )


def county_of(user: User) -> Region:
    """The county a bureau user governs; renumbering is a county's job only."""
    region = user.region
    if region is None or region.level != Region.Level.COUNTY:
        raise ApplicationError(MSG_NOT_COUNTY, code="permission_denied")
    return region


def _grade_args(stage: str, entry_year: object) -> tuple[str, int]:
    if stage not in STAGES:
        raise ApplicationError(MSG_STAGE, code="invalid", extra={"stage": [MSG_STAGE]})
    text = str(entry_year or "").strip()
    if not (text.isdigit() and len(text) == 4 and 1990 <= int(text) <= 2100):
        raise ApplicationError(MSG_YEAR, code="invalid", extra={"entry_year": [MSG_YEAR]})
    return stage, int(text)


def renumber_plan(*, user: User, stage: str, entry_year: object) -> Plan:
    """Read every school of the county and compute the new numbers (nothing written)."""
    county = county_of(user)
    stage, year = _grade_args(stage, entry_year)
    fmt = format_for(county.code[:6])
    schools = list(
        School.objects.schools()
        .filter(county=county, provisioning=School.Provisioning.READY)
        .order_by("code")
        .values_list("pk", "name", "schema_name", "code")
    )
    rows: list[PlanRow] = []
    plans: list[SchoolPlan] = []
    county_serial = 0
    for ordinal, (school_id, name, schema, code) in enumerate(schools, 1):
        students = grade_students(schema_name=schema, stage=stage, entry_year=year)
        assignments = []
        for serial, s in enumerate(students, 1):
            county_serial += 1
            new = fmt.make(
                AuxContext(
                    stage=stage,
                    entry_year=year,
                    county_code=county.code[:6],
                    school_code=code or "",
                    school_ordinal=ordinal,
                    serial=serial,
                    county_serial=county_serial,
                )
            )
            assignments.append((s.id, s.aux_number, new))
            rows.append(
                PlanRow(school_id, name, s.class_name, s.number_in_class, s.name, s.aux_number, new)
            )
        if assignments:
            plans.append(SchoolPlan(school_id, name, schema, tuple(assignments)))
    digest = hashlib.sha256(
        "\n".join(f"{p.schema_name}:{a[0]}:{a[2]}" for p in plans for a in p.assignments).encode()
    ).hexdigest()[:32]
    numbering = AuxNumbering.objects.filter(county=county, stage=stage, entry_year=year).first()
    return Plan(
        county=county.code,
        county_name=county.name,
        stage=stage,
        entry_year=year,
        fmt=fmt,
        rows=tuple(rows),
        schools=tuple(plans),
        digest=digest,
        numbering=_view(numbering) if numbering else None,
    )


def _actor(user: User) -> Actor:
    from shared_apps.bureau.services import bureau_for_user

    return Actor(
        username=user.username, name=f"{bureau_for_user(user)}{user.full_name}", schema="public"
    )


def _locked_row(county: Region, stage: str, year: int) -> AuxNumbering:
    AuxNumbering.objects.get_or_create(
        county=county,
        stage=stage,
        entry_year=year,
        defaults={"fmt": format_for(county.code[:6]).key},
    )
    # The row lock serialises apply, lock and unlock of one grade of one county.
    return AuxNumbering.objects.select_for_update().get(county=county, stage=stage, entry_year=year)


@transaction.atomic
def renumber_apply(*, user: User, stage: str, entry_year: object, digest: str) -> int:
    """Write the previewed numbers in every school of the county in ONE transaction;
    refuse when the grade is locked or the list changed since the preview."""
    county = county_of(user)
    stage, year = _grade_args(stage, entry_year)
    numbering = _locked_row(county, stage, year)
    if numbering.state == AuxNumbering.State.LOCKED:
        raise ApplicationError(MSG_LOCKED, code="state")
    plan = renumber_plan(user=user, stage=stage, entry_year=year)
    if not plan.rows:
        raise ApplicationError(MSG_EMPTY, code="invalid")
    if digest != plan.digest:
        raise ApplicationError(MSG_STALE, code="stale")
    actor = _actor(user)
    for school in plan.schools:
        # Each school's numbers are written inside it (the facade enters its schema),
        # all in this one transaction.
        aux_numbers_write(
            schema_name=school.schema_name,
            assignments=school.assignments,
            actor=actor,
            county=county.name,
        )
    numbering.state = AuxNumbering.State.APPLIED
    numbering.fmt = plan.fmt.key
    numbering.count = len(plan.rows)
    numbering.applied_by = user.username
    numbering.applied_at = timezone.now()
    numbering.save()
    return plan.changed


@transaction.atomic
def renumber_lock(*, user: User, stage: str, entry_year: object) -> AuxNumberingView:
    county = county_of(user)
    stage, year = _grade_args(stage, entry_year)
    numbering = _locked_row(county, stage, year)
    if numbering.state == AuxNumbering.State.LOCKED:
        raise ApplicationError(MSG_ALREADY_LOCKED, code="state")
    if numbering.applied_at is None:
        raise ApplicationError(MSG_NOT_APPLIED, code="state")
    numbering.state = AuxNumbering.State.LOCKED
    numbering.locked_by, numbering.locked_at = user.username, timezone.now()
    numbering.save()
    return _view(numbering)


@transaction.atomic
def renumber_unlock(*, user: User, stage: str, entry_year: object, reason: str) -> AuxNumberingView:
    county = county_of(user)
    stage, year = _grade_args(stage, entry_year)
    if not reason.strip():
        raise ApplicationError(MSG_REASON, code="invalid", extra={"reason": [MSG_REASON]})
    numbering = _locked_row(county, stage, year)
    if numbering.state != AuxNumbering.State.LOCKED:
        raise ApplicationError(MSG_NOT_LOCKED, code="state")
    numbering.state = AuxNumbering.State.UNLOCKED
    numbering.unlocked_by, numbering.unlocked_at = user.username, timezone.now()
    numbering.unlock_reason = reason.strip()[:300]
    numbering.save()
    return _view(numbering)


def numberings_of(user: User) -> list[AuxNumberingView]:
    county = county_of(user)
    return [_view(n) for n in AuxNumbering.objects.filter(county=county)]


def grade_locked(*, county_id: str, stage: str, entry_year: int) -> bool:
    """Whether the county has locked the 辅号 of this grade (read from any schema: the
    table is public and found through the search path)."""
    return AuxNumbering.objects.filter(
        county_id=county_id, stage=stage, entry_year=entry_year, state=AuxNumbering.State.LOCKED
    ).exists()
