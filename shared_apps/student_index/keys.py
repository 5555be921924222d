"""Keyed hashes of a student's identity for the public index (architecture.md).

Only these digests cross into the public schema; the server-side key makes them
useless for guessing ID numbers from outside.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import operator
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from django.conf import settings
from pypinyin import Style
from pypinyin.constants import RE_HANS
from pypinyin.converter import UltimateConverter
from pypinyin.core import Pinyin
from pypinyin.seg import mmseg, simpleseg

_DOTS = str.maketrans(dict.fromkeys("•・‧．.∙", "·"))

# What pypinyin.lazy_pinyin builds on every call with its default options. A call segments
# the text into words (mmseg over the phrase dictionary) and converts each word on its own,
# so caching the conversion per word gives exactly lazy_pinyin's result: a school's 50,000
# names are all different, but they are made of a few thousand words and characters.
_PINYIN = Pinyin(UltimateConverter())


def normalize_name(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).translate(_DOTS)


def _pair_is_prefix() -> Callable[[str], bool] | None:
    """`pair in <the phrase prefix set>` of the segmenter lazy_pinyin uses, when that is
    pypinyin's own (0.55: simpleseg.seg, then mmseg.seg.cut on each run of Han text)."""
    if _PINYIN.get_seg() is not simpleseg.seg:
        return None
    prefixes = getattr(getattr(mmseg.seg, "_prefix_set", None), "_set", None)
    return prefixes.__contains__ if isinstance(prefixes, set) else None


_PAIR_IS_PREFIX = _pair_is_prefix()


@lru_cache(maxsize=65536)
def _words(text: str) -> tuple[str, ...]:
    """lazy_pinyin's segmentation of `text` (kept for the import's second look at a name).

    Fast path: an all-Han text in which no two neighbouring characters start a phrase of
    the dictionary comes out of the forward maximum matching one character at a time
    (mmseg.Seg.cut never extends a match past a failed two-character prefix), which is
    most personal names. Anything else is segmented by pypinyin itself.
    """
    if (
        _PAIR_IS_PREFIX is not None
        and RE_HANS.fullmatch(text)
        and not any(map(_PAIR_IS_PREFIX, map(operator.add, text, text[1:])))
    ):
        return tuple(text)
    return tuple(_PINYIN.seg(text))


@lru_cache(maxsize=65536)
def _word_pinyin(word: str, style: Style) -> str:
    # A one-element list is converted as it stands (a Han word is not segmented again).
    return "".join(_PINYIN.lazy_pinyin([word], style=style, errors="ignore"))


@lru_cache(maxsize=65536)
def name_pinyin(name: str) -> str:
    """Toneless pinyin, so homophones (张三/章三) share a key; equal to
    "".join(lazy_pinyin(name, errors="ignore")).lower()."""
    return "".join([_word_pinyin(w, Style.NORMAL) for w in _words(name)]).lower()


def name_initials(name: str) -> str:
    """Pinyin initials (张小明 → zxm); equal to "".join(lazy_pinyin(name,
    style=Style.FIRST_LETTER, errors="ignore")).lower()."""
    return "".join([_word_pinyin(w, Style.FIRST_LETTER) for w in _words(name)]).lower()


@lru_cache(maxsize=1)
def _key() -> bytes:
    return str(settings.STUDENT_INDEX_HMAC_KEY).encode()


@lru_cache(maxsize=1)
def _keyed() -> tuple[Any, Any]:
    """SHA-256 states that have already taken HMAC's padded key (RFC 2104), inner and
    outer. Copying them per value skips the two key blocks a one-shot hmac.digest
    hashes on every call: 0.6 instead of 1.6 microseconds a digest, three digests a
    pupil. Same bytes as hmac.digest (tests/keys)."""
    key = _key()
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer


_BLOCK = hashlib.sha256().block_size


def digest(value: str) -> str:
    """HMAC-SHA256 of `value` under STUDENT_INDEX_HMAC_KEY, first 128 bits in hex."""
    inner_keyed, outer_keyed = _keyed()
    inner = inner_keyed.copy()
    inner.update(value.encode())
    outer = outer_keyed.copy()
    outer.update(inner.digest())
    return outer.hexdigest()[:32]  # type: ignore[no-any-return]


