"""`{% person stored_actor %}` (or `{% person stored_actor as who %}`): an actor as
"school · name（staff number）" (accounts.people), remembered for the rest of the
template's rendering, so a list of 100 rows by the same people asks the database once."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.people import person_label

register = template.Library()


@register.simple_tag(takes_context=True)
def person(context: Any, value: object) -> str:
    raw = str(value) if value not in (None, "") else ""
    known: dict[str, str] = context.render_context.setdefault("accounts.people", {})
    if raw not in known:
        known[raw] = person_label(raw)
    return known[raw]
