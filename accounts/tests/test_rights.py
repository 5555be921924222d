"""Roles and least privilege (domain.md §1.2–1.3): one registrar per school and term,
function rights on top of roles, class rights and the cross-authorisation warning."""

from __future__ import annotations

import pytest
from django.db import connection

from conftest import PASSWORD, World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db

MSG_SECOND = (
    "本校已有学籍管理员（测试甲小学registrar（registrar）），请使用“任命学籍管理员”，原任期将结束。"
)


def _user(world: World, username: str, roles: list[str]) -> int:
    from accounts.models import User
    from accounts.services import user_create

    with school_context(world.a.schema):
        user_create(username=username, full_name=f"老师{username}", roles=roles)
        user = User.objects.get(username=username)
        user.set_password(PASSWORD)
        user.must_change_password = False
        user.save()
    connection.set_schema_to_public()
    return user.pk


def _pk(world: World, username: str) -> int:
    from accounts.models import User

    with school_context(world.a.schema):
        pk = User.objects.get(username=username).pk
    connection.set_schema_to_public()
    return pk


def _post(client, path: str, data: dict | None = None):
    response = client.post(path, data or {})
    connection.set_schema_to_public()
    return response


def test_appointing_a_registrar_ends_the_previous_term(world: World) -> None:
    from accounts.models import RegistrarTerm

    new_id = _user(world, "330010", ["all_teachers"])
    old = login(world.a.host, "registrar")
    assert old.get("/registry/students/new/").status_code == 200
    admin = login(world.a.host, "admin")
    response = admin.post(
        f"/api/v1/users/{new_id}/appoint-registrar/", content_type="application/json"
    )
    connection.set_schema_to_public()
    assert response.status_code == 200, response.content
    assert response.json()["username"] == "330010"
    # the old registrar loses the role at once, in the session already open
    assert old.get("/registry/students/new/").status_code == 403
    assert login(world.a.host, "330010").get("/registry/students/new/").status_code == 200
    with school_context(world.a.schema):
        terms = list(RegistrarTerm.objects.select_related("user").order_by("started_at", "pk"))
        assert [t.user.username for t in terms] == ["registrar", "330010"]
        assert terms[0].ended_at is not None
        assert terms[1].ended_at is None
        assert terms[1].appointed_by == "测试甲小学admin（admin）"
        assert terms[0].ended_at == terms[1].started_at
    connection.set_schema_to_public()
    # appointing the holder again changes nothing
    again = admin.post(
        f"/api/v1/users/{new_id}/appoint-registrar/", content_type="application/json"
    )
    connection.set_schema_to_public()
    assert again.status_code == 400
    assert login(world.a.host, "330010").get("/registry/students/new/").status_code == 200
    # only school administrators appoint
    refused = login(world.a.host, "principal").post(
        f"/api/v1/users/{_pk(world, 'registrar')}/appoint-registrar/"
    )
    connection.set_schema_to_public()
    assert refused.status_code == 403


def test_rights_page_shows_the_registrar_and_appoints_through_the_button(world: World) -> None:
    new_id = _user(world, "330012", ["class_teacher"])
    admin = login(world.a.host, "admin")
    page = admin.get("/accounts/rights/").content.decode()
    assert "现任：测试甲小学registrar（registrar），任期自" in page
    assert "任命为学籍管理员" in page
    response = _post(admin, "/accounts/rights/", {"action": "appoint", "user_id": new_id})
    assert response.status_code == 302
    page = admin.get(response["Location"]).content.decode()
    assert "已任命 老师330012（330012） 为学籍管理员" in page
    assert "现任：老师330012（330012），任期自" in page
    with school_context(world.a.schema):
        from accounts.models import User

        assert "registrar" not in User.objects.get(username="registrar").role_codes
    connection.set_schema_to_public()


