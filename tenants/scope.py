"""Which schools a public-schema user governs, as the bureau app defines it.

The bureau owns that rule (shared_apps.bureau.selectors.access_schools: the user's region,
or every school for a platform operator); tenants and accounts sit below it and need the
answer (file downloads on the bureau host, the bureau's audit log), so the bureau fills
this hook in its AppConfig.ready(). Until it does, nobody governs any school: deny by
default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from tenants.models import School

SchoolScope = Callable[[Any], QuerySet[School]]

_SCOPE: list[SchoolScope] = []


def register_school_scope(scope: SchoolScope) -> None:
    """Set the rule giving the schools a user governs (one rule; a second call replaces it)."""
    _SCOPE[:] = [scope]


def schools_governed(*, user: Any) -> QuerySet[School]:
    """The schools `user` governs by the registered rule; none without one."""
    if not _SCOPE:
        return School.objects.none()
    return _SCOPE[0](user)
