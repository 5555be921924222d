"""The API's shared contract: one error format in Chinese, OpenAPI on both hosts,
health and readiness probes, and the job-status endpoint pages poll."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.test import Client

from conftest import World, login


def test_errors_share_one_format_in_chinese(world: World, db: None) -> None:
    anonymous = Client(HTTP_HOST=world.a.host).get("/api/v1/school/")
    # Not signed in is 401 with the challenge of the token scheme (RFC 9110 §11.6.1).
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"
    assert anonymous.json() == {"error": {"code": "not_authenticated", "message": "请先登录。"}}
    client = login(settings.BASE_DOMAIN, world.bureau_user)
    invalid = client.post("/api/v1/schools/", {"name": ""}, content_type="application/json")
    assert invalid.status_code == 400
    body = invalid.json()["error"]
    assert body["code"] == "invalid"
    assert body["message"] == "提交的数据有误，请按提示修改。"
    assert "code" in body["fields"]
    assert "admin_username" in body["fields"]
    missing = client.get("/api/v1/schools/999999/")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "未找到该记录。"
    business = client.post(
        "/api/v1/schools/",
        {
            "name": "重码小学",
            "code": world.a.code,
            "slug": "dupe",
            "county_code": "430181",
            "stages": ["primary"],
            "admin_username": "1",
            "admin_full_name": "甲",
        },
        content_type="application/json",
    )
    assert business.status_code == 400
    assert (
        business.json()["error"]["message"]
        == f"学校标识码“{world.a.code}”已被“{world.a.name}”使用。"
    )


def test_openapi_schema_and_docs_on_both_hosts(world: World, db: None) -> None:
    school = Client(HTTP_HOST=world.a.host).get("/api/schema/", {"format": "json"})
    public = Client(HTTP_HOST=settings.BASE_DOMAIN).get("/api/schema/", {"format": "json"})
    assert school.status_code == public.status_code == 200
    school_paths, public_paths = set(school.json()["paths"]), set(public.json()["paths"])
    assert "/api/v1/school/" in school_paths
    assert "/api/v1/school/" not in public_paths
    assert "/api/v1/schools/" in public_paths
    assert "/api/v1/schools/" not in school_paths
    assert {"/api/v1/me/", "/api/v1/jobs/{job_id}/"} <= school_paths & public_paths
    assert {
        "/api/v1/students/",
        "/api/v1/students/{student_id}/",
        "/api/v1/imports/",
        "/api/v1/imports/{batch_id}/confirm/",
        "/api/v1/problems/{problem_id}/evidence/",
        "/api/v1/students/school-decision/",
    } <= school_paths
    assert {
        "/api/v1/audit/students/",
        "/api/v1/audit/students/decision/",
        "/api/v1/audit/evidence/",
    } <= public_paths
    docs = Client(HTTP_HOST=world.a.host).get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_token_authentication_works_per_host(world: World, db: None) -> None:
    token = (
        Client(HTTP_HOST=world.a.host)
        .post(
            "/api/v1/auth/token/",
            {"username": "registrar", "password": "Test-Passw0rd-xyz"},
            content_type="application/json",
        )
        .json()["token"]
    )
    me = Client(HTTP_HOST=world.a.host, HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["schema"] == world.a.schema
    bad = Client(HTTP_HOST=world.a.host).post(
        "/api/v1/auth/token/",
        {"username": "registrar", "password": "nope"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "用户名或密码不正确。"


def test_health_and_readiness_answer_for_any_host(db: None) -> None:
    for host in ("127.0.0.1", "10.0.0.7", settings.BASE_DOMAIN):
        assert Client(HTTP_HOST=host).get("/healthz").content == b"ok"
    ready = Client(HTTP_HOST="127.0.0.1").get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "database": {"ok": True},
        "broker": {"ok": True},
        "storage": {"ok": True},
    }


def test_readiness_reports_a_dead_broker(db: None, settings) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    ready = Client(HTTP_HOST="127.0.0.1").get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["broker"]["ok"] is False


def test_job_status_is_visible_to_its_owner_only(world: World, db: None) -> None:
    from accounts.models import User
    from shared_apps.jobs.services import job_create, job_progress
    from tenants.context import school_context

    with school_context(world.a.schema):
        owner = User.objects.get(username="registrar")
        job = job_create(owner_id=owner.pk, kind="import", title="导入学生")
        job_progress(job_id=job.pk, percent=40, message="已校验 800 行")
    connection.set_schema_to_public()
    mine = login(world.a.host, "registrar").get(f"/api/v1/jobs/{job.pk}/")
    assert mine.status_code == 200
    assert {k: mine.json()[k] for k in ("state", "percent", "message")} == {
        "state": "running",
        "percent": 40,
        "message": "已校验 800 行",
    }
    assert login(world.a.host, "admin").get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert login(world.b.host, "registrar").get(f"/api/v1/jobs/{job.pk}/").status_code == 404
