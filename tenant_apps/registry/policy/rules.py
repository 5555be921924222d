"""Who may see and write which students, and which fields class teachers may edit.

* Class scope (班级管理权限): users with 查看学籍 see every class; everyone else sees the
  classes they teach (SchoolClass.teacher_username) and those a ClassRight row names.
  Writing needs 维护学籍 (every class, every field) or 修改本班学籍 (own classes with
  write access, and only the fields the school opened for the grade).
* Field-edit policy (系统设置, domain.md §3.17): per grade (stage + entry year) the school
  lists the fields class teachers may edit. Without a row the defaults apply: contact and
  address fields, plus the household fields except in graduating grades. Household fields
  of a graduating grade are open only when the school saved them explicitly while the
  grade was graduating. Photos and key data (§3.19) are never open to class teachers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from tenant_apps.registry.fields import BY_KEY, COLUMNS, Column
from tenant_apps.registry.models import STAGE_NAME, ClassRight, FieldEditPolicy, SchoolClass

# Never editable by class teachers, whatever the school chooses: photos are maintained
# centrally by the school (§1.3.4), key data changes go through 关键数据变更 (§3.19).
PHOTO_FIELDS = frozenset({"photo"})
KEY_FIELDS = frozenset({"name", "sex", "id_number", "grade", "class_no"})
NEVER = PHOTO_FIELDS | KEY_FIELDS

CONTACT_FIELDS = frozenset(
    {
        "current_address",
        "postal_address",
        "home_address",
        "phone",
        "postcode",
        "email",
        "m1_phone",
        "m1_address",
        "m2_phone",
        "m2_address",
    }
)
HOUSEHOLD_FIELDS = frozenset(
    {
        "household_region",
        "household_type",
        "birthplace",
        "native_place",
        "m1_household_region",
        "m2_household_region",
    }
)
# A grade graduates in its last school year: 小学六年级, 初三, 高三.
GRADUATING_OFFSET = {"primary": 5, "junior": 2, "senior": 2}

MSG_NEVER = "以下字段不能开放给班主任：{headers}。"
MSG_UNKNOWN = "未知字段：{keys}。"


def school_year(today: dt.date | None = None) -> int:
    """The calendar year the current school year started in (September)."""
    today = today or timezone.localdate()
    return today.year if today.month >= 9 else today.year - 1


def is_graduating(stage: str, entry_year: int, today: dt.date | None = None) -> bool:
    return entry_year <= school_year(today) - GRADUATING_OFFSET.get(stage, 2)


def graduation_year_start(stage: str, entry_year: int) -> dt.datetime:
    """When the grade's graduating school year begins (1 September)."""
    year = entry_year + GRADUATING_OFFSET.get(stage, 2)
    return dt.datetime(year, 9, 1, tzinfo=timezone.get_current_timezone())


def choosable_columns() -> tuple[Column, ...]:
    """The template columns a school may open to class teachers, in template order."""
    return tuple(c for c in COLUMNS if c.key not in NEVER)


def policy_default(*, graduating: bool) -> set[str]:
    return set(CONTACT_FIELDS) | (set() if graduating else set(HOUSEHOLD_FIELDS))


def _fields_of(
    row: FieldEditPolicy | None, stage: str, entry_year: int, graduating: bool
) -> set[str]:
    if row is None:
        return policy_default(graduating=graduating)
    fields = set(row.fields) - NEVER
    if graduating and row.updated_at < graduation_year_start(stage, entry_year):
        # Saved before the grade became the graduating one: household fields were not
        # opened for the graduating year, so they are closed again.
        fields -= HOUSEHOLD_FIELDS
    return fields


def policy_fields(*, stage: str, entry_year: int, graduating: bool) -> set[str]:
    """The fields class teachers may edit in this grade."""
    row = FieldEditPolicy.objects.filter(stage=stage, entry_year=entry_year).first()
    return _fields_of(row, stage, entry_year, graduating)


def class_editable_fields(klass: SchoolClass) -> set[str]:
    return policy_fields(
        stage=klass.stage,
        entry_year=klass.entry_year,
        graduating=is_graduating(klass.stage, klass.entry_year),
    )


@transaction.atomic
def policy_set(
    *, stage: str, entry_year: int, fields: Iterable[str], actor: Actor
) -> FieldEditPolicy:
    """Record which fields class teachers may edit in one grade (replaces the previous
    choice). Photo and key fields cannot be opened."""
    if stage not in STAGE_NAME:
        raise ApplicationError("学段无效。", code="invalid")
    wanted = set(fields)
    unknown = sorted(wanted - set(BY_KEY) - NEVER)
    if unknown:
        raise ApplicationError(MSG_UNKNOWN.format(keys="、".join(unknown)), code="invalid")
    never = [c.header for c in COLUMNS if c.key in wanted & NEVER] + sorted(wanted & PHOTO_FIELDS)
    if never:
        raise ApplicationError(MSG_NEVER.format(headers="、".join(never)), code="invalid")
    ordered = [c.key for c in COLUMNS if c.key in wanted]
    row, _created = FieldEditPolicy.objects.update_or_create(
        stage=stage,
        entry_year=entry_year,
        defaults={"fields": ordered, "updated_by": actor.label},
    )
    return row


