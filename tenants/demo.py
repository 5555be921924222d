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
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"  # noqa: E501
GIVEN = (
    "子涵梓萱浩宇欣怡雨轩思远若曦俊杰佳怡嘉豪诗琪宇航文博一诺可馨明轩晨曦天佑雅婷志强美琳家乐梦瑶"
)
STAGE_YEARS = {"primary": 6, "junior": 3, "senior": 3}
STAGE_AGE = {"primary": 6, "junior": 12, "senior": 15}


def _id_number(rng: random.Random, birth: dt.date, sex: str, serial: int) -> str:
    """18-digit resident ID with a correct check character (python-stdnum)."""
    seq = (serial % 49) * 2 + (1 if sex == Student.Sex.MALE else 2)  # odd = male
    body = f"{COUNTY}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def _school_year_start(today: dt.date) -> int:
    return today.year if today.month >= 9 else today.year - 1


def _load_students(demo: DemoSchool, rng: random.Random) -> None:
    if Student.objects.exists():
        return
    year0 = _school_year_start(timezone.localdate())
    stage = demo.stages[0]
    serial = 0
    students: list[Student] = []
    for grade in range(STAGE_YEARS[stage]):
        entry_year = year0 - grade
        for number in range(1, demo.classes_per_grade + 1):
            klass = SchoolClass.objects.create(
                stage=stage,
                entry_year=entry_year,
                number=number,
                class_no=SchoolClass.make_class_no(stage, entry_year, number),
                teacher_name=rng.choice(SURNAMES) + rng.choice(("老师", "丽", "强", "芳")),
            )
            for seat in range(1, demo.pupils_per_class + 1):
                serial += 1
                sex = rng.choice(Student.Sex.values)
                born = dt.date(entry_year - STAGE_AGE[stage], 1, 1) + dt.timedelta(
                    days=rng.randrange(365)
                )
                village = rng.choice(("000", "001", "002", "201", "202", "203", "205"))
                students.append(
                    Student(
                        name=rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2)))),
                        sex=sex,
                        birth_date=born,
                        id_number=_id_number(rng, born, sex, serial),
                        ethnicity=rng.choice(("01",) * 18 + ("15", "06")),
                        birthplace=f"{demo.township}{village}",
                        household_region=f"{demo.township}{village}",
                        school_class=klass,
                        number_in_class=seat,
                        entry_year_month=f"{entry_year}09",
                    )
                )
    Student.objects.bulk_create(students)


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
        _ensure_user("admin", "平台运营", [Role.PLATFORM_OPERATOR], None, public_logins)
        _ensure_user(
            "lyjy01",
            "刘学籍",
            [Role.BUREAU_REGISTRAR, Role.BUREAU_APPROVER],
            region.code,
            public_logins,
        )

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
        with school_context(schema), transaction.atomic():
            for username, name, roles in STAFF:
                _ensure_user(username, name, [str(r) for r in roles], None, school_logins)
            _load_students(demo, random.Random(demo.code))
            school_stats_refresh()

    state_dir.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(logins, ensure_ascii=False, indent=1))
    base = f"{settings.BASE_DOMAIN}:{os.environ.get('PORT', '8000')}"
    lines = [f"教育局 / 平台  http://{base}/"]
    lines += [f"  {u} / {p}" for u, p in logins["public"].items()]
    for demo in SCHOOLS:
        lines.append(f"{demo.name}  http://{demo.slug}.{base}/")
        lines += [f"  {u} / {p}" for u, p in logins.get(demo.slug, {}).items()]
    text_file.write_text("\n".join(lines) + "\n")
    return lines