@lru_cache(maxsize=4096)
def _born(birth_date: dt.date) -> str:
    return birth_date.strftime("%Y%m%d")


@dataclass(frozen=True)
class IdentityKeys:
    id_hash: str  # "" when the student has no usable ID number
    name_hash: str
    pinyin_hash: str
    # The near keys (near_keys): a match on `near_hashes` is 疑似, on `low_hashes` goes to
    # the low-priority list. Empty where only the ID is known (admissions, intake peeks).
    near_hashes: tuple[str, ...] = ()
    low_hashes: tuple[str, ...] = ()


def id_digest(id_number: str) -> str:
    """The index digest of an ID number ("" for none), as identity_keys makes it."""
    return digest("id:" + id_number.strip().upper()) if id_number else ""


def identity_keys(
    *, name: str, sex: str, birth_date: dt.date, id_number: str, near: bool = True
) -> IdentityKeys:
    """The record's keys. `near=False` leaves the near keys out: the import's dry run
    and confirmation work on the three exact keys only, and the batch's near keys are
    filled and matched after its commit (registry.imports.near_check), because they
    cost the 50,000-row import more than half its speed (bench/RESULTS.md)."""
    clean = normalize_name(name)
    born = _born(birth_date)
    review, low = near_keys(name=clean, sex=sex, birth_date=birth_date) if near else ([], [])
    return IdentityKeys(
        id_hash=id_digest(id_number),
        name_hash=digest(f"nsb:{clean}|{sex}|{born}"),
        pinyin_hash=digest(f"py:{name_pinyin(clean)}|{born}"),
        near_hashes=tuple(review),
        low_hashes=tuple(low),
    )


# -- the near keys (issue 19 point 7): what a registrar mistypes -------------------------
#
# Beside the three exact keys, each record carries two families of keyed digests, stored
# once and matched by equality, so the index, an import file and the nightly grouping all
# compare them the same way (no readable identity: only digests cross into the index):
#
# - REVIEW family (疑似): the dialect-folded pinyin of the whole name; and, for names of
#   three or more characters, the folded pinyin with ONE syllable cut to its initial
#   (芳 fang / 荒 huang: both "f" once h/f are folded; the rest of the name must agree).
# - LOW family (低优先级, never blocks): the folded pinyin with one syllable masked
#   entirely ('*', a deletion neighbourhood: a vowel and an initial both wrong, or a
#   character read by context), and the initial-cut key of two-character names, where
#   one remaining character is too little evidence to ask anyone to review.
#
# The birth date enters each digest as "birth keys" instead of the date itself, so that a
# date one day off or with day and month swapped gives an EQUAL digest, which a GROUP BY
# (nightly) and an index probe (entry) find without trying variants:
#   two buckets of two days, offset by one (t//2 and (t+1)//2 of the day number): two
#   dates share one iff they are at most a day apart; and, when both day and month are
#   ≤ 12 and differ, the date with day and month in order (3 May and 5 March share it).

# Polyphonic characters read as surnames in the first position (曾 zeng, not ceng).
SURNAME_READINGS = {
    "曾": "zeng",
    "仇": "qiu",
    "单": "shan",
    "解": "xie",
    "区": "ou",
    "查": "zha",
    "朴": "piao",
    "乐": "yue",
    "覃": "qin",
    "缪": "miao",
    "翟": "zhai",
    "盖": "ge",
    "尉": "yu",
    "员": "yun",
    "繁": "po",
    "种": "chong",
    "秘": "bi",
    "那": "na",
    "过": "guo",
    "召": "shao",
    "宿": "su",
    "万": "wan",
    "祭": "zhai",
    "能": "nai",
    "华": "hua",
    "郇": "huan",
    "句": "gou",
}
_INITIALS: tuple[str, ...] = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g")
_INITIALS += ("k", "h", "j", "q", "x", "r", "z", "c", "s", "y", "w")
# Initials the southern dialects (Hunan, Sichuan, Fujian...) do not tell apart, and the
# front/back nasal finals they merge: a general rule of Mandarin phonology, not pairs.
_INITIAL_FOLD = {"zh": "z", "ch": "c", "sh": "s", "n": "l", "h": "f"}
_FINAL_FOLD = {"ing": "in", "eng": "en", "ong": "on", "iong": "ion"}