@transaction.atomic
def policies_set(*, choices: Mapping[tuple[str, int], Iterable[str]], actor: Actor) -> int:
    """Save several grades at once (the 系统设置 page): all or nothing."""
    for (stage, entry_year), fields in choices.items():
        policy_set(stage=stage, entry_year=entry_year, fields=fields, actor=actor)
    return len(choices)


@dataclass(frozen=True)
class GradePolicy:
    stage: str
    entry_year: int
    name: str  # 小学2024级
    graduating: bool
    fields: frozenset[str]
    saved: bool  # the school has chosen (a row exists)

    @property
    def key(self) -> str:
        return f"{self.stage}:{self.entry_year}"


def grade_policies() -> list[GradePolicy]:
    """Every grade that has a class, with what class teachers may edit in it."""
    rows = {(r.stage, r.entry_year): r for r in FieldEditPolicy.objects.all()}
    grades = (
        SchoolClass.objects.values_list("stage", "entry_year")
        .distinct()
        .order_by("stage", "-entry_year")
    )
    order = {s: n for n, s in enumerate(STAGE_NAME)}
    result = []
    for stage, year in sorted(grades, key=lambda g: (order.get(g[0], 9), -g[1])):
        graduating = is_graduating(stage, year)
        row = rows.get((stage, year))
        result.append(
            GradePolicy(
                stage=stage,
                entry_year=year,
                name=f"{STAGE_NAME[stage]}{year}级",
                graduating=graduating,
                fields=frozenset(_fields_of(row, stage, year, graduating)),
                saved=row is not None,
            )
        )
    return result


# -- class scope -----------------------------------------------------------------------


def _class_ids(username: str, *, write: bool) -> set[int]:
    if not username:
        return set()
    own = SchoolClass.objects.filter(teacher_username=username).values_list("pk", flat=True)
    rights = ClassRight.objects.filter(user_username=username)
    if write:
        rights = rights.filter(can_write=True)
    return set(own) | set(rights.values_list("school_class_id", flat=True))


def student_scope(user: Any) -> set[int] | None:
    """The class ids whose students `user` may see; None means every class."""
    if user.has_right(Right.REGISTRY_VIEW):
        return None
    return _class_ids(user.username, write=False)


def student_write_scope(user: Any) -> set[int] | None:
    """The class ids whose students `user` may edit; None means every class."""
    if user.has_right(Right.REGISTRY_EDIT):
        return None
    if not user.has_right(Right.REGISTRY_EDIT_OWN):
        return set()
    return _class_ids(user.username, write=True)


def in_scope(scope: set[int] | None, class_id: int) -> bool:
    return scope is None or class_id in scope


def editable_fields(user: Any, klass: SchoolClass) -> set[str] | None:
    """What `user` may change in a student of `klass`: None for every field (维护学籍),
    else the grade's policy for class teachers."""
    if user.has_right(Right.REGISTRY_EDIT):
        return None
    return class_editable_fields(klass)


# -- class rights (written from the 权限设置 page) ----------------------------------------

CLASS_ACCESS = ("", "read", "write", "teacher")


def class_access_all() -> dict[str, dict[int, str]]:
    """{username: {class id: "read" | "write" | "teacher"}} for every account, in two
    queries."""
    access: dict[str, dict[int, str]] = {}
    for username, pk, can_write in ClassRight.objects.values_list(
        "user_username", "school_class_id", "can_write"
    ):
        access.setdefault(username, {})[pk] = "write" if can_write else "read"
    for pk, username in SchoolClass.objects.exclude(teacher_username="").values_list(
        "pk", "teacher_username"
    ):
        access.setdefault(username, {})[pk] = "teacher"
    return access


@transaction.atomic
def class_rights_set(*, username: str, access: Mapping[int, str]) -> None:
    """Replace one account's class rights: "read", "write", "teacher" (班主任: the class
    teacher of that class, replacing any other) or "" (none) per class id. Classes not in
    `access` lose the account's rights as well."""
    classes = {c.pk: c for c in SchoolClass.objects.select_for_update()}
    unknown = set(access) - set(classes)
    if unknown or any(v not in CLASS_ACCESS for v in access.values()):
        raise ApplicationError("班级权限设置有误。", code="invalid")
    for pk, klass in classes.items():
        wanted = access.get(pk, "")
        if wanted == "teacher" and klass.teacher_username != username:
            # Picking a 班主任 replaces any other, so a class keeps one class teacher.
            klass.teacher_username, klass.legacy_teacher_name = username, ""
            klass.save(update_fields=["teacher_username", "legacy_teacher_name"])
        elif wanted != "teacher" and klass.teacher_username == username:
            klass.teacher_username = ""
            klass.save(update_fields=["teacher_username"])
    ClassRight.objects.filter(user_username=username).exclude(
        school_class_id__in=[pk for pk, v in access.items() if v in ("read", "write")]
    ).delete()
    for pk, wanted in access.items():
        if wanted in ("read", "write"):
            ClassRight.objects.update_or_create(
                user_username=username,
                school_class_id=pk,
                defaults={"can_write": wanted == "write"},
            )
