"""Keyed hashes of a student's identity for the public index (architecture.md).

Only these digests cross into the public schema; the server-side key makes them
useless for guessing ID numbers from outside.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from pypinyin import lazy_pinyin

_DOTS = str.maketrans(dict.fromkeys("•・‧．.∙", "·"))


def normalize_name(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).translate(_DOTS)


@lru_cache(maxsize=65536)
def name_pinyin(name: str) -> str:
    """Toneless pinyin, so homophones (张三/章三) share a key."""
    return "".join(lazy_pinyin(name, errors="ignore")).lower()


@lru_cache(maxsize=1)
def _key() -> bytes:
    return str(settings.STUDENT_INDEX_HMAC_KEY).encode()


def digest(value: str) -> str:
    return hmac.new(_key(), value.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class IdentityKeys:
    id_hash: str  # "" when the student has no usable ID number
    name_hash: str
    pinyin_hash: str


def identity_keys(*, name: str, sex: str, birth_date: dt.date, id_number: str) -> IdentityKeys:
    clean = normalize_name(name)
    born = birth_date.strftime("%Y%m%d")
    return IdentityKeys(
        id_hash=digest("id:" + id_number.strip().upper()) if id_number else "",
        name_hash=digest(f"nsb:{clean}|{sex}|{born}"),
        pinyin_hash=digest(f"py:{name_pinyin(clean)}|{born}"),
    )