@lru_cache(maxsize=8192)
def _split(syllable: str) -> tuple[str, str]:
    for initial in _INITIALS:
        if syllable.startswith(initial) and len(syllable) > len(initial):
            return initial, syllable[len(initial) :]
    return "", syllable


@lru_cache(maxsize=8192)
def _folded(syllable: str) -> tuple[str, str]:
    """(initial, final) of a toneless syllable after the dialect folds."""
    initial, final = _split(syllable)
    return _INITIAL_FOLD.get(initial, initial), _FINAL_FOLD.get(final, final)


@lru_cache(maxsize=16384)
def _char_pinyin(ch: str) -> str:
    # Each character on its own reading, not the phrase segmentation: a name is not a
    # phrase, and two spellings of one name must not be read in two contexts.
    return _word_pinyin(ch, Style.NORMAL).lower() or ch.lower()


def folded_syllables(name: str) -> tuple[tuple[str, str], ...]:
    """The folded (initial, final) of each character of the normalised name, the first
    read as a surname."""
    clean = normalize_name(name)
    out = []
    for i, ch in enumerate(clean):
        reading = SURNAME_READINGS.get(ch) if i == 0 else None
        out.append(_folded(reading or _char_pinyin(ch)))
    return tuple(out)


def folded_pinyin(name: str) -> str:
    """The dialect-folded pinyin of a name (林玲 and 凌林 alike): what the review key holds."""
    return "".join(i + f for i, f in folded_syllables(name))


def birth_keys(birth_date: dt.date) -> tuple[str, ...]:
    """Keys that two birth dates share iff they are at most one day apart or are the same
    date with day and month swapped (both ≤ 12)."""
    t = birth_date.toordinal()
    out = [f"a{t // 2}", f"b{(t + 1) // 2}"]
    d, m = birth_date.day, birth_date.month
    if d <= 12 and d != m:
        out.append(f"s{birth_date.year}-{min(d, m)}-{max(d, m)}")
    return tuple(out)


def _masked(syllables: Sequence[tuple[str, str]], i: int, mark: str) -> str:
    return "".join(mark if j == i else a + b for j, (a, b) in enumerate(syllables))


def near_keys(*, name: str, sex: str, birth_date: dt.date) -> tuple[list[str], list[str]]:
    """(review digests, low-priority digests) of a record: see the note above."""
    syl = folded_syllables(name)
    if not syl:
        return [], []
    births = birth_keys(birth_date)
    review: list[str] = []
    low: list[str] = []
    whole = "".join(a + b for a, b in syl)
    review += [digest(f"fd:{whole}|{b}") for b in births]
    n = len(syl)
    for i in range(n):
        cut = _masked(syl, i, syl[i][0] + "~")
        (review if n >= 3 else low).extend(digest(f"fi:{cut}|{sex}|{b}") for b in births)
        if n >= 3 or i == 0:
            # Masking the given name of a two-character name would leave the surname alone.
            star = _masked(syl, i, "*")
            low.extend(digest(f"fm:{star}|{sex}|{b}") for b in births)
    return review, low


Rule = Literal["id", "name_sex_birth", "pinyin_birth", "near", "low"]
Kind = Literal["duplicate", "suspected", "low"]


def match_kind(rule: Rule, own_id_hash: str, other_id_hash: str) -> Kind | None:
    """The tier of a match on `rule` between two records, or None when another rule
    reports it (the same ID number matched by a name key). The one decision of 查重: at
    entry, inside an import file, against the index and in the nightly grouping.

    - the same ID number: 重复 (duplicate), blocks.
    - two different ID numbers (both validated): the twin guard. The check character
      refuses every one-digit typo and swap of neighbours (GB 11643, ISO 7064 MOD 11-2),
      and the message no longer prints the expected character, so two valid numbers are
      two documents: twins, or namesakes. Alike by a review key they go to the low-priority
      list; alike only by a low key, nothing is left to suspect and they are not listed.
    - otherwise a name key: 疑似 (review), or low priority for the low family.
    """
    if rule == "id":
        return "duplicate"
    if own_id_hash and other_id_hash:
        return None if own_id_hash == other_id_hash or rule == "low" else "low"
    return "low" if rule == "low" else "suspected"
