"""人籍一致 (domain.md §3.18): once a term each class teacher confirms, on the class's own
list of pupils (本班学生), that the roster matches the pupils actually present, or opens
the status change that fixes it (registry:change_create for that pupil).

The confirmation is one `RosterCheck` row per class and term; the county's deadline for
the term is the bureau's (a public table), which the quality figures compare against
(facade.quality). After the confirmation commits, the school's quality figures are
refreshed through the hook the bureau registers there (facade.quality.quality_stale).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import WRITE, audit_record
from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from tenant_apps.registry.counts import IN_SCHOOL
from tenant_apps.registry.models import RosterCheck, SchoolClass, Student

TERM_NAMES = {1: "第一学期", 2: "第二学期"}
MSG_NOT_YOURS = "只有本班班主任（或有本班修改权限的老师）可以确认本班人籍一致。"
MSG_NO_CLASS = "未找到该班级。"
MSG_ALREADY = "本班本学期已确认人籍一致，无需重复确认。"
MSG_NOTE_LONG = "说明不能超过300个字。"
MSG_CONFIRMED = "已确认{klass}{term}人籍一致（在读{pupils}人）。"


@dataclass(frozen=True)
class RosterTerm:
    school_year: str  # "2026-2027"
    term: int  # 1 or 2

    @property
    def label(self) -> str:
        return f"{self.school_year}学年{TERM_NAMES[self.term]}"


def roster_term(today: dt.date | None = None) -> RosterTerm:
    """The term a confirmation counts for: the calendar of grades.terms.current_term
    (September–January the first, February–August the second). The grades app sits above
    the registry and cannot be imported here; tests/registry test_roster_check proves the
    two agree on every month."""
    today = today or timezone.localdate()
    start = today.year if today.month >= 9 else today.year - 1
    term = 1 if today.month >= 9 or today.month == 1 else 2
    return RosterTerm(f"{start}-{start + 1}", term)


@dataclass(frozen=True)
class RosterPanel:
    """What the class page shows about one class's confirmation this term."""

    class_id: int
    class_name: str
    term_label: str
    pupils: int
    confirmed: bool
    confirmed_by_label: str
    confirmed_at: dt.datetime | None
    note: str
    can_confirm: bool
    # (student uuid, name, number in class) of the class's 在读 pupils, for the links to
    # start a status change; the page is the class's own list, which shows full names.
    roll: tuple[tuple[str, str, int | None], ...]


def _may_confirm(user: Any, klass: SchoolClass) -> bool:
    """The class teacher, or a teacher holding a write right on this class (the rights
    page's 班级管理权限): the people who see the pupils sitting in the room."""
    from tenant_apps.registry.models import ClassRight

    if not user.has_right(Right.REGISTRY_EDIT_OWN):
        return False
    if klass.teacher_username and klass.teacher_username == user.username:
        return True
    return ClassRight.objects.filter(
        user_username=user.username, school_class=klass, can_write=True
    ).exists()


def roster_pupils(klass_id: int) -> int:
    return Student.objects.filter(IN_SCHOOL, school_class_id=klass_id).count()


def roster_panels(user: Any, class_ids: set[int] | None) -> list[RosterPanel]:
    """The 人籍一致 sections of the classes `user` is the teacher of (or may write), among
    `class_ids` (the page's scope; None = all). Someone who confirms no class gets none."""
    classes = SchoolClass.objects.all()
    if class_ids is not None:
        classes = classes.filter(pk__in=class_ids)
    term = roster_term()
    panels = []
    for klass in classes:
        if not _may_confirm(user, klass):
            continue
        check = RosterCheck.objects.filter(
            school_class=klass, school_year=term.school_year, term=term.term
        ).first()
        roll = tuple(
            (str(u), n, no)
            for u, n, no in Student.objects.filter(IN_SCHOOL, school_class=klass)
            .order_by("number_in_class", "pk")
            .values_list("identifier", "name", "number_in_class")
        )
        panels.append(
            RosterPanel(
                class_id=klass.pk,
                class_name=klass.name,
                term_label=term.label,
                pupils=len(roll),
                confirmed=check is not None,
                confirmed_by_label=check.confirmed_by_label if check else "",
                confirmed_at=check.confirmed_at if check else None,
                note=check.note if check else "",
                can_confirm=check is None,
                roll=roll,
            )
        )
    return panels


@transaction.atomic
def roster_confirm(
    *, user: Any, class_id: int, note: str = "", request: Any = None, today: dt.date | None = None
) -> RosterCheck:
    """Record that `class_id`'s roster matches the pupils present this term, with an audit
    entry, in one transaction; the quality figures are refreshed once it commits."""
    from tenant_apps.registry.facade.quality import quality_stale
    from tenant_apps.registry.students.services import current_school

    klass = SchoolClass.objects.filter(pk=class_id).first()
    if klass is None:
        raise ApplicationError(MSG_NO_CLASS, code="not_found")
    if not _may_confirm(user, klass):
        raise ApplicationError(MSG_NOT_YOURS, code="forbidden")
    note = (note or "").strip()
    if len(note) > 300:
        raise ApplicationError(MSG_NOTE_LONG, code="invalid", extra={"note": [MSG_NOTE_LONG]})
    term = roster_term(today)
    actor = Actor.of(user)
    pupils = roster_pupils(klass.pk)
    try:
        with transaction.atomic():
            check = RosterCheck.objects.create(
                school_class=klass,
                school_year=term.school_year,
                term=term.term,
                pupils=pupils,
                confirmed_by=actor.username,
                confirmed_by_label=actor.label,
                note=note,
            )
    except IntegrityError:
        raise ApplicationError(MSG_ALREADY, code="conflict") from None
    audit_record(
        request=request,
        actor=user,
        action=WRITE,
        object_type="class",
        object_id=klass.pk,
        object_repr=klass.name,
        after={"学期": term.label, "在读人数": pupils, "说明": note},
    )
    school_id = current_school().id
    transaction.on_commit(lambda: quality_stale(school_id=school_id))
    return check
