"""Grades and classes of the current school (学校信息管理, 班级信息管理; domain.md §2.1,
§2.2, §3.1 steps 2–3). Every entry point is one transaction; refusals raise
ApplicationError with a Chinese message that names the field (`extra` keys are the input
names, so pages and the API show it next to the field).

* A grade is one stage's intake of one year (小学2026级); its everyday name (一年级 …
  九年级, 高一 …) is derived from the school year (registry.lifecycle.rollover.grade_name), so it
  never needs renaming. Graduated grades stay, read-only.
* A class number has 7 digits: entry year + stage digit + 2-digit number; its year and
  stage digit must agree with the grade. The display name follows the national rule
  (小学2026级(01)班, SchoolClass.name).
* The 班主任 is an active account of this school (usernames are this schema's only, so
  nobody of another school can be picked). A class has one 班主任; picking one who would
  be a second ordinary writer of the class (交叉授权, domain.md §1.3.3) is refused.
* Deleting a class with students is refused; merging moves the students into a class of
  the same grade, records the change on each student's history and removes the class.
* "Copy last year's classes" gives the coming intake the numbers and types of the
  previous intake's classes.
* Every write leaves one audit entry per grade or class in the school's log, in the
  same transaction, with the values before and after under Chinese labels (班级类型 and
  班主任 as people read them); the middleware then adds no generic entry.

The module stays whole (issue 14): grades and classes are one hierarchy whose writes share
the audit, 班主任 and school-year helpers above, and several writes (a grade's intake, a
class checked against its grade, copying last year's classes) span both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.audit import WRITE, audit_record
from accounts.models import User
from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from tenant_apps.registry.lifecycle.rollover import GRADE_NAMES, grade_name
from tenant_apps.registry.models import (
    CLASS_TYPE_DIGIT,
    COMPOSITE_TYPES,
    DEFAULT_CLASS_TYPE,
    DIGIT_STAGE,
    STAGE_DIGIT,
    STAGE_NAME,
    ClassType,
    Grade,
    SchoolClass,
    Student,
    StudentEvent,
)
from tenant_apps.registry.models.lifecycle import PaperRecord
from tenant_apps.registry.policy.rules import school_year

MSG_NOT_FOUND_CLASS = "未找到该班级。"
MSG_NOT_FOUND_GRADE = "未找到该年级。"
MSG_STAGE = "学段：本校没有{stage}学段（学段由教育局设定）。"
MSG_GRADE_EXISTS = "入学年份：{name}已存在。"
MSG_GRADE_FUTURE = "入学年份：最晚只能建立 {year} 年入学的年级。"
MSG_GRADE_GRADUATED = "{name}已毕业，只能查看，不能修改。"
MSG_GRADE_TOO_OLD = "入学年份：{year} 年入学的{stage}年级已毕业，不能新建。"
MSG_GRADE_HAS_CLASSES = "{name}还有 {n} 个班级，不能删除。"
MSG_CLASS_NO_FORMAT = (
    "班级编号：应为 7 位数字（入学年份 4 位 + 学段 1 位 + 班号 2 位），如 {example}。"
)
MSG_CLASS_NO_YEAR = "班级编号：前 4 位（入学年份）应为 {year}，与所选年级“{grade}”一致。"
MSG_CLASS_NO_STAGE = "班级编号：第 5 位（学段）应为 {digit}（{stage}），与所选年级“{grade}”一致。"
MSG_CLASS_NO_NUMBER = "班级编号：后 2 位（班号）应在 01–99 之间。"
MSG_CLASS_EXISTS = "班级编号：{class_no} 已存在（{name}）。"
MSG_CLASS_TYPE = "班级类型：“{label}”不适用于{stage}。"
MSG_CLASS_TYPE_UNKNOWN = "班级类型：请从列表中选择。"
MSG_COMPOSITE_ONLY = "复式班包含的年级：只有复式班可以包含其他年级。"
MSG_COMPOSITE_YEAR = "复式班包含的年级：本校没有{stage}{year}级，或该年级已毕业。"
MSG_TEACHER_UNKNOWN = "班主任：本校用户中没有“{username}”，请从本校用户列表中选择。"
MSG_TEACHER_INACTIVE = "班主任：账号{user}已停用，不能担任班主任。"
MSG_TEACHER_CROSS = (
    "班主任：{writers}已有该班的修改权限；再指定{user}，该班将有两位普通用户可修改学籍"
    "（交叉授权）。请先在“权限设置”中收回其修改权限。"
)
MSG_HEAD_UNKNOWN = "年级段长：本校用户中没有“{username}”，请从本校用户列表中选择。"
MSG_HEAD_NAME = "年级段长：姓名不超过 50 个字。"
MSG_DELETE_STUDENTS = (
    "{name}还有 {n} 名学生（含已删除、已毕业、已转出的学籍），不能删除；"
    "请先用“合并班级”把学生转入同年级的其他班级。"
)
MSG_DELETE_PAPER = "{name}还有 {n} 份临时纸质档案，不能删除；请先为其建立学籍或转入其他班级。"
MSG_MERGE_SAME = "合并到：请选择另一个班级。"
MSG_MERGE_GRADE = (
    "合并到：只能合并到同一年级的班级（{source}属于{source_grade}，{target}属于{target_grade}）。"
)
MSG_COPY_NONE = "{grade}没有班级，无可复制。"
MSG_COPY_ALL_THERE = "{grade}的班级已全部存在，无需复制。"


def _refuse(field: str, message: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(message, code=code, extra={field: [message]})


# -- audit --------------------------------------------------------------------------------

OBJECT_GRADE = "grade"
OBJECT_CLASS = "school_class"


def _person(username: str) -> str:
    if not username:
        return ""
    user = User.objects.filter(username=username).first()
    return str(user) if user is not None else username


def _grade_values(grade: Grade) -> dict[str, str]:
    head = _person(grade.head_username) if grade.head_username else grade.head_name
    return {
        "年级": grade.name,
        "学段": STAGE_NAME.get(grade.stage, grade.stage),
        "入学年份": str(grade.entry_year),
        "年级段长": head,
    }


def _class_values(klass: SchoolClass) -> dict[str, str]:
    kind = ClassType(klass.class_type).label if klass.class_type in ClassType.values else ""
    return {
        "班级编号": klass.class_no,
        "班级名称": klass.name,
        "班级类型": str(kind or klass.class_type),
        "复式班包含的年级": "、".join(f"{y}级" for y in klass.composite_years or ()),
        "班主任": _person(klass.teacher_username),
        "原登记班主任": klass.legacy_teacher_name,
    }


def _audit(
    *,
    actor: Actor | None,
    request: Any,
    object_type: str,
    object_id: object,
    object_repr: str,
    before: Mapping[str, str] | None = None,
    after: Mapping[str, str] | None = None,
    diff: bool = True,
) -> None:
    """One entry; an edit keeps only the labels whose value changed, a create or delete
    (or, with diff=False, a merge) only the labels that have a value."""
    old, new = dict(before or {}), dict(after or {})
    if diff and old and new:
        changed = [k for k in new if old.get(k) != new[k]]
        old, new = {k: old.get(k, "") for k in changed}, {k: new[k] for k in changed}
    else:
        old = {k: v for k, v in old.items() if v}
        new = {k: v for k, v in new.items() if v}
    audit_record(
        request=request,
        actor=actor,
        action=WRITE,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        before=old,
        after=new,
    )


# -- the school year and derived grade names ------------------------------------------


def setup_year(today: dt.date | None = None) -> int:
    """The intake the start-of-year set-up prepares: from March (when enrolment is
    planned) the one entering this September, before that the current one."""
    today = today or timezone.localdate()
    return today.year if today.month >= 3 else today.year - 1


def is_graduated(stage: str, entry_year: int, today: dt.date | None = None) -> bool:
    """Past the stage's last school year (六年级, 九年级, 高三)."""
    return school_year(today) - entry_year >= len(GRADE_NAMES.get(stage, ()))


