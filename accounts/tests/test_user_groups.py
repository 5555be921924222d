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


def _actor():
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


def test_all_teachers_holds_every_active_teacher_and_nobody_keeps_its_list(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """全体教师 is computed: an account is a member while it is active and holds 班主任,
    任课教师 or 全体教师 (no class yet); office roles alone are not teachers. Members
    inherit the group's rights, and the page lists them without a way to change them."""
    from accounts.groups import default_group_members
    from accounts.models import User
    from accounts.rights import user_rights_set
    from accounts.roles import ROLE_RIGHTS, Role
    from accounts.services import user_create

    with school_context(world.a.schema):
        for username, roles in (
            ("dg_class", ["class_teacher"]),
            ("dg_subject", ["subject_teacher"]),
            ("dg_office", ["school_approver"]),
            ("dg_gone", ["class_teacher"]),
        ):
            user_create(username=username, full_name=f"默认组{username}", roles=roles)
        User.objects.filter(username="dg_gone").update(is_active=False)
        members = set(default_group_members().values_list("username", flat=True))
        assert {"dg_class", "dg_subject", "teacher", "subject", "staff"} <= members
        assert not members & {"dg_office", "dg_gone", "admin", "registrar", "approver"}

        # Taking the teaching role away takes the account out, at once.
        user_rights_set(
            user_id=User.objects.get(username="dg_class").pk,
            roles=[],
            extra_rights=[],
            actor=_actor(),
        )
        assert "dg_class" not in set(default_group_members().values_list("username", flat=True))

        # A member holds the group's rights even when its own role does not carry them.
        monkeypatch.setitem(
            ROLE_RIGHTS, Role.ALL_TEACHERS, frozenset({"school.view", "stats.view"})
        )
        assert User.objects.get(username="dg_subject").has_right("stats.view")
        assert not User.objects.get(username="dg_office").has_right("grades.enter")
    monkeypatch.undo()

    admin = login(world.a.host, "admin")
    page = admin.get("/school/groups/").content.decode()
    connection.set_schema_to_public()
    listed = page.split('id="default-group"', 1)[1].split("</details>", 1)[0]
    assert "默认组dg_subject（dg_subject）" in listed
    assert "测试甲小学teacher（teacher）" in listed
    assert "默认组dg_office" not in listed
    assert "默认组dg_gone" not in listed
    assert "默认组dg_class" not in listed
    count = page.split('id="default-members">', 1)[1].split("<", 1)[0]
    with school_context(world.a.schema):
        assert int(count) == default_group_members().count()
    connection.set_schema_to_public()
    # Nothing on the page edits 全体教师: its row has no link, no form names it.
    row = page.split("默认，只读", 1)[1].split("</tr>", 1)[0]
    assert "href" not in row
    assert "<form" not in listed


def test_users_listed_with_their_roles_carry_their_group_rights_without_more_queries(
    world: World, django_assert_num_queries
) -> None:
    """The class pages and the rights page check every account's rights: the list loads
    the groups' rights in one query for all, not one per user."""
    from accounts.groups import group_create
    from accounts.models import User
    from accounts.rights import users_with_roles

    with school_context(world.a.schema):
        members = list(User.objects.filter(username__in=["teacher", "subject"]))
        group_create(
            name="查询组", rights=["stats.view"], member_ids=[u.pk for u in members], actor=_actor()
        )
        users = users_with_roles()
        with django_assert_num_queries(0):
            rights = {u.username: u.rights for u in users}
            assert all("stats.view" in rights[u.username] for u in members)
    connection.set_schema_to_public()
