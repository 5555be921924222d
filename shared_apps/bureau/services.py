from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.models import User
from accounts.roles import Role
from accounts.services import CreatedUser, user_create
from shared_apps.jobs.services import job_create
from shared_apps.regions.services import bureau_create
from tenants.services import AdminInput, RegisteredSchool, SchoolInput, school_register


@dataclass(frozen=True)
class CreatedBureau:
    bureau_id: int
    name: str
    officer: CreatedUser


@transaction.atomic(durable=True)
def bureau_open(
    *, region_code: str, name: str, officer_username: str, officer_name: str
) -> CreatedBureau:
    """Platform operator: a bureau on a region node plus its first officer, together."""
    bureau = bureau_create(region_code=region_code, name=name)
    officer = user_create(
        username=officer_username,
        full_name=officer_name,
        roles=[Role.BUREAU_REGISTRAR, Role.BUREAU_APPROVER],
        region_id=bureau.region_id,
    )
    return CreatedBureau(bureau_id=bureau.pk, name=bureau.name, officer=officer)


@dataclass(frozen=True)
class OpenedSchool:
    school: RegisteredSchool
    job_id: str


@transaction.atomic(durable=True)
def school_open(*, data: SchoolInput, admin: AdminInput | None, acting_user: User) -> OpenedSchool:
    """Bureau officer: register a school under the officer's region and provision it
    in the background; the job reports progress to the officer's page."""
    from tenants.tasks import school_provision as school_provision_task

    registered = school_register(data=data, scope=acting_user.region, admin=admin)
    job = job_create(
        owner_id=acting_user.pk, kind="school_provision", title=f"开通学校：{data.name}"
    )
    school_id, job_id = registered.school_id, str(job.pk)
    transaction.on_commit(lambda: school_provision_task.delay(school_id, job_id))
    return OpenedSchool(school=registered, job_id=job_id)
