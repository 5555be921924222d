"""Finding a roster's header row and suggesting where its columns go.

A roster exported from another system has its own layout: a title row or two above the
header, header cells merged across rows (a group such as 家长信息 over 姓名 and 电话),
other names for the same field. The header row is the first of the top rows whose cells
match the most known names; a blank cell under a vertically merged one takes the text
above it, and a cell under a group heading is looked up with that heading first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tenant_apps.registry.fields import COLUMNS

# The roster's own grade and class texts: matched to the school's classes (services.
# class_matches), then stored in the template's 班级 column as the class number.
GRADE_KEY = "roster_grade"
CLASS_KEY = "roster_class"
ROSTER_KEYS = {GRADE_KEY: "年级（名册）", CLASS_KEY: "班级（名册）"}
# What a column can be mapped onto: the roster's grade and class, then every field of the
# national template. The template's own 年级 (derived from the class) is not offered.
TARGETS: dict[str, str] = {
    **ROSTER_KEYS,
    **{c.key: c.header for c in COLUMNS if c.key not in ("grade", "class_no")},
}
HEADER_SEARCH_ROWS = 10

# Other names for the same field, as exported by the nutrition system, the county's
# admissions system and hand-made lists. The template's own header always matches too.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "学生姓名", "学生名称", "名字"),
    "sex": ("性别", "学生性别"),
    "birth_date": ("出生日期", "出生年月日", "出生年月", "生日"),
    "ethnicity": ("民族",),
    "nationality": ("国籍", "国籍/地区", "国籍地区"),
    "id_type": ("身份证件类型", "证件类型"),
    "id_number": (
        "身份证件号",
        "身份证号",
        "身份证号码",
        "证件号码",
        "证件号",
        "学生身份证号",
        "公民身份号码",
    ),
    GRADE_KEY: ("年级", "年级名称", "所在年级"),
    CLASS_KEY: ("班级", "班级名称", "班别", "所在班级", "班"),
    "m1_name": ("家长姓名", "监护人姓名", "家长信息姓名", "监护人信息姓名", "父亲或母亲姓名"),
    "m1_relation": ("家长关系", "与学生关系", "关系", "监护人关系", "家长信息关系"),
    "m1_phone": ("家长电话", "监护人电话", "家长联系电话", "家长信息电话", "家长信息联系电话"),
    "m2_name": ("母亲姓名", "第二监护人姓名", "家长2姓名", "成员2姓名"),
    "m2_phone": ("母亲电话", "母亲联系电话", "家长2电话"),
    "phone": ("联系电话", "联系方式", "电话", "手机号", "手机号码"),
    "household_region": ("户口所在地", "户籍所在地", "户籍地"),
    "household_type": ("户口性质", "户籍性质"),
    "current_address": ("现住址", "居住地址", "现居住地址"),
    "home_address": ("家庭地址", "家庭住址"),
    "postal_address": ("通信地址", "通讯地址"),
    "birthplace": ("出生地",),
    "native_place": ("籍贯",),
    "entry_year_month": ("入学年月", "入学时间", "入学日期"),
    "left_behind": ("是否留守儿童", "留守儿童"),
    "boarding_subsidy": ("是否享受一补", "是否寄宿生补助"),
    "number_in_class": ("班内学号", "学号"),
}

_SPACE_RE = re.compile(r"[\s\u3000:：*＊★]+")


def header_text(value: object) -> str:
    """A header cell as compared: no spaces, line breaks, colons or required-stars."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _SPACE_RE.sub("", str(value)).strip()


