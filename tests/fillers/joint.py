"""URL parameters of 跨县联合认定 (bureau.joint_views): a case of school A's, still collecting,
so no decision the walk posts can apply anything. Its other side is school B, of A's own
county, so that the other county's officer, whom the isolation walk sends everywhere, is
no party to it: a real case between A and C shows each county the other's school, as the
joint decision needs (tests of bureau.joint)."""

from __future__ import annotations

import uuid
from typing import Any

PARAM_KINDS = {"joint_id": "int"}


def values(world: Any) -> dict[str, str]:
    from django.db import connection

    from shared_apps.bureau.joint_models import JointCase

    connection.set_schema_to_public()
    case = JointCase.objects.create(
        school_a_id=world.a.id,
        student_a=uuid.UUID(int=0x101A),
        county_a="430181000000",
        school_b_id=world.b.id,
        student_b=uuid.UUID(int=0x101C),
        county_b="430181000000",
    )
    return {"joint_id": str(case.pk)}
