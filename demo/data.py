"""Idempotent demo data for `make run`: one county bureau, three schools, staff, classes
and generated students with valid ID numbers and real township codes.

Demo passwords are random, generated on the first load and kept (with the logins) in
.run/demo-logins.txt, which is git-ignored; running twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric

from accounts.models import User
from accounts.roles import Role
from accounts.services import initial_password_generate, user_create
from shared_apps.regions.models import Bureau, Region
from shared_apps.regions.services import bureau_create
from tenant_apps.registry.models import SchoolClass, Student
from tenant_apps.reports.models import StatsSnapshot
from tenant_apps.reports.stats.services import snapshot_take
from tenants.context import school_context
from tenants.models import School
from tenants.services import SchoolInput, school_provision, school_register, school_stats_refresh

COUNTY = "430181"
STATE_DIR = Path(settings.BASE_DIR) / ".run"


@dataclass(frozen=True)
class DemoSchool:
    name: str
    code: str
    slug: str
    stages: tuple[str, ...]
    township: str  # 9-digit township code the pupils mostly live in
    classes_per_grade: int
    pupils_per_class: int


SCHOOLS = (
    DemoSchool("古港镇完全小学", "2143016965", "gugang", ("primary",), "430181108", 2, 14),
    DemoSchool("社港镇中学", "3143016966", "shegang", ("junior",), "430181102", 2, 20),
    DemoSchool("淮川街道中心小学", "2143016967", "huaichuan", ("primary",), "430181001", 1, 12),
)
STAFF = (
    ("A001", "周晓梅", [Role.SCHOOL_ADMIN]),
    ("A002", "李建国", [Role.REGISTRAR]),
    ("A003", "陈校长", [Role.SCHOOL_APPROVER, Role.PRINCIPAL]),
    ("A004", "王丽", [Role.CLASS_TEACHER, Role.ALL_TEACHERS]),
    ("A005", "赵老师", [Role.SUBJECT_TEACHER, Role.ALL_TEACHERS]),
)
# Bureau and platform accounts of the demo: the operator has no region, the officer
# governs the demo county.
PUBLIC_STAFF: dict[str, tuple[str, list[Role]]] = {
    "admin": ("平台运营", [Role.PLATFORM_OPERATOR]),
    "lyjy01": ("刘学籍", [Role.BUREAU_REGISTRAR, Role.BUREAU_APPROVER]),
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"  # noqa: E501
GIVEN = (
    "子涵梓萱浩宇欣怡雨轩思远若曦俊杰佳怡嘉豪诗琪宇航文博一诺可馨明轩晨曦天佑雅婷志强美琳家乐梦瑶"
)
STAGE_YEARS = {"primary": 6, "junior": 3, "senior": 3}
STAGE_AGE = {"primary": 6, "junior": 12, "senior": 15}


def _id_number(rng: random.Random, birth: dt.date, sex: str, serial: int) -> str:
    """18-digit resident ID with a correct check character (python-stdnum)."""
    # Serials are unique across the demo (< 499), so no two pupils share an ID number.
    seq = (serial % 499) * 2 + (1 if sex == Student.Sex.MALE else 0)  # odd = male
    body = f"{COUNTY}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def _school_year_start(today: dt.date) -> int:
    return today.year if today.month >= 9 else today.year - 1


def _pupil(
    rng: random.Random, klass: SchoolClass, seat: int, serial: int, township: str, stage: str
) -> dict[str, object]:
    """What a class teacher types into the national template for one pupil."""
    sex = rng.choice(("男", "女"))
    born = dt.date(klass.entry_year - STAGE_AGE[stage], 1, 1) + dt.timedelta(
        days=rng.randrange(300)
    )
    village = rng.choice(("001", "002", "201", "202", "203", "205"))
    place = f"{township}{village}"
    surname = rng.choice(SURNAMES)
    address = f"湖南省浏阳市{rng.randrange(1, 30)}组{rng.randrange(1, 99)}号"
    father_id = _id_number(
        rng, dt.date(1985, 1, 1) + dt.timedelta(days=rng.randrange(3000)), Student.Sex.MALE, serial
    )
    return {
        "name": surname + "".join(rng.sample(GIVEN, rng.choice((1, 2)))),
        "sex": sex,
        "birth_date": f"{born:%Y%m%d}",
        "birthplace": place,
        "native_place": "湖南浏阳",
        "ethnicity": rng.choice(("汉族",) * 18 + ("土家族", "苗族")),
        "nationality": "中国",
        "id_type": "居民身份证",
        "id_number": _id_number(rng, born, "1" if sex == "男" else "2", serial),
        "overseas": "否",
        "political": "群众",
        "health": "健康或良好",
        "household_region": place,
        "household_type": "农业户口",
        "number_in_class": str(seat),
        "grade": klass.grade_name,
        "class_no": klass.class_no,
        "entry_year_month": f"{klass.entry_year}09",
        "entry_mode": "就近入学",
        "attendance": rng.choice(("走读",) * 4 + ("住校",)),
        "source": "正常入学",
        "current_address": address,
        "postal_address": address,
        "home_address": address,
        "phone": f"139{rng.randrange(10**8):08d}",
        "postcode": "410300",
        "only_child": rng.choice(("是", "否")),
        "preschool": "是",
        "left_behind": rng.choice(("非留守儿童",) * 3 + ("单亲留守儿童",)),
        "migrant_child": "否",
        "orphan": "否",
        "martyr_child": "否",
        "needs_aid": "否",
        "boarding_subsidy": "否",
        "transport": "步行",
        "m1_name": surname + "建国",
        "m1_relation": "父亲",
        "m1_phone": f"137{rng.randrange(10**8):08d}",
        "m1_is_guardian": "是",
        "m1_id_type": "居民身份证",
        "m1_id_number": father_id,
        "m1_household_region": place,
        "m2_name": rng.choice(SURNAMES) + "秀英",
        "m2_relation": "母亲",
        "m2_phone": f"136{rng.randrange(10**8):08d}",
        "m2_is_guardian": "是",
        "m2_household_region": place,
    }


def _load_students(demo: DemoSchool, rng: random.Random, serial_base: int) -> None:
    """Classes and pupils through the registry's own services, then the audit: older
    grades fully registered, the newest grade spread over the audit's states."""
    from common.actor import Actor
    from tenant_apps.registry.classes.services import class_create
    from tenant_apps.registry.imports.pipeline import students_create_bulk
    from tenant_apps.registry.students.approval import (
        students_county_decide,
        students_school_decide,
        students_submit,
    )
    from tenant_apps.registry.validation.rows import RowValidator
    from tenant_apps.registry.verification.rows import PASSED, CheckRow
    from tenant_apps.registry.verification.services import apply as national_apply

    if Student.objects.exists():
        return
    year0 = _school_year_start(timezone.localdate())
    stage = demo.stages[0]
    serial, rows = serial_base, []
    classes = []
    for grade in range(STAGE_YEARS[stage]):
        for number in range(1, demo.classes_per_grade + 1):
            klass = class_create(stage=stage, entry_year=year0 - grade, number=number)
            classes.append(klass)
            for seat in range(1, demo.pupils_per_class + 1):
                serial += 1
                rows.append(_pupil(rng, klass, seat, serial, demo.township, stage))
    # The demo class teacher (A004) leads the first class, so 本班学生 shows something.
    SchoolClass.objects.filter(pk=classes[0].pk).update(teacher_username="A004")
    validator = RowValidator(class_nos={c.class_no for c in classes})
    checked = [validator.validate(raw) for raw in rows]
    bad = [r.errors for r in checked if r.errors]
    if bad:
        raise RuntimeError(f"demo pupil fails validation: {bad[0]}")
    registrar = Actor("A002", "李建国", demo.slug)
    approver = Actor("A003", "陈校长", demo.slug)
    bureau = Actor("lyjy01", "刘学籍", "public")
    with transaction.atomic():
        students_create_bulk(
            rows=[(n, r.data, []) for n, r in enumerate(checked, 2)], actor=registrar
        )
    newest = classes[0].entry_year
    older = list(
        Student.objects.exclude(school_class__entry_year=newest).values_list("pk", flat=True)
    )
    new = list(
        Student.objects.filter(school_class__entry_year=newest)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if older:
        students_submit(student_ids=older, actor=registrar)
        students_school_decide(student_ids=older, approve=True, reason="", actor=approver)
        with transaction.atomic():
            students_county_decide(
                student_uuids=list(
                    Student.objects.filter(pk__in=older).values_list("identifier", flat=True)
                ),
                approve=True,
                reason="",
                actor=bureau,
            )
        # registered in earlier years, so the national check has passed them: G numbers
        # (the county's import of the national results, registry.verification)
        with transaction.atomic():
            national_apply(
                [
                    CheckRow(n, number, name, PASSED, "")
                    for n, (number, name) in enumerate(
                        Student.objects.filter(pk__in=older).values_list("national_number", "name"),
                        2,
                    )
                ],
                actor=bureau,
            )
    # the newest grade: a third waits for the bureau, a third for the school, a third drafts
    third = len(new) // 3
    if third:
        students_submit(student_ids=new[: 2 * third], actor=registrar)
        students_school_decide(student_ids=new[:third], approve=True, reason="", actor=approver)


def _load_grades() -> None:
    """This term's 语文, 数学 and 体育与健康 in every class; the demo subject teacher (A005)
    enters 数学 everywhere. Only when the term has no class courses yet."""
    from django.db import connection

    from common.actor import Actor
    from tenant_apps.grades.models import ClassCourse, Course
    from tenant_apps.grades.services import assignment_set, class_courses_set
    from tenant_apps.grades.terms import current_term

    term = current_term()
    if ClassCourse.objects.filter(school_year=term.school_year, term=term.term).exists():
        return
    admin = Actor("A001", "周晓梅", str(connection.schema_name))
    codes = {c.code: c.pk for c in Course.objects.filter(code__in=["13", "14", "22"])}
    classes = list(SchoolClass.objects.values_list("pk", flat=True))
    with transaction.atomic():
        for pk in classes:
            class_courses_set(class_id=pk, course_ids=codes.values(), term=term, actor=admin)
        assignment_set(
            username="A005", class_ids=classes, course_ids=[codes["14"]], term=term, actor=admin
        )


def _load_setup(demo: DemoSchool, school_id: int, logins: dict[str, str]) -> None:
    """The start-of-year set-up as a school would do it: its profile, a class teacher
    account (T + class number) for every class still without one, a user group (教务处,
    the demo subject teacher in it) and grade heads."""
    from django.db import connection

    from common.actor import Actor
    from tenant_apps.registry.classes.services import class_update, grade_update
    from tenant_apps.registry.models import Grade
    from tenants.profile import CampusInput, ProfileInput, school_profile_update

    admin = Actor("A001", "周晓梅", str(connection.schema_name))
    rng = random.Random(f"{demo.code}-setup")
    if not School.objects.filter(pk=school_id, profile_reviewed_at__isnull=False).exists():
        school_profile_update(
            school_id=school_id,
            data=ProfileInput(
                address=f"湖南省浏阳市{demo.name}",
                location_code=f"{demo.township}000",
                postcode="410300",
                principal="陈校长",
                phone="0731-83000000",
                school_type="211" if demo.stages == ("primary",) else "311",
                sponsor="41",
                intro=f"{demo.name}是浏阳市教育局举办的公办学校。",
                campuses=(CampusInput(name="本部", address=f"湖南省浏阳市{demo.name}"),),
            ),
            actor=admin,
        )
    for klass in SchoolClass.objects.filter(teacher_username="").order_by("class_no"):
        username = f"T{klass.class_no[2:]}"
        start = rng.randrange(len(GIVEN) // 2) * 2
        name = rng.choice(SURNAMES) + GIVEN[start : start + 2]
        with transaction.atomic():
            _ensure_user(username, name, [Role.CLASS_TEACHER, Role.ALL_TEACHERS], None, logins)
            class_update(
                class_id=klass.pk,
                class_type=klass.class_type,
                teacher_username=username,
                actor=admin,
            )
    from accounts.groups import group_create
    from accounts.models import UserGroup

    if not UserGroup.objects.exists():
        group_create(
            name="教务处",
            rights=["grades.manage", "stats.view"],
            member_ids=User.objects.filter(username="A005").values_list("pk", flat=True),
            actor=admin,
        )
    for grade in Grade.objects.filter(head_name=""):
        first = (
            SchoolClass.objects.filter(stage=grade.stage, entry_year=grade.entry_year)
            .exclude(teacher_username="")
            .order_by("number")
            .first()
        )
        if first is not None:
            grade_update(grade_id=grade.pk, head_username=first.teacher_username, actor=admin)


SUBJECTS = ("语文", "数学", "英语", "科学", "道德与法治", "音乐", "体育", "美术", "信息技术")
# Staff without an account of their own, so the list shows 借调 and 退休 too.
EXTRA_TEACHERS = (("B001", "lent"), ("B002", "retired"))


def _load_teachers(demo: DemoSchool) -> None:
    """A teacher record (教师信息管理) for every staff account of the school, linked by
    the staff number, and two without an account (one lent out, one retired)."""
    from django.db import connection

    from common.actor import Actor
    from tenant_apps.registry.models import Teacher
    from tenant_apps.registry.teachers.services import teacher_create

    admin = Actor("A001", "周晓梅", str(connection.schema_name))
    rng = random.Random(f"{demo.code}-teachers")
    people = [(u.username, u.full_name, "active") for u in User.objects.order_by("username")]
    for staff_no, status in EXTRA_TEACHERS:
        start = rng.randrange(len(GIVEN) // 2) * 2
        people.append((staff_no, rng.choice(SURNAMES) + GIVEN[start : start + 2], status))
    for serial, (staff_no, name, status) in enumerate(people):
        if Teacher.objects.filter(staff_no=staff_no).exists():
            continue
        sex = rng.choice("12")
        birth = dt.date(rng.randrange(1968, 1998), rng.randrange(1, 13), rng.randrange(1, 29))
        seq = (serial % 499) * 2 + (1 if sex == "1" else 0)  # odd = male
        # 长沙县 (430121): 浏阳市's own code dates from 1993, after most staff were born.
        body = f"430121{birth:%Y%m%d}{seq:03d}"
        teacher_create(
            data={
                "staff_no": staff_no,
                "name": name,
                "sex": sex,
                "id_number": body + ric.calc_check_digit(body + "0"),
                "phone": f"139{rng.randrange(10**8):08d}",
                # A005 is the demo's 数学 teacher (成绩录入权限, the README's table).
                "subject": "数学" if staff_no == "A005" else rng.choice(SUBJECTS),
                "title": rng.choice(("senior", "first", "first", "second", "none")),
                "employment": "established" if serial % 7 else "contract",
                "status": status,
            },
            actor=admin,
        )


def _load_programme(demo: DemoSchool, school_id: int) -> None:
    """营养改善计划: the first demo school is a programme school since the school year
    began, with the pupils of its second-year classes ticked (through the services)."""
    from common.actor import Actor
    from shared_apps.nutrition.models import ProgrammeSchool
    from shared_apps.nutrition.services import programme_mark
    from tenant_apps.registry import counts
    from tenant_apps.rosters.programme.services import beneficiaries_save

    if ProgrammeSchool.objects.filter(school_id=school_id).exists():
        return
    start = dt.date(_school_year_start(timezone.localdate()), 9, 1)
    programme_mark(
        school_id=school_id, school_name=demo.name, on=start, actor_label="刘学籍（lyjy01）"
    )
    second = _school_year_start(timezone.localdate()) - 1
    pupils = Student.objects.filter(counts.IN_SCHOOL, school_class__entry_year=second)
    beneficiaries_save(
        tick=list(pupils.values_list("pk", flat=True)),
        untick=[],
        on=start,
        actor=Actor("A002", "李建国", demo.slug),
    )


def _ensure_user(
    username: str, name: str, roles: list[str], region: str | None, logins: dict[str, str]
) -> None:
    if User.objects.filter(username=username).exists():
        return
    password = initial_password_generate()
    user_create(username=username, full_name=name, roles=roles, region_id=region)
    user = User.objects.get(username=username)
    user.set_password(password)
    user.must_change_password = False  # demo accounts: the printed password keeps working
    user.save(update_fields=["password", "must_change_password"])
    logins[username] = password


def _login_line(username: str, password: str, who: dict[str, tuple[str, list[Role]]]) -> str:
    """ "  A002 / <password>   学籍管理员 · 李建国": the printed logins say whom they open."""
    name, roles = who.get(username, ("", []))
    role_text = "、".join(str(Role(r).label) for r in roles)
    return (
        f"  {username} / {password}   {role_text} · {name}"
        if name
        else f"  {username} / {password}"
    )


def demo_load(*, state_dir: Path = STATE_DIR) -> list[str]:
    """Create what is missing; return human-readable login lines (also written to
    state_dir/demo-logins.txt)."""
    state_file, text_file = state_dir / "demo-logins.json", state_dir / "demo-logins.txt"
    logins: dict[str, dict[str, str]] = (
        json.loads(state_file.read_text()) if state_file.exists() else {}
    )
    public_logins = logins.setdefault("public", {})
    region = Region.objects.get(code=f"{COUNTY}000000")
    with transaction.atomic():
        if not Bureau.objects.filter(region=region).exists():
            bureau_create(region_code=region.code, name="浏阳市教育局")
        for username, (name, roles) in PUBLIC_STAFF.items():
            in_region = region.code if Role.PLATFORM_OPERATOR not in roles else None
            _ensure_user(username, name, [str(r) for r in roles], in_region, public_logins)

    staff_of: dict[str, dict[str, tuple[str, list[Role]]]] = {}
    for demo in SCHOOLS:
        school = School.objects.schools().filter(code=demo.code).first()
        if school is None:
            registered = school_register(
                data=SchoolInput(
                    name=demo.name,
                    code=demo.code,
                    slug=demo.slug,
                    county_code=COUNTY,
                    stages=list(demo.stages),
                    address=f"湖南省浏阳市{demo.name}",
                    principal="陈校长",
                    phone="0731-83000000",
                ),
                scope=None,
            )
            school_id = registered.school_id
        else:
            school_id = school.pk
        school_provision(school_id=school_id)
        schema = School.objects.get(pk=school_id).schema_name
        school_logins = logins.setdefault(demo.slug, {})
        with school_context(schema):
            with transaction.atomic():
                for username, name, roles in STAFF:
                    _ensure_user(username, name, [str(r) for r in roles], None, school_logins)
            _load_students(demo, random.Random(demo.code), serial_base=200 * SCHOOLS.index(demo))
            _load_grades()
            _load_setup(demo, school_id, school_logins)
            _load_teachers(demo)
            if demo is SCHOOLS[0]:
                _load_programme(demo, school_id)
            school_stats_refresh()
            # 查询统计's history starts with the day the demo was made (纵向对比 has a point).
            if not StatsSnapshot.objects.exists():
                snapshot_take(taken_by="演示数据")
            # Whom each printed login opens, read back from the school's own accounts.
            staff_of[demo.slug] = {
                u.username: (
                    u.full_name,
                    [Role(g) for g in u.groups.values_list("name", flat=True)],
                )
                for u in User.objects.filter(username__in=list(school_logins))
            }

    state_dir.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(logins, ensure_ascii=False, indent=1))
    base = f"{settings.BASE_DOMAIN}:{os.environ.get('PORT', '8000')}"
    lines = [f"教育局 / 平台  http://{base}/"]
    lines += [_login_line(u, p, PUBLIC_STAFF) for u, p in logins["public"].items()]
    for demo in SCHOOLS:
        lines.append(f"{demo.name}  http://{demo.slug}.{base}/")
        staff = staff_of.get(demo.slug, {})
        lines += [_login_line(u, p, staff) for u, p in logins.get(demo.slug, {}).items()]
    text_file.write_text("\n".join(lines) + "\n")
    return lines
