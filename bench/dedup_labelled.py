"""A labelled set for 查重 and the product's own decision replayed on it (issue 19 point 7).

    .venv/bin/python bench/dedup_labelled.py [--children 200000] [--schools 400] [--seed 7]

Nobody tuned the product to this set: it is generated from the rules of the domain, then
the product's validator, keys and decision are replayed on it as registration would run.

The population: `--children` children over `--schools` schools, with resident ID numbers
(GB 11643, the sex digit and check character right), names drawn from common surnames
(the polyphonic ones among them) and given-name characters, birth dates over seven school
years. Planted among them, each labelled:
- 1,000 twin pairs: same surname, birth date and county, other given names and ID
  numbers: two children.
- name collisions: pairs of different children with the same name, sex and birth date,
  and pairs with the same pinyin and birth date (梓涵/子涵): two children each.
- 6,000 duplicates of ten kinds (600 each): the same child registered again in another
  school, the second entry as a registrar mistypes it. Kinds that change the ID number are
  replayed through the validator: a number it refuses is typed again from the document
  (the message no longer prints the expected check character), one it accepts stays
  wrong. The other kinds come without a usable ID number on the second entry (a child
  registered with another document, or before the ID existed): with a correct ID number
  any of them is found by the ID alone.

The decision replayed: the product's keys (`student_index.keys.identity_keys`: ID number;
name+sex+birth date; pinyin+birth date; the near keys of `keys.near_keys`) over every
record registered before it, in registration order, and the product's decision
(`keys.match_kind`), as single entry, import and the nightly grouping make it: the same ID
number is 重复 (strict tier); a name or review near key is 疑似 (review tier); two
different ID numbers (the twin guard) or a low near key go to the low-priority list, which
never blocks. Printed: recall per kind (a pair is found in any tier), precision and the
share of different children per tier.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Common surnames, the polyphonic ones (曾 zeng, 仇 qiu, 单 shan, 解 xie, 区 ou, 查 zha,
# 朴 piao, 乐 yue, 覃 qin, 缪 miao, 翟 zhai) among them.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔向汤仇单解区查朴乐缪翟"
)
GIVEN = (
    "子梓涵轩宇浩然欣怡雨泽一诺思睿晨博文佳琪俊杰嘉豪雅婷梦瑶紫萱诗琪若曦天佑明辉志强"
    "家乐心妍可馨语桐沐辰奕辰宇航星辰俊熙皓轩铭泽煜城乐瑶安琪欣然雨萱子墨昊然浩宇思远"
    "林玲兰岚宁凌楠南娜琳婷亭芬芳慧辉晖红宏鸿敏民灵龄静菁婧清晴青"
)
# A homophone of a given-name character, the same pinyin (梓/子, 涵/寒...).
HOMOPHONES = {
    "梓": "子",
    "子": "紫",
    "涵": "寒",
    "轩": "萱",
    "宇": "雨",
    "浩": "昊",
    "欣": "馨",
    "怡": "仪",
    "泽": "择",
    "诺": "娜",
    "思": "斯",
    "睿": "瑞",
    "晨": "辰",
    "博": "波",
    "文": "雯",
    "佳": "嘉",
    "琪": "棋",
    "俊": "骏",
    "杰": "洁",
    "豪": "毫",
    "雅": "亚",
    "婷": "亭",
    "梦": "孟",
    "瑶": "遥",
    "萱": "轩",
    "诗": "施",
    "若": "弱",
    "曦": "希",
    "天": "添",
    "明": "鸣",
    "辉": "晖",
    "强": "墙",
    "乐": "勒",
    "妍": "研",
    "桐": "童",
}
# Traditional or variant forms registrars type (張, 劉 ...).
TRADITIONAL = {
    "张": "張",
    "刘": "劉",
    "陈": "陳",
    "杨": "楊",
    "黄": "黃",
    "赵": "趙",
    "吴": "吳",
    "马": "馬",
    "罗": "羅",
    "郑": "鄭",
    "梁": "樑",
    "谢": "謝",
    "许": "許",
    "韩": "韓",
    "冯": "馮",
    "邓": "鄧",
    "萧": "蕭",
    "轩": "軒",
    "泽": "澤",
    "诺": "諾",
    "杰": "傑",
    "梦": "夢",
    "瑶": "瑤",
    "诗": "詩",
    "辉": "輝",
    "强": "強",
    "乐": "樂",
    "语": "語",
    "铭": "銘",
    "龙": "龍",
    "凤": "鳳",
}
# Hunan near-homophones: n/l, in/ing, en/eng, f/h, z/zh (林/玲, 欣/星, 南/兰 ...).
NEAR = {
    "林": "玲",
    "玲": "林",
    "欣": "星",
    "星": "欣",
    "南": "兰",
    "兰": "南",
    "宁": "灵",
    "凌": "宁",
    "楠": "兰",
    "娜": "拉",
    "琳": "凌",
    "敏": "明",
    "民": "鸣",
    "静": "进",
    "菁": "金",
    "清": "琴",
    "晴": "勤",
    "芬": "昏",
    "芳": "荒",
    "慧": "费",
    "红": "冯",
    "宏": "逢",
    "鸿": "峰",
    "辉": "飞",
    "子": "智",
    "紫": "志",
    "泽": "哲",
    "梓": "志",
}
COUNTIES = ("430181", "430182", "430121", "430111", "430102", "430103", "430104", "430112")
KINDS = (
    "exact",
    "id_typo",
    "id_transposed",
    "missing_id",
    "stray_spaces",
    "homophone",
    "traditional",
    "wrong_sex",
    "near_homophone",
    "birth_off",
)
ID_KINDS = frozenset({"exact", "id_typo", "id_transposed"})
TODAY = dt.date(2026, 12, 1)


@dataclass(frozen=True)
class Child:
    """One true child: what its documents say."""

    child: int
    name: str
    sex: str
    birth: dt.date
    id_number: str


@dataclass(frozen=True)
class Entry:
    """One registration as typed (one record of the index)."""

    record: int
    child: int
    school: int
    name: str
    sex: str
    birth: dt.date
    id_number: str  # "" when registered without one
    kind: str = ""  # for a planted duplicate's second entry: its kind


@dataclass
class Labelled:
    entries: list[Entry]
    twins: list[tuple[int, int]] = field(default_factory=list)  # record pairs
    collisions: list[tuple[int, int]] = field(default_factory=list)  # record pairs
    duplicates: dict[int, int] = field(default_factory=dict)  # second record -> first


def resident_id(county: str, birth: dt.date, serial: int) -> str:
    from stdnum.cn import ric

    first17 = f"{county}{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def _serial(rng: random.Random, sex: str) -> int:
    # The 17th digit is odd for a man, even for a woman (GB 11643).
    base = rng.randrange(0, 50) * 20 + rng.randrange(0, 5) * 2
    return base + (1 if sex == "1" else 0)


def _name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))
    return rng.choice(SURNAMES) + given


def _birth(rng: random.Random) -> dt.date:
    return dt.date(2012, 9, 1) + dt.timedelta(days=rng.randrange(7 * 365))


_ISSUED: set[str] = set()


def _unique_id(rng: random.Random, county: str, birth: dt.date, sex: str) -> str:
    """A resident ID number nobody else holds (the police issue each once)."""
    while True:
        number = resident_id(county, birth, _serial(rng, sex))
        if number not in _ISSUED:
            _ISSUED.add(number)
            return number


def _child(rng: random.Random, n: int, *, name: str = "", sex: str = "", birth=None) -> Child:
    sex = sex or rng.choice("12")
    birth = birth or _birth(rng)
    county = rng.choice(COUNTIES)
    return Child(n, name or _name(rng), sex, birth, _unique_id(rng, county, birth, sex))


def _swap_char(name: str, table: dict[str, str], rng: random.Random) -> str | None:
    spots = [i for i, ch in enumerate(name) if ch in table and table[ch] != ch]
    if not spots:
        return None
    i = rng.choice(spots)
    return name[:i] + table[name[i]] + name[i + 1 :]


def _mutate(c: Child, kind: str, rng: random.Random) -> tuple[str, str, dt.date, str] | None:
    """(name, sex, birth, id typed) of a second registration of `c`, or None when the
    kind cannot apply to this child (no character to swap)."""
    name, sex, birth, id_number = c.name, c.sex, c.birth, c.id_number
    if kind == "exact":
        return name, sex, birth, id_number
    if kind == "id_typo":
        i = rng.randrange(6, 17)
        digit = rng.choice([d for d in "0123456789" if d != id_number[i]])
        return name, sex, birth, id_number[:i] + digit + id_number[i + 1 :]
    if kind == "id_transposed":
        i = rng.randrange(6, 16)
        if id_number[i] == id_number[i + 1]:
            return None
        swapped = id_number[:i] + id_number[i + 1] + id_number[i] + id_number[i + 2 :]
        return name, sex, birth, swapped
    # The other kinds: no usable ID number on the second entry (see the module's note).
    if kind == "missing_id":
        return name, sex, birth, ""
    if kind == "stray_spaces":
        i = rng.randrange(1, len(name))
        return name[:i] + rng.choice((" ", "\u3000", "  ")) + name[i:], sex, birth, ""
    if kind == "homophone":
        other = _swap_char(name[1:], HOMOPHONES, rng)
        return (name[0] + other, sex, birth, "") if other else None
    if kind == "traditional":
        other = _swap_char(name, TRADITIONAL, rng)
        return (other, sex, birth, "") if other else None
    if kind == "wrong_sex":
        return name, "2" if sex == "1" else "1", birth, ""
    if kind == "near_homophone":
        other = _swap_char(name[1:], NEAR, rng)
        return (name[0] + other, sex, birth, "") if other else None
    if kind == "birth_off":
        if rng.random() < 0.5 and birth.day <= 12 and birth.day != birth.month:
            return name, sex, birth.replace(month=birth.day, day=birth.month), ""
        return name, sex, birth + dt.timedelta(days=rng.choice((-1, 1))), ""
    raise ValueError(kind)


def _as_typed(id_number: str, sex: str, birth: dt.date, true_id: str) -> str:
    """The replay of the validator: a number it refuses is typed again from the document;
    one it accepts stays as typed (a valid, wrong number)."""
    from tenant_apps.registry.validation.identifiers import id_sex_problem, resident_id_problems

    problems, in_id = resident_id_problems(id_number, header="身份证件号", today=TODAY)
    if problems or in_id != birth or id_sex_problem(id_number, sex, header="身份证件号"):
        return true_id
    return id_number


def generate(*, children: int, schools: int, seed: int, duplicates_per_kind: int) -> Labelled:
    rng = random.Random(seed)
    _ISSUED.clear()
    entries: list[Entry] = []
    out = Labelled(entries)

    def add(c: Child, school: int, *, name=None, sex=None, birth=None, id_number=None, kind=""):
        e = Entry(
            len(entries),
            c.child,
            school,
            c.name if name is None else name,
            c.sex if sex is None else sex,
            c.birth if birth is None else birth,
            c.id_number if id_number is None else id_number,
            kind,
        )
        entries.append(e)
        return e

    people: list[Child] = []
    twin_pairs = min(1000, children // 200)
    collision_pairs = min(1000, children // 200)
    plain = children - 2 * twin_pairs - 2 * collision_pairs
    for n in range(plain):
        people.append(_child(rng, n))
    for _ in range(twin_pairs):
        a = _child(rng, len(people))
        county = a.id_number[:6]
        sex_b = rng.choice("12")
        b = Child(
            len(people) + 1,
            a.name[0] + "".join(rng.choice(GIVEN) for _ in range(len(a.name) - 1)),
            sex_b,
            a.birth,
            _unique_id(rng, county, a.birth, sex_b),
        )
        if b.name == a.name:
            b = replace(b, name=b.name + rng.choice(GIVEN))
        people += [a, b]
        school = rng.randrange(schools)
        ea, eb = add(a, school), add(b, school)
        out.twins.append((ea.record, eb.record))
    for k in range(collision_pairs):
        a = _child(rng, len(people))
        if k % 2 == 0:  # the same name, sex and birth date: two children
            b = _child(rng, len(people) + 1, name=a.name, sex=a.sex, birth=a.birth)
        else:  # the same pinyin and birth date (梓涵/子涵)
            other = _swap_char(a.name[1:], HOMOPHONES, rng)
            name_b = a.name[0] + other if other else a.name
            b = _child(rng, len(people) + 1, name=name_b, birth=a.birth)
        people += [a, b]
        ea, eb = add(a, rng.randrange(schools)), add(b, rng.randrange(schools))
        out.collisions.append((ea.record, eb.record))
    firsts: dict[int, Entry] = {}
    for c in people[:plain]:
        firsts[c.child] = add(c, rng.randrange(schools))
    # Duplicates: second registrations of children already registered.
    pool = list(range(plain))
    rng.shuffle(pool)
    picks = iter(pool)
    for kind in KINDS:
        made = 0
        while made < duplicates_per_kind:
            c = people[next(picks)]
            typed = _mutate(c, kind, rng)
            if typed is None:
                continue
            name, sex, birth, id_number = typed
            if id_number and kind in ID_KINDS:
                id_number = _as_typed(id_number, sex, birth, c.id_number)
            first = firsts[c.child]
            school = rng.choice([s for s in range(schools) if s != first.school] or [0])
            e = add(c, school, name=name, sex=sex, birth=birth, id_number=id_number, kind=kind)
            out.duplicates[e.record] = first.record
            made += 1
    return out


@dataclass
class Outcome:
    found: Counter[str]  # duplicate kind -> second entries flagged (any tier) against their first
    planted: Counter[str]  # duplicate kind -> second entries planted
    strict: Counter[str]  # "same" / "different": pairs in the strict tier
    review: Counter[str]  # "same" / "twin" / "collision" / "different": pairs sent to review
    low: Counter[str]  # the same labels: pairs on the low-priority list (never blocks)
    seconds: float
    found_by: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, tier)

    def recall(self, kind: str) -> float:
        return self.found[kind] / max(self.planted[kind], 1)

    def precision(self, tier: Counter[str]) -> float:
        return tier["same"] / max(sum(tier.values()), 1)


_RANK = {"duplicate": 0, "suspected": 1, "low": 2}


def evaluate(data: Labelled) -> Outcome:
    """The product's 查重 replayed: every entry against every earlier one, on the keys of
    `student_index.keys.identity_keys` and the tier of `keys.match_kind`, as the index
    probes them (a digest is equal or not: the same lookup the index, an import file and
    the nightly grouping make)."""
    from shared_apps.student_index.keys import identity_keys, match_kind

    start = time.perf_counter()
    twins = {frozenset(p) for p in data.twins}
    collisions = {frozenset(p) for p in data.collisions}
    seen: dict[str, dict[str, list[int]]] = {
        r: {} for r in ("id", "name_sex_birth", "pinyin_birth", "near", "low")
    }
    ids: dict[int, str] = {}
    child_of = {e.record: e.child for e in data.entries}
    found: Counter[str] = Counter()
    found_by: Counter[tuple[str, str]] = Counter()
    planted: Counter[str] = Counter(e.kind for e in data.entries if e.kind)
    tiers: dict[str, Counter[str]] = {
        "duplicate": Counter(),
        "suspected": Counter(),
        "low": Counter(),
    }
    for e in data.entries:
        k = identity_keys(name=e.name, sex=e.sex, birth_date=e.birth, id_number=e.id_number)
        ids[e.record] = k.id_hash
        probes: list[tuple[str, str]] = [
            ("name_sex_birth", k.name_hash),
            ("pinyin_birth", k.pinyin_hash),
        ]
        if k.id_hash:
            probes.insert(0, ("id", k.id_hash))
        probes += [("near", h) for h in k.near_hashes] + [("low", h) for h in k.low_hashes]
        hits: dict[int, str] = {}
        for rule, key in probes:
            for other in seen[rule].get(key, ()):
                kind = match_kind(rule, k.id_hash, ids[other])  # type: ignore[arg-type]
                if kind is None:
                    continue
                if other not in hits or _RANK[kind] < _RANK[hits[other]]:
                    hits[other] = kind
        for other, tier in hits.items():
            same = child_of[other] == e.child
            pair = frozenset((other, e.record))
            label = (
                "same"
                if same
                else "twin"
                if pair in twins
                else "collision"
                if pair in collisions
                else "different"
            )
            tiers[tier][label] += 1
        first = data.duplicates.get(e.record)
        if e.kind and first in hits:
            found[e.kind] += 1
            found_by[(e.kind, hits[first])] += 1
        for rule, key in probes:
            seen[rule].setdefault(key, []).append(e.record)
    strict = Counter({"same": tiers["duplicate"]["same"]})
    strict["different"] = sum(tiers["duplicate"].values()) - strict["same"]
    return Outcome(
        found,
        planted,
        +strict,
        tiers["suspected"],
        tiers["low"],
        time.perf_counter() - start,
        found_by,
    )


def report(data: Labelled, outcome: Outcome) -> Iterator[str]:
    yield f"{len(data.entries):,} records ({len(data.duplicates):,} planted duplicates, "
    yield f"{len(data.twins):,} twin pairs, {len(data.collisions):,} planted collisions)"
    yield ""
    yield "| duplicate kind | planted | found | recall | of which 重复 / 疑似 / 低优先级 |"
    yield "|---|---:|---:|---:|---:|"
    by = outcome.found_by
    for kind in KINDS:
        split = " / ".join(str(by[(kind, t)]) for t in ("duplicate", "suspected", "low"))
        yield (
            f"| {kind} | {outcome.planted[kind]} | {outcome.found[kind]} | "
            f"{100 * outcome.recall(kind):.2f} % | {split} |"
        )
    total_found, total = sum(outcome.found.values()), sum(outcome.planted.values())
    yield f"| **all** | {total} | {total_found} | {100 * total_found / max(total, 1):.2f} % | |"
    yield ""
    yield (
        "| tier | pairs | same child | different children (share) | twins "
        "| planted collisions | other | precision |"
    )
    yield "|---|---:|---:|---:|---:|---:|---:|---:|"
    for label, tier in (
        ("重复 (strict, blocks)", outcome.strict),
        ("疑似 (review)", outcome.review),
        ("低优先级 (never blocks)", outcome.low),
    ):
        n = sum(tier.values())
        other = n - tier["same"]
        yield (
            f"| {label} | {n:,} | {tier['same']:,} | {other:,} ({100 * other / max(n, 1):.2f} %) | "
            f"{tier['twin']} | {tier['collision']} | {tier['different']} | "
            f"{100 * outcome.precision(tier):.2f} % |"
        )
    yield ""
    yield f"decision replayed over every record in {outcome.seconds:.1f} s"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=200_000)
    parser.add_argument("--schools", type=int, default=400)
    parser.add_argument("--per-kind", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
    from bench import benchdb

    benchdb.django_setup()
    t0 = time.perf_counter()
    data = generate(
        children=args.children,
        schools=args.schools,
        seed=args.seed,
        duplicates_per_kind=args.per_kind,
    )
    print(f"generated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    # No database here: the decision is replayed in memory on the product's own keys.
    cpu = benchdb.proc_field("/proc/cpuinfo", "model name") or "?"
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {cpu}, seed {args.seed}")
    for line in report(data, evaluate(data)):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
