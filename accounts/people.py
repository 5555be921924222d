"""People as people read them: "school · name（staff number）".

Who did something is stored in several shapes, each right for its purpose: business cases,
backups and applications keep "username@schema" (a key that compares exactly across
schools: maker ≠ checker), school services keep common.actor.Actor.label
"name（username）", history copied by a transfer appends "（sending school）", and a few
records keep a bare username. None of those may reach a person: a schema name is an
internal identifier and a bare staff number names nobody. Every page that shows an actor
passes the stored text through `people_labels` (lists, one query per schema involved) or
the `{% person %}` template tag (`{% load people %}`; remembered per rendering).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext as _

PUBLIC = "public"
SYSTEM = "system"  # the account name automatic case steps record
# "name（username）" optionally followed by "（school name）" (history copied by a transfer).
_LABELLED = re.compile(r"^(?P<name>[^（）@]*)（(?P<user>[^（）]+)）(?:（(?P<school>[^（）]+)）)?$")
_KEYED = re.compile(r"^(?P<user>[^@\s（）]+)@(?P<schema>[a-z0-9_]+)$")


@dataclass(frozen=True)
class _Parsed:
    username: str
    name: str  # empty: look it up
    schema: str  # empty when `school` names the place
    school: str = ""


def _parse(raw: str, here: str) -> _Parsed | None:
    if " · " in raw:
        return None  # already "school · name（staff number）"
    keyed = _KEYED.match(raw)
    if keyed:
        return _Parsed(keyed["user"], "", keyed["schema"])
    labelled = _LABELLED.match(raw)
    if labelled:
        school = labelled["school"] or ""
        name = labelled["name"].strip()
        name = "" if name == labelled["user"] else name  # "lyjy01（lyjy01）": look it up
        return _Parsed(labelled["user"], name, "" if school else here, school)
    if " " not in raw and "·" not in raw and re.fullmatch(r"[A-Za-z0-9_.\-]+", raw):
        return _Parsed(raw, "", here)
    return None  # already readable ("古港镇完全小学 · 李建国（A002）", 系统, a note)


def _names(schema: str, usernames: set[str]) -> dict[str, tuple[str, str]]:
    """{username: (full name, where)} for the accounts of one schema; for bureau and
    platform staff `where` is their bureau's name (or 平台)."""
    from accounts.models import User
    from tenants.context import school_context

    if not usernames:
        return {}
    # Reading account names of the schema the label points at (a case's other party,
    # a history copied from the sending school); only names and regions come back.
    with school_context(schema):
        if schema == PUBLIC:
            from shared_apps.regions.models import Bureau

            rows = list(
                User.objects.filter(username__in=usernames).values_list(
                    "username", "full_name", "region_id"
                )
            )
            bureaus = dict(
                Bureau.objects.filter(region_id__in={r for _u, _n, r in rows if r}).values_list(
                    "region_id", "name"
                )
            )
            return {u: (n, bureaus.get(r, _("教育局")) if r else _("平台")) for u, n, r in rows}
        return {
            u: (n, "")
            for u, n in User.objects.filter(username__in=usernames).values_list(
                "username", "full_name"
            )
        }


def people_labels(raws: Iterable[str | None], *, here: str | None = None) -> dict[str, str]:
    """Each stored actor text → "school · name（staff number）" ("—" for nothing).

    `here` is the schema of records that do not name one ("name（username）", bare
    usernames); by default the current one. One query for the schools, one per schema
    whose accounts are named, one in public for names this school does not know."""
    from tenants.models import School

    here = here or str(connection.schema_name)
    parsed = {raw: _parse(raw, here) for raw in {r or "" for r in raws} if raw}
    schemas = {p.schema for p in parsed.values() if p is not None and p.schema}
    school_names = dict(
        School.objects.filter(schema_name__in=schemas - {PUBLIC}).values_list("schema_name", "name")
    )
    wanted: dict[str, set[str]] = {}
    for p in parsed.values():
        if p is not None and p.schema:
            wanted.setdefault(p.schema, set()).add(p.username)
    looked_up = {schema: _names(schema, users) for schema, users in wanted.items()}
    # A record of this school that names no schema may still be a bureau officer's act
    # (a county decision written into the school's history): an account unknown here
    # but known in public is the bureau's.
    if here != PUBLIC:
        strangers = wanted.get(here, set()) - set(looked_up.get(here, {}))
        officers = _names(PUBLIC, strangers)
        for raw, p in list(parsed.items()):
            if p is not None and p.schema == here and p.username in officers:
                parsed[raw] = _Parsed(p.username, p.name, PUBLIC)
        looked_up[PUBLIC] = looked_up.get(PUBLIC, {}) | officers
    shown: dict[str, str] = {"": "—"}
    for raw, p in parsed.items():
        if p is None:
            shown[raw] = raw
            continue
        found_name, found_where = looked_up.get(p.schema, {}).get(p.username, ("", ""))
        if p.username == SYSTEM and not found_name:
            shown[raw] = _("系统")  # escalations and other automatic steps
            continue
        name = p.name or found_name or p.username
        where = p.school or (
            (found_where or _("教育局")) if p.schema == PUBLIC else school_names.get(p.schema, "")
        )
        who = name if name == p.username else f"{name}（{p.username}）"
        shown[raw] = f"{where} · {who}" if where else who
    return shown


def person_label(raw: str | None, *, here: str | None = None) -> str:
    """`people_labels` for one value."""
    return people_labels([raw], here=here)[raw or ""]
