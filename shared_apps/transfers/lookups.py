"""The guard around every look-up across schools (转学查找, 初中新生查找, 名单接收).

A look-up tells the asker which school and class a child attends, so:

* the services (transfer.transfer_lookup, registry.lifecycle.intake.intake_lookup) refuse any
  number without the name, and look a number up only as what it is (an ID number
  through the index's hash of the ID, a national number as a national number);
* each user has a budget per window (settings.CROSS_SCHOOL_LOOKUP_RATE for single
  look-ups, page and API together; CROSS_SCHOOL_LOOKUP_LIST_RATE for uploaded lists),
  counted in the cache by django-ratelimit, keyed by school and account; past it the
  page shows, and the API answers 429 with, a Chinese message saying when to retry;
* every look-up that ran writes a ``read.lookup`` audit entry in the asking school:
  who, what was asked (masked) and how many records matched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django_ratelimit.core import get_usage
from rest_framework.exceptions import Throttled

from accounts.audit import READ_LOOKUP, audit_record
from common.exceptions import ApplicationError
from common.masking import mask_lookup_key, mask_name

T = TypeVar("T")

GROUP_SINGLE = "cross-school-lookup"
GROUP_LIST = "cross-school-lookup-list"
KIND_LABELS = {
    "transfer": "转学查找",
    "intake": "初中新生查找",
    "intake_list": "初中新生名单接收",
}
ASKED_LABELS = {
    "name": "姓名",
    "id_number": "身份证件号",
    "national_number": "全国学籍号",
    "aux_number": "学籍辅号",
    "rows": "名单行数",
}
MSG_THROTTLED = "跨校查找过于频繁：每位用户{period}内最多{what}{limit}次，请{wait}后再试。"
MSG_UNCOUNTED = "暂时无法跨校查找（查找次数无法记录），请稍后再试。"
THROTTLED_CODE = "throttled"


class LookupThrottled(ApplicationError):
    """The user's look-up budget is spent; `wait` seconds until the window ends."""

    def __init__(self, message: str, *, wait: int) -> None:
        super().__init__(message, code=THROTTLED_CODE)
        self.wait = wait


def _period_seconds(rate: str) -> int:
    """The window of a django-ratelimit rate ("60/h", "10/15m") in seconds."""
    per = rate.partition("/")[2].strip().lower()
    multiple, unit = per[:-1], per[-1:]
    return int(multiple or 1) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def _period_text(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400}天"
    if seconds % 3600 == 0:
        return "1小时" if seconds == 3600 else f"{seconds // 3600}小时"
    if seconds % 60 == 0:
        return f"{seconds // 60}分钟"
    return f"{seconds}秒"


def _wait_text(seconds: int) -> str:
    return f"{seconds}秒" if seconds < 60 else f"{(seconds + 59) // 60}分钟"


def _user_key(group: str, request: Any) -> str:
    # User ids repeat across schools (one schema each): the school is part of the key.
    return f"{connection.schema_name}:{request.user.pk}"


def lookup_throttle(request: Any, *, batch: bool = False) -> None:
    """Count one look-up (or one uploaded list) against the user's budget; raise
    LookupThrottled once it is spent. Refused look-ups count too: guessing without
    the name is exactly what the budget is for."""
    rate = settings.CROSS_SCHOOL_LOOKUP_LIST_RATE if batch else settings.CROSS_SCHOOL_LOOKUP_RATE
    group = GROUP_LIST if batch else GROUP_SINGLE
    usage = get_usage(request, group=group, key=_user_key, rate=rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return
    if int(usage["limit"]) == 0:  # the cache did not answer: refuse rather than uncounted
        raise LookupThrottled(MSG_UNCOUNTED, wait=60)
    limit, period = int(usage["limit"]), _period_seconds(rate)
    wait = max(int(usage["time_left"]), 1)
    message = MSG_THROTTLED.format(
        period=_period_text(period),
        what="上传名单" if batch else "查找",
        limit=limit,
        wait=_wait_text(wait),
    )
    raise LookupThrottled(message, wait=wait)


def _asked_masked(asked: Mapping[str, str]) -> dict[str, str]:
    return {
        key: (mask_name(value.strip()) if key == "name" else mask_lookup_key(value))
        for key, value in asked.items()
        if key in ASKED_LABELS and key != "rows" and value and value.strip()
    }


def lookup_record(
    request: Any, *, kind: str, asked: Mapping[str, str], matches: int, rows: int | None = None
) -> None:
    """The ``read.lookup`` entry: who (the request's user), what was asked (masked),
    how many records matched. It does not stand in for the request's own ``write``
    entry (an uploaded list opens cases), so the middleware still adds that one."""
    http = getattr(request, "_request", request)
    accounted = getattr(http, "_audit_recorded", False)
    masked = _asked_masked(asked)
    parts = [f"{ASKED_LABELS[k]} {v}" for k, v in masked.items()]
    if rows is not None:
        parts.append(f"{ASKED_LABELS['rows']} {rows}")
    after: dict[str, Any] = {"kind": kind, **masked, "matches": matches}
    if rows is not None:
        after["rows"] = rows
    audit_record(
        request=request,
        action=READ_LOOKUP,
        object_type="lookup",
        object_id=kind,
        object_repr=f"{KIND_LABELS.get(kind, kind)}：{'，'.join(parts)}；{matches}条结果",
        after=after,
    )
    http._audit_recorded = accounted


def lookup_guarded(
    request: Any, *, kind: str, asked: Mapping[str, str], run: Callable[[], Sequence[T]]
) -> Sequence[T]:
    """One single look-up through the guard: counted, run, audited with its matches.
    A look-up the service refuses (no name, bad number) raises before any school is
    read and is not audited; it still counted against the budget."""
    lookup_throttle(request)
    found = run()
    lookup_record(request, kind=kind, asked=asked, matches=len(found))
    return found


def api_throttled(exc: LookupThrottled) -> Throttled:
    """The API's 429: the same Chinese message, and Retry-After in seconds."""
    error = Throttled(detail=exc.message)
    error.wait = exc.wait  # type: ignore[attr-defined]  # set after init: DRF would append an English sentence
    return error


def api_lookup(
    request: Any, *, kind: str, asked: Mapping[str, str], run: Callable[[], Sequence[T]]
) -> Sequence[T]:
    """lookup_guarded for an APIView: a spent budget answers 429."""
    try:
        return lookup_guarded(request, kind=kind, asked=asked, run=run)
    except LookupThrottled as exc:
        raise api_throttled(exc) from exc


def list_guarded(request: Any, *, run: Callable[[], Sequence[T]]) -> Sequence[T]:
    """An uploaded list of look-ups (初中新生名单): counted once against the list budget,
    run, audited with its row count and the rows that found their student. The rows
    themselves need the name with a number like any look-up (registry.lifecycle.intake)."""
    lookup_throttle(request, batch=True)
    rows = run()
    matches = sum(1 for row in rows if getattr(row, "ok", False))
    lookup_record(request, kind="intake_list", asked={}, matches=matches, rows=len(rows))
    return rows