def grade_label(stage: str, entry_year: int, today: dt.date | None = None) -> str:
    """三年级 in the current school year; 即将入学 or 已毕业 outside the stage's years."""
    year = school_year(today)
    if entry_year > year:
        return "即将入学"
    if is_graduated(stage, entry_year, today):
        return "已毕业"
    return grade_name(stage, entry_year, year)


# -- users ----------------------------------------------------------------------------


def _user(username: str, *, field: str, unknown: str) -> User | None:
    username = (username or "").strip()
    if not username:
        return None
    user = User.objects.filter(username=username).first()
    if user is None:
        raise _refuse(field, unknown.format(username=username[:30]))
    return user


def _class_teacher(klass: SchoolClass, username: str) -> str:
    """The username to store as 班主任 of `klass` ("" for none), checked."""
    user = _user(username, field="teacher_username", unknown=MSG_TEACHER_UNKNOWN)
    if user is None:
        return ""
    if not user.is_active:
        raise _refuse("teacher_username", MSG_TEACHER_INACTIVE.format(user=user))
    if klass.pk is not None and user.username != klass.teacher_username:
        _refuse_second_writer(klass, user)
    return user.username


def _refuse_second_writer(klass: SchoolClass, teacher: User) -> None:
    """交叉授权: the class teacher writes the class; an ordinary user who also writes it
    (a class right with write access, or 维护学籍 for every class) must not stay."""
    from accounts.rights import ordinary_users
    from tenant_apps.registry.models import ClassRight

    ordinary = ordinary_users()
    if teacher.username not in ordinary or not ordinary[teacher.username].has_right(
        Right.REGISTRY_EDIT_OWN
    ):
        return  # an office holder, or someone who cannot write through the class anyway
    others = {name for name, u in ordinary.items() if u.has_right(Right.REGISTRY_EDIT)} | {
        name
        for name in ClassRight.objects.filter(school_class=klass, can_write=True).values_list(
            "user_username", flat=True
        )
        if name in ordinary and ordinary[name].has_right(Right.REGISTRY_EDIT_OWN)
    }
    others.discard(teacher.username)
    if others:
        writers = "、".join(str(ordinary[n]) for n in sorted(others))
        raise _refuse(
            "teacher_username", MSG_TEACHER_CROSS.format(writers=writers, user=teacher), "cross"
        )