def known_names(own: Mapping[str, str], synonyms: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """{header text: target key}: each target's own header, then its other names."""
    known: dict[str, str] = {header: key for key, header in own.items()}
    for key, names in synonyms.items():
        for name in names:
            known.setdefault(name, key)
    return known


@dataclass(frozen=True)
class Vocabulary:
    """What a source's columns can be mapped onto ({key: label}) and the header names
    that suggest each ({header text: key}). The nutrition and admissions rosters map
    onto the national template (STUDENTS); the teacher-training export onto the teacher
    record's fields (rosters.teachers.TEACHERS)."""

    targets: dict[str, str]
    known: dict[str, str]


KNOWN: dict[str, str] = known_names(
    {c.key: c.header for c in COLUMNS if c.key in TARGETS}, SYNONYMS
)
STUDENTS = Vocabulary(TARGETS, KNOWN)


@dataclass(frozen=True)
class Header:
    row_index: int  # 0-based index of the (first) header row among the rows read
    data_index: int  # 0-based index of the first row under the header
    texts: list[str]  # one per sheet column, merged cells filled in
    merged: list[int]  # 1-based columns whose text came from a merged cell
    # Per column the text with its group heading in front (家长信息姓名), or "".
    grouped: list[str]


def _score(texts: Sequence[str], known: Mapping[str, str]) -> int:
    return sum(1 for t in texts if t in known)


def _texts(rows: Sequence[Sequence[object]], index: int, width: int) -> list[str]:
    if index < 0 or index >= len(rows):
        return [""] * width
    texts = [header_text(v) for v in rows[index]]
    return texts + [""] * (width - len(texts))


def _spread(top: list[str], under: list[str]) -> list[str]:
    """A heading merged across columns has its text in its first cell only: carry it to
    the right over the empty cells that have a sub-heading under them."""
    out, carried = [], ""
    for text, sub in zip(top, under, strict=True):
        carried = text or (carried if sub else "")
        out.append(text or carried)
    return out


def header_find(
    rows: Sequence[Sequence[object]], vocabulary: Vocabulary = STUDENTS
) -> Header | None:
    """The header among the top rows: the first row with the most known names (at least
    two, so a title naming one field is not taken), with a sub-heading row under it or a
    heading row above it when cells are merged."""
    known = vocabulary.known
    best: tuple[int, int] | None = None  # (score, index)
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        score = _score([header_text(v) for v in row], known)
        if score >= 2 and (best is None or score > best[0]):
            best = (score, index)
    if best is None:
        return None
    index = best[1]
    width = max((len(r) for r in rows[max(index - 1, 0) : index + 2]), default=0)
    texts = _texts(rows, index, width)
    below = _texts(rows, index + 1, width)
    grouped = [""] * width
    merged: list[int] = []
    # Sub-headings: the next row has text only under empty cells or headings that are no
    # field (a merged 家长信息 over 姓名 and 联系电话), and some of it names a field.
    spread = _spread(texts, below)
    subs = [ci for ci in range(width) if below[ci]]
    if subs and all(spread[ci] not in known for ci in subs):
        named = [ci for ci in subs if below[ci] in known or spread[ci] + below[ci] in known]
        if named:
            for ci in subs:
                if spread[ci]:
                    grouped[ci] = spread[ci] + below[ci]
                if not texts[ci] and spread[ci]:
                    merged.append(ci + 1)
                texts[ci] = below[ci]
            return Header(index, index + 2, texts, merged, grouped)
    # A heading row above: a blank cell here under a merged one takes its text; a cell
    # under a group heading is also looked up with the heading in front.
    above = _texts(rows, index - 1, width)
    if index > 0:
        spread = _spread(above, texts)
        for ci in range(width):
            if not texts[ci] and above[ci] in known:
                texts[ci] = above[ci]
                merged.append(ci + 1)
            elif texts[ci] and spread[ci] and spread[ci] not in known:
                grouped[ci] = spread[ci] + texts[ci]
    return Header(index, index + 1, texts, merged, grouped)


def labels(header: Header) -> list[str]:
    """Per column the name a mapping is saved under: with its group heading, if any."""
    return [g or t for g, t in zip(header.grouped, header.texts, strict=True)]


def suggest(
    header: Header, saved: dict[str, str], vocabulary: Vocabulary = STUDENTS
) -> dict[int, str]:
    """{0-based column: target key} proposed for each header cell: the source's saved
    mapping first, then an exact known name (with its group heading, then without),
    then a close one. A target is proposed for one column only."""
    known, targets = vocabulary.known, vocabulary.targets
    proposal: dict[int, str] = {}
    taken: set[str] = set()
    names = labels(header)

    def take(ci: int, key: str) -> None:
        if key in targets and key not in taken and ci not in proposal:
            proposal[ci] = key
            taken.add(key)

    for ci, name in enumerate(names):
        if name in saved:
            take(ci, saved[name])
    for ci, text in enumerate(header.texts):
        if ci in proposal or names[ci] in saved or not text:
            continue
        grouped = header.grouped[ci]
        key = known.get(grouped) if grouped else None
        if key is None or key in taken:
            key = known.get(text)
        if key is not None:
            take(ci, key)
    names_known = list(known)
    for ci, text in enumerate(header.texts):
        if ci in proposal or not text or names[ci] in saved:
            continue
        for name in difflib.get_close_matches(text, names_known, n=3, cutoff=0.7):
            if known[name] not in taken:
                take(ci, known[name])
                break
    return proposal