def test_a_second_registrar_cannot_be_created_directly(world: World) -> None:
    from accounts.services import user_create
    from common.exceptions import ApplicationError

    with school_context(world.a.schema), pytest.raises(ApplicationError) as caught:
        user_create(username="330013", full_name="第二位", roles=["registrar"])
    connection.set_schema_to_public()
    assert caught.value.message == MSG_SECOND
    response = login(world.a.host, "admin").post(
        "/api/v1/users/",
        {"username": "330013", "full_name": "第二位", "roles": ["registrar"]},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert response.status_code == 400
    assert response.json()["error"]["message"] == MSG_SECOND
    with school_context(world.a.schema):
        from accounts.models import User

        assert not User.objects.filter(username="330013").exists()
    connection.set_schema_to_public()


def test_extra_function_right_grants_access(world: World) -> None:
    staff_id = _pk(world, "staff")
    staff = login(world.a.host, "staff")
    assert staff.get("/registry/students/").status_code == 403
    assert "学生名册" not in staff.get("/").content.decode()
    admin = login(world.a.host, "admin")
    response = _post(
        admin,
        "/accounts/rights/",
        {
            "action": "save",
            "user_id": staff_id,
            "roles": ["all_teachers"],
            "extra_rights": ["registry.view"],
        },
    )
    assert response.status_code == 302
    assert staff.get("/registry/students/").status_code == 200
    assert "学生名册" in staff.get("/").content.decode()
    with school_context(world.a.schema):
        from accounts.models import User

        user = User.objects.get(username="staff")
        assert user.extra_rights == ["registry.view"]
        assert user.rights == {"school.view", "registry.view"}
    connection.set_schema_to_public()
    # bureau rights cannot be granted in a school
    _post(
        admin,
        "/accounts/rights/",
        {
            "action": "save",
            "user_id": staff_id,
            "roles": ["all_teachers"],
            "extra_rights": ["bureau.audit"],
        },
    )
    with school_context(world.a.schema):
        assert User.objects.get(username="staff").extra_rights == ["registry.view"]
    connection.set_schema_to_public()


def test_rights_page_keeps_the_registrar_role_and_the_admins_own_role(world: World) -> None:
    from accounts.models import User

    admin = login(world.a.host, "admin")
    # unticking the registrar role does nothing (it is changed by appointment only)
    _post(
        admin,
        "/accounts/rights/",
        {"action": "save", "user_id": _pk(world, "registrar"), "roles": []},
    )
    # an administrator cannot drop his or her own administrator role
    response = _post(
        admin, "/accounts/rights/", {"action": "save", "user_id": _pk(world, "admin"), "roles": []}
    )
    assert "不能取消自己的学校系统管理员角色" in admin.get(response["Location"]).content.decode()
    # an empty post changes nothing either
    assert _post(admin, "/accounts/rights/").status_code == 302
    with school_context(world.a.schema):
        assert User.objects.get(username="registrar").role_codes == {"registrar"}
        assert User.objects.get(username="admin").role_codes == {"school_admin"}
    connection.set_schema_to_public()


def test_cross_authorisation_warning_when_two_teachers_can_write_a_class(world: World) -> None:
    from accounts.rights import cross_authorisations
    from tenant_apps.registry.models import SchoolClass

    with school_context(world.a.schema):
        klass = SchoolClass.objects.get(class_no="2024101")
        klass.teacher_username = "teacher"
        klass.save()
        assert cross_authorisations() == []
    connection.set_schema_to_public()
    other_id = _user(world, "330014", ["class_teacher"])
    admin = login(world.a.host, "admin")
    assert "交叉授权警告" not in admin.get("/accounts/rights/").content.decode()
    # read access for a second teacher is fine
    _post(
        admin,
        "/accounts/rights/",
        {
            "action": "save",
            "user_id": other_id,
            "roles": ["class_teacher"],
            f"class_{klass.pk}": "read",
        },
    )
    assert "交叉授权警告" not in admin.get("/accounts/rights/").content.decode()
    # write access makes two writers: warned on saving and on the page
    response = _post(
        admin,
        "/accounts/rights/",
        {
            "action": "save",
            "user_id": other_id,
            "roles": ["class_teacher"],
            f"class_{klass.pk}": "write",
        },
    )
    saved = admin.get(response["Location"]).content.decode()
    assert "交叉授权：小学2024级(01)班 有多位普通用户可修改" in saved
    page = admin.get("/accounts/rights/").content.decode()
    assert "交叉授权警告" in page
    assert "老师330014（330014）" in page
    assert "测试甲小学teacher（teacher）" in page
    with school_context(world.a.schema):
        found = cross_authorisations()
        assert [c.class_name for c in found] == ["小学2024级(01)班"]
        assert len(found[0].writers) == 2
        # the registrar writing every class is not an ordinary user: no warning for that
        from tenant_apps.registry.models import ClassRight

        ClassRight.objects.filter(user_username="330014").delete()
        ClassRight.objects.create(
            user_username="registrar", school_class_id=klass.pk, can_write=True
        )
        assert cross_authorisations() == []
    connection.set_schema_to_public()


def test_class_teacher_assignment_from_the_rights_page_scopes_the_list(world: World) -> None:
    from tenant_apps.registry.models import SchoolClass

    teacher_id = _pk(world, "teacher")
    teacher = login(world.a.host, "teacher")
    assert "哨兵甲乙" not in teacher.get("/registry/students/").content.decode()
    with school_context(world.a.schema):
        klass = SchoolClass.objects.get(class_no="2024101")
    connection.set_schema_to_public()
    _post(
        login(world.a.host, "admin"),
        "/accounts/rights/",
        {
            "action": "save",
            "user_id": teacher_id,
            "roles": ["class_teacher"],
            f"class_{klass.pk}": "teacher",
        },
    )
    with school_context(world.a.schema):
        klass.refresh_from_db()
        assert klass.teacher_username == "teacher"
        assert klass.legacy_teacher_name == ""  # picked from the user list, no free text
    connection.set_schema_to_public()
    assert "哨兵甲乙" in teacher.get("/registry/students/").content.decode()


def test_menu_offers_rights_and_settings_to_the_administrator_only(world: World) -> None:
    admin = login(world.a.host, "admin").get("/").content.decode()
    assert "权限设置" in admin
    assert "系统设置" in admin
    teacher = login(world.a.host, "teacher").get("/").content.decode()
    assert "本班学生" in teacher
    assert "权限设置" not in teacher
    assert "系统设置" not in teacher
    assert login(world.a.host, "registrar").get("/accounts/rights/").status_code == 403