# -- grades -----------------------------------------------------------------------------


def _grade(grade_id: int, *, lock: bool = False) -> Grade:
    qs = Grade.objects.select_for_update() if lock else Grade.objects.all()
    grade = qs.filter(pk=grade_id).first()
    if grade is None:
        raise ApplicationError(MSG_NOT_FOUND_GRADE, code="not_found")
    return grade


def _refuse_graduated(stage: str, entry_year: int) -> None:
    if is_graduated(stage, entry_year):
        name = f"{STAGE_NAME[stage]}{entry_year}级"
        raise ApplicationError(MSG_GRADE_GRADUATED.format(name=name), code="graduated")


@transaction.atomic
def grade_create(
    *,
    stage: str,
    entry_year: int,
    school_stages: Iterable[str],
    actor: Actor,
    request: Any = None,
) -> Grade:
    """A grade of one of the school's stages that has not graduated, up to the coming
    intake (`school_stages` are the bureau's, from the school row)."""
    if stage not in STAGE_NAME or stage not in set(school_stages):
        raise _refuse("stage", MSG_STAGE.format(stage=STAGE_NAME.get(stage, "该")))
    latest = setup_year()
    if entry_year > latest:
        raise _refuse("entry_year", MSG_GRADE_FUTURE.format(year=latest))
    if is_graduated(stage, entry_year):
        raise _refuse(
            "entry_year", MSG_GRADE_TOO_OLD.format(year=entry_year, stage=STAGE_NAME[stage])
        )
    grade, created = Grade.objects.get_or_create(stage=stage, entry_year=entry_year)
    if not created:
        raise _refuse("entry_year", MSG_GRADE_EXISTS.format(name=grade.name), "duplicate")
    _audit(
        actor=actor,
        request=request,
        object_type=OBJECT_GRADE,
        object_id=grade.pk,
        object_repr=f"{grade.name}：新增年级",
        after=_grade_values(grade),
    )
    return grade


def grade_add_intake(
    *, stage: str, school_stages: Iterable[str], actor: Actor, request: Any = None
) -> Grade:
    """ "Add the grade for the coming intake": one click per stage."""
    return grade_create(
        stage=stage,
        entry_year=setup_year(),
        school_stages=school_stages,
        actor=actor,
        request=request,
    )


