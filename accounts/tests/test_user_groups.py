"""User groups (用户组管理, issue 13 item 5): members inherit the group's shared rights,
only school rights can be shared, 全体教师 stays the system's, deny by default for
everyone else; the pages for the administrator. Every route for a member holding nothing
but a group: tests/test_access_matrix.py."""

from __future__ import annotations

import pytest
from django.db import connection

from conftest import PASSWORD, World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db


def _actor():  # type: ignore[no-untyped-def]
    from common.actor import Actor

    return Actor("admin", "管理员", connection.schema_name)


def _member(username: str) -> int:
    from accounts.models import User
    from accounts.services import user_create

    user_create(username=username, full_name=f"组员{username}", roles=[])
    user = User.objects.get(username=username)
    user.set_password(PASSWORD)
    user.must_change_password = False
    user.save()
    return user.pk


def test_members_inherit_the_groups_rights_and_lose_them_with_it(world: World) -> None:
    from accounts.groups import group_create, group_delete, group_update
    from accounts.models import User

    with school_context(world.a.schema):
        pk = _member("g1")
        assert User.objects.get(pk=pk).rights == frozenset()
        group = group_create(
            name="教务处", rights=["grades.manage", "stats.view"], member_ids=[pk], actor=_actor()
        )
        assert User.objects.get(pk=pk).rights == {"grades.manage", "stats.view"}
        group_update(
            group_id=group.pk, name="教务处", rights=["stats.view"], member_ids=[pk], actor=_actor()
        )
        assert User.objects.get(pk=pk).rights == {"stats.view"}
        User.objects.filter(pk=pk).update(is_active=False)
        assert User.objects.get(pk=pk).rights == frozenset()  # disabled: nothing at all
        group_delete(group_id=group.pk, actor=_actor())
        User.objects.filter(pk=pk).update(is_active=True)
        assert User.objects.get(pk=pk).rights == frozenset()


@pytest.mark.parametrize(
    ("name", "rights", "field", "needle"),
    [
        ("", [], "name", "请填写"),
        ("全体教师", [], "name", "默认用户组"),
        ("越权组", ["bureau.audit"], "rights", "本校角色可拥有"),
        ("越权组", ["registrar"], "rights", "本校角色可拥有"),
    ],
    ids=["no_name", "default_name", "bureau_right", "registrar_is_no_right"],
)
def test_bad_groups_are_refused_naming_the_field(
    world: World, name: str, rights: list[str], field: str, needle: str
) -> None:
    from accounts.groups import group_create
    from accounts.models import UserGroup
    from common.exceptions import ApplicationError

    with school_context(world.a.schema):
        with pytest.raises(ApplicationError) as caught:
            group_create(name=name, rights=rights, actor=_actor())
        assert needle in caught.value.extra[field][0]
        assert not UserGroup.objects.exists()


def test_another_schools_user_cannot_be_a_member(world: World) -> None:
    from accounts.groups import group_create
    from common.exceptions import ApplicationError

    with school_context(world.b.schema):
        b_only = _member("b_grouped")
    with school_context(world.a.schema):
        from accounts.models import User

        assert not User.objects.filter(pk=b_only, username="b_grouped").exists()
        missing = (User.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 100
        with pytest.raises(ApplicationError, match="不在本校用户中"):
            group_create(name="甲组", rights=[], member_ids=[missing], actor=_actor())


def test_the_pages_create_a_group_and_set_its_members(world: World) -> None:
    from accounts.models import User, UserGroup

    with school_context(world.a.schema):
        pk = _member("g2")
    admin = login(world.a.host, "admin")
    page = admin.get("/school/groups/")
    connection.set_schema_to_public()
    assert "全体教师" in page.content.decode()
    assert "默认，只读" in page.content.decode()
    made = admin.post("/school/groups/new/", {"name": "德育处", "rights": ["stats.view"]})
    connection.set_schema_to_public()
    assert made.status_code == 302
    with school_context(world.a.schema):
        group = UserGroup.objects.get(name="德育处")
    saved = admin.post(
        f"/school/groups/{group.pk}/",
        {"name": "德育处", "rights": ["stats.view"], "members": [str(pk)]},
    )
    connection.set_schema_to_public()
    assert saved.status_code == 302
    with school_context(world.a.schema):
        assert User.objects.get(pk=pk).rights == {"stats.view"}
    member = login(world.a.host, "g2")
    assert member.get("/registry/stats/").status_code == 200
    assert member.get("/registry/students/").status_code == 403
    connection.set_schema_to_public()
    teacher = login(world.a.host, "teacher")
    assert teacher.get("/school/groups/").status_code == 403
    connection.set_schema_to_public()
