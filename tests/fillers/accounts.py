"""URL parameters of accounts' routes: a bureau account (public schema) for 账号管理,
disabled and never signed in by a test, so that unlocking or enabling it as the
platform operator changes nothing the other checks depend on; and an API token of
school A's "staff" (我的登录), which only its owner may revoke."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"public_user_id": "int", "token_id": "int"}


def values(world: Any) -> dict[str, str]:
    from django.db import connection

    from accounts.models import User

    connection.set_schema_to_public()
    user, _ = User.objects.get_or_create(
        username="p_target",
        defaults={"full_name": "目标账号", "is_active": False, "region_id": "430181000000"},
    )
    from accounts.sessions import api_token_issue
    from tenants.context import school_context

    with school_context(world.a.schema):
        token = api_token_issue(user=User.objects.get(username="staff"), client="isolation-a")
    connection.set_schema_to_public()
    return {"public_user_id": str(user.pk), "token_id": str(token.id)}