@transaction.atomic
def grade_update(
    *,
    grade_id: int,
    head_username: str = "",
    head_name: str = "",
    actor: Actor,
    request: Any = None,
) -> Grade:
    """Set the 年级段长: a user of the school (the name follows the account) or a name."""
    grade = _grade(grade_id, lock=True)
    _refuse_graduated(grade.stage, grade.entry_year)
    before = _grade_values(grade)
    user = _user(head_username, field="head_username", unknown=MSG_HEAD_UNKNOWN)
    name = " ".join((head_name or "").split())
    if user is not None:
        grade.head_username, grade.head_name = user.username, user.full_name[:50]
    else:
        if len(name) > 50:
            raise _refuse("head_name", MSG_HEAD_NAME)
        grade.head_username, grade.head_name = "", name
    grade.save(update_fields=["head_username", "head_name"])
    _audit(
        actor=actor,
        request=request,
        object_type=OBJECT_GRADE,
        object_id=grade.pk,
        object_repr=f"{grade.name}：修改年级段长",
        before=before,
        after=_grade_values(grade),
    )
    return grade


@transaction.atomic
def grade_delete(*, grade_id: int, actor: Actor, request: Any = None) -> None:
    """Remove a grade entered by mistake; only without classes."""
    grade = _grade(grade_id, lock=True)
    n = SchoolClass.objects.filter(stage=grade.stage, entry_year=grade.entry_year).count()
    if n:
        raise ApplicationError(MSG_GRADE_HAS_CLASSES.format(name=grade.name, n=n), code="in_use")
    _audit(
        actor=actor,
        request=request,
        object_type=OBJECT_GRADE,
        object_id=grade.pk,
        object_repr=f"{grade.name}：删除年级",
        before=_grade_values(grade),
    )
    grade.delete()


# -- classes ----------------------------------------------------------------------------


def _class(class_id: int, *, lock: bool = False) -> SchoolClass:
    qs = SchoolClass.objects.select_for_update() if lock else SchoolClass.objects.all()
    klass = qs.filter(pk=class_id).first()
    if klass is None:
        raise ApplicationError(MSG_NOT_FOUND_CLASS, code="not_found")
    return klass


def _class_type(stage: str, class_type: str) -> str:
    class_type = (class_type or "").strip() or DEFAULT_CLASS_TYPE[stage]
    if class_type not in ClassType.values:
        raise _refuse("class_type", MSG_CLASS_TYPE_UNKNOWN)
    if not class_type.startswith(CLASS_TYPE_DIGIT[stage]):
        label = ClassType(class_type).label
        raise _refuse("class_type", MSG_CLASS_TYPE.format(label=label, stage=STAGE_NAME[stage]))
    return class_type


def _composite_years(
    stage: str, entry_year: int, class_type: str, years: Iterable[int]
) -> list[int]:
    wanted = sorted({int(y) for y in years} - {entry_year})
    if not wanted:
        return []
    if class_type not in COMPOSITE_TYPES:
        raise _refuse("composite_years", MSG_COMPOSITE_ONLY)
    known = set(Grade.objects.filter(stage=stage).values_list("entry_year", flat=True))
    for year in wanted:
        if year not in known or is_graduated(stage, year):
            raise _refuse(
                "composite_years", MSG_COMPOSITE_YEAR.format(stage=STAGE_NAME[stage], year=year)
            )
    return wanted


@transaction.atomic
def class_create(
    *,
    stage: str,
    entry_year: int,
    number: int,
    class_type: str = "",
    teacher_username: str = "",
    composite_years: Iterable[int] = (),
    actor: Actor | None = None,
    request: Any = None,
    note: str = "新增班级",
) -> SchoolClass:
    """A class of (stage, entry year), with its grade row if there was none. Audited
    when an actor is named (demo data and benchmarks name none)."""
    if stage not in STAGE_NAME:
        raise _refuse("stage", MSG_STAGE.format(stage="该"))
    if not 1 <= number <= 99:
        raise _refuse("class_no", MSG_CLASS_NO_NUMBER)
    _refuse_graduated(stage, entry_year)
    class_no = SchoolClass.make_class_no(stage, entry_year, number)
    existing = SchoolClass.objects.filter(class_no=class_no).first()
    if existing is not None:
        raise _refuse(
            "class_no", MSG_CLASS_EXISTS.format(class_no=class_no, name=existing.name), "duplicate"
        )
    kind = _class_type(stage, class_type)
    grade, made = Grade.objects.get_or_create(stage=stage, entry_year=entry_year)
    if made and actor is not None:
        _audit(
            actor=actor,
            request=request,
            object_type=OBJECT_GRADE,
            object_id=grade.pk,
            object_repr=f"{grade.name}：新增年级（随班级建立）",
            after=_grade_values(grade),
        )
    klass = SchoolClass(stage=stage, entry_year=entry_year, number=number, class_no=class_no)
    klass.class_type = kind
    klass.composite_years = _composite_years(stage, entry_year, kind, composite_years)
    klass.teacher_username = _class_teacher(klass, teacher_username)
    klass.full_clean()
    klass.save()
    if actor is not None:
        _audit(
            actor=actor,
            request=request,
            object_type=OBJECT_CLASS,
            object_id=klass.pk,
            object_repr=f"{klass.name}：{note}",
            after=_class_values(klass),
        )
    return klass


