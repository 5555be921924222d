"""The pending rows a dry run leaves for the confirmation (registry.imports.pipeline): how
they are packed, signed and stored, and read back, including the formats of earlier
versions (a batch checked before an upgrade and confirmed after it)."""

from __future__ import annotations

import datetime as dt
import gzip
import hmac
import json
import pickle
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.crypto import salted_hmac

from common.exceptions import ApplicationError
from shared_apps.student_index.keys import IdentityKeys
from tenant_apps.registry.fields import COLUMNS
from tenant_apps.registry.imports.bulkwrite import Prepared, Preparer, prepare

DATE_KEYS = {c.key for c in COLUMNS if c.kind == "date8"}
DECIMAL_KEYS = {c.key for c in COLUMNS if c.kind == "decimal"}


def _decode(data: dict[str, Any]) -> dict[str, Any]:
    """Typed values of a pending row stored before PAYLOAD_VERSION 2 (a dict per row)."""
    for k in DATE_KEYS & data.keys():
        if data[k]:
            data[k] = dt.date.fromisoformat(data[k])
    for k in DECIMAL_KEYS & data.keys():
        if data[k] is not None:
            data[k] = Decimal(data[k])
    return data


PAYLOAD_VERSION = 4
# Version 4 holds the valid rows as Prepared (bulkwrite): COPY text made in the dry run,
# one list per attribute, pickled. Versions 1-3 held the validated values (3 a pickle of
# tuples, 1-2 gzip JSON); a batch checked before an upgrade and confirmed after it is
# still read, and its rows are prepared at confirmation instead.
# Unpickling runs code named by the data, so the bytes carry an HMAC under the SECRET_KEY
# and are refused unless it matches: whoever can write the storage bucket still cannot
# make the web process run anything.
PAYLOAD_MAGIC = b"XJPENDING4\n"
PAYLOAD_MAGIC_V3 = b"XJPENDING3\n"
# The salt keeps the module path the payload was first written from: a changed salt would
# refuse every batch checked before the change.
PAYLOAD_SALT = "registry.imports.pipeline.pending"
# zlib level 1: written once and read once; level 1 costs a fraction of a second for a
# 50,000-row file and keeps the stored object about a quarter of the raw pickle.
PAYLOAD_ZLIB_LEVEL = 1
MSG_PAYLOAD_BROKEN = "待导入的数据已损坏或被改动，请重新上传文件。"


@dataclass
class Pending:
    """What a dry run leaves for the confirmation."""

    rows: Prepared
    suspected: dict[int, list[dict[str, str]]]  # position in rows -> masked look-alikes
    classes: dict[str, int]  # the class map the rows were prepared with


def _payload_signature(body: bytes) -> bytes:
    return salted_hmac(PAYLOAD_SALT, body, algorithm="sha256").digest()


def signed(magic: bytes, payload: object, *, compress: bool = True) -> bytes:
    body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    if compress:
        body = zlib.compress(body, PAYLOAD_ZLIB_LEVEL)
    return magic + _payload_signature(body) + body


def _unsigned(raw: bytes, magic: bytes, *, compressed: bool = True) -> Any:
    start = len(magic)
    signature, body = raw[start : start + 32], raw[start + 32 :]
    if not hmac.compare_digest(signature, _payload_signature(body)):
        raise ApplicationError(MSG_PAYLOAD_BROKEN, code="state")
    if compressed:
        body = zlib.decompress(body)
    return pickle.loads(body)  # noqa: S301 - signed above


def rows_blob(rows: Prepared) -> bytes:
    """One process's valid rows, pickled and compressed where they were made (each of the
    dry run's processes packs its own share, side by side)."""
    return zlib.compress(
        pickle.dumps(rows.as_state(), protocol=pickle.HIGHEST_PROTOCOL), PAYLOAD_ZLIB_LEVEL
    )


def payload_pack(
    *,
    blobs: list[bytes],
    skip: Sequence[int],
    suspected: dict[int, list[dict[str, str]]],
    classes: dict[str, int],
) -> bytes:
    """The pending rows as the dry run leaves them: the processes' packed shares in row
    order, the positions (in that order) that must not be written (duplicates found
    after the rows were packed), and the look-alikes by position. Only the small outer
    part is pickled here; the shares are compressed already."""
    payload = {
        "version": PAYLOAD_VERSION,
        "blobs": blobs,
        "skip": list(skip),
        "suspected": suspected,
        "classes": classes,
    }
    return signed(PAYLOAD_MAGIC, payload, compress=False)


def payload_load(raw: bytes) -> Pending:
    if raw.startswith(PAYLOAD_MAGIC):
        payload = _unsigned(raw, PAYLOAD_MAGIC, compressed=False)
        rows = Prepared()
        for blob in payload["blobs"]:
            rows.extend(Prepared.from_state(pickle.loads(zlib.decompress(blob))))  # noqa: S301
        skip = set(payload["skip"])
        keep = [i for i in range(len(rows)) if i not in skip]
        suspected = payload["suspected"]
        return Pending(
            rows.take(keep),
            {n: suspected[i] for n, i in enumerate(keep) if i in suspected},
            payload["classes"],
        )
    if raw.startswith(PAYLOAD_MAGIC_V3):
        payload = _unsigned(raw, PAYLOAD_MAGIC_V3)
        columns = payload["columns"]
        rows_v3 = [(r[0], dict(zip(columns, r[1], strict=True)), r[2]) for r in payload["rows"]]
        keys: list[IdentityKeys] | None = _stored_keys([r[3] for r in payload["rows"]])
    else:
        rows_v3, keys = _payload_load_json(raw)
    preparer = Preparer()
    return Pending(
        prepare([(r, d) for r, d, _ in rows_v3], keys, preparer),
        {i: s for i, (_, _, s) in enumerate(rows_v3) if s},
        preparer.classes,
    )


def _payload_load_json(
    raw: bytes,
) -> tuple[list[tuple[int, dict[str, Any], list[dict[str, str]]]], list[IdentityKeys] | None]:
    """Pending rows stored as gzip JSON (PAYLOAD_VERSION 1 and 2), by a dry run made before
    the upgrade and confirmed after it."""
    payload = json.loads(gzip.decompress(raw))
    if isinstance(payload, list):  # written before PAYLOAD_VERSION 2: a list of dicts
        return [(p["row"], _decode(p["data"]), p["suspected"]) for p in payload], None
    columns: list[str] = payload["columns"]
    dates = [i for i, c in enumerate(columns) if c in DATE_KEYS]
    decimals = [i for i, c in enumerate(columns) if c in DECIMAL_KEYS]
    rows: list[tuple[int, dict[str, Any], list[dict[str, str]]]] = []
    stored: list[list[str]] = []
    for row_no, values, suspected, k in payload["rows"]:
        for i in dates:
            if values[i]:
                values[i] = dt.date.fromisoformat(values[i])
        for i in decimals:
            if values[i] is not None:
                values[i] = Decimal(values[i])
        rows.append((row_no, dict(zip(columns, values, strict=True)), suspected))
        stored.append(k)
    return rows, _stored_keys(stored)


def _stored_keys(stored: list[list[str]]) -> list[IdentityKeys] | None:
    """The keys a dry run stored, or None (computed again from the rows) when they are
    the three exact keys of before the near keys (issue 19 point 7): the same HMAC key
    gives the same three, and the near keys come with them."""
    if any(len(k) < 3 + 2 for k in stored):
        return None
    return [IdentityKeys(k[0], k[1], k[2], tuple(k[3]), tuple(k[4])) for k in stored]