@transaction.atomic
def class_add(
    *,
    grade_id: int,
    class_no: str,
    class_type: str = "",
    teacher_username: str = "",
    composite_years: Iterable[int] = (),
    actor: Actor,
    request: Any = None,
) -> SchoolClass:
    """The page's and API's "add a class": a grade and a 7-digit class number that must
    agree with it."""
    grade = _grade(grade_id)
    _refuse_graduated(grade.stage, grade.entry_year)
    text = "".join(str(class_no or "").split())
    example = SchoolClass.make_class_no(grade.stage, grade.entry_year, 1)
    if len(text) != 7 or not text.isascii() or not text.isdigit():
        raise _refuse("class_no", MSG_CLASS_NO_FORMAT.format(example=example))
    if int(text[:4]) != grade.entry_year:
        raise _refuse("class_no", MSG_CLASS_NO_YEAR.format(year=grade.entry_year, grade=grade.name))
    if text[4] != STAGE_DIGIT[grade.stage]:
        raise _refuse(
            "class_no",
            MSG_CLASS_NO_STAGE.format(
                digit=STAGE_DIGIT[grade.stage], stage=STAGE_NAME[grade.stage], grade=grade.name
            ),
        )
    return class_create(
        stage=DIGIT_STAGE[text[4]],
        entry_year=grade.entry_year,
        number=int(text[5:]),
        class_type=class_type,
        teacher_username=teacher_username,
        composite_years=composite_years,
        actor=actor,
        request=request,
    )


@transaction.atomic
def class_update(
    *,
    class_id: int,
    class_type: str,
    teacher_username: str,
    composite_years: Iterable[int] = (),
    actor: Actor,
    request: Any = None,
) -> SchoolClass:
    """Change a class's type and 班主任 (picking one clears the old free-text name). The
    number and grade stay: they name the class for good."""
    klass = _class(class_id, lock=True)
    _refuse_graduated(klass.stage, klass.entry_year)
    before = _class_values(klass)
    klass.class_type = _class_type(klass.stage, class_type)
    klass.composite_years = _composite_years(
        klass.stage, klass.entry_year, klass.class_type, composite_years
    )
    klass.teacher_username = _class_teacher(klass, teacher_username)
    if klass.teacher_username:
        klass.legacy_teacher_name = ""
    klass.save(
        update_fields=["class_type", "composite_years", "teacher_username", "legacy_teacher_name"]
    )
    _audit(
        actor=actor,
        request=request,
        object_type=OBJECT_CLASS,
        object_id=klass.pk,
        object_repr=f"{klass.name}：修改班级",
        before=before,
        after=_class_values(klass),
    )
    return klass


@transaction.atomic
def class_delete(*, class_id: int, actor: Actor, request: Any = None) -> str:
    """Delete a class that holds no student record (of any state) and no paper record;
    returns its name."""
    klass = _class(class_id, lock=True)
    students = Student.objects.filter(school_class=klass).count()
    if students:
        raise ApplicationError(
            MSG_DELETE_STUDENTS.format(name=klass.name, n=students), code="in_use"
        )
    papers = PaperRecord.objects.filter(school_class=klass).count()
    if papers:
        raise ApplicationError(MSG_DELETE_PAPER.format(name=klass.name, n=papers), code="in_use")
    name = klass.name
    _audit(
        actor=actor,
        request=request,
        object_type=OBJECT_CLASS,
        object_id=klass.pk,
        object_repr=f"{name}：删除班级",
        before=_class_values(klass),
    )
    klass.delete()
    return name


@dataclass(frozen=True)
class Merged:
    source: str
    target: str
    students: int


@transaction.atomic
def class_merge(*, source_id: int, target_id: int, actor: Actor, request: Any = None) -> Merged:
    """Move every student (and paper record) of `source` into `target` of the same grade,
    numbered after the target's last seat, with a 合并班级 entry on each student's
    history; then remove `source`. Its courses and class rights go with it."""
    if source_id == target_id:
        raise _refuse("target_id", MSG_MERGE_SAME)
    # Both rows locked in id order, so two merges of the same pair cannot deadlock.
    locked = {
        c.pk: c
        for c in SchoolClass.objects.select_for_update()
        .filter(pk__in=[source_id, target_id])
        .order_by("pk")
    }
    source, target = locked.get(source_id), locked.get(target_id)
    if source is None or target is None:
        raise ApplicationError(MSG_NOT_FOUND_CLASS, code="not_found")
    if (source.stage, source.entry_year) != (target.stage, target.entry_year):
        raise _refuse(
            "target_id",
            MSG_MERGE_GRADE.format(
                source=source.name,
                source_grade=source.grade_name,
                target=target.name,
                target_grade=target.grade_name,
            ),
            "grade",
        )
    _refuse_graduated(source.stage, source.entry_year)
    students = list(
        Student.objects.select_for_update()
        .filter(school_class=source)
        .order_by("number_in_class", "pk")
    )
    seat = Student.objects.filter(school_class=target).aggregate(m=Max("number_in_class"))["m"] or 0
    events = []
    reason = f"{source.name}并入{target.name}"
    for student in students:
        seat += 1
        events.append(
            StudentEvent(
                student=student,
                actor=actor.label,
                action="合并班级",
                reason=reason,
                changes={
                    "class_no": [source.class_no, target.class_no],
                    "number_in_class": [student.number_in_class, seat],
                },
            )
        )
        student.school_class, student.number_in_class = target, seat
    Student.objects.bulk_update(students, ["school_class", "number_in_class"], batch_size=1000)
    StudentEvent.objects.bulk_create(events, batch_size=1000)
    PaperRecord.objects.filter(school_class=source).update(school_class=target)
    merged = Merged(source=source.name, target=target.name, students=len(students))
    _audit(
        actor=actor,
        request=request,
        object_type=OBJECT_CLASS,
        object_id=source.pk,
        object_repr=f"{reason}：合并班级",
        before={**_class_values(source), "学生数": str(len(students))},
        after={"并入班级": f"{target.name}（{target.class_no}）", "转入学生数": str(len(students))},
        diff=False,
    )
    source.delete()
    return merged


@transaction.atomic
def classes_copy_to_intake(
    *, stage: str, school_stages: Iterable[str], actor: Actor, request: Any = None
) -> list[SchoolClass]:
    """Give the coming intake of `stage` the class numbers and types of the previous
    intake (no class teachers: they are picked per class). Numbers already there are
    left alone; the grade row is made when missing."""
    if stage not in STAGE_NAME or stage not in set(school_stages):
        raise _refuse("stage", MSG_STAGE.format(stage=STAGE_NAME.get(stage, "该")))
    year = setup_year()
    previous = list(SchoolClass.objects.filter(stage=stage, entry_year=year - 1).order_by("number"))
    if not previous:
        raise _refuse("stage", MSG_COPY_NONE.format(grade=f"{STAGE_NAME[stage]}{year - 1}级"))
    have = set(
        SchoolClass.objects.filter(stage=stage, entry_year=year).values_list("number", flat=True)
    )
    wanted = [c for c in previous if c.number not in have]
    if not wanted:
        raise _refuse("stage", MSG_COPY_ALL_THERE.format(grade=f"{STAGE_NAME[stage]}{year}级"))
    return [
        class_create(
            stage=stage,
            entry_year=year,
            number=c.number,
            # A composite class of last year's intake spanned grades that have moved on.
            class_type=DEFAULT_CLASS_TYPE[stage] if c.is_composite else c.class_type,
            actor=actor,
            request=request,
            note=f"复制自{c.name}",
        )
        for c in wanted
    ]
