"""Settings for the student-registry platform.

Everything that differs between machines comes from environment variables (README lists
them all). Defaults suit `make run` on a developer machine; production sets every secret.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # repository root


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    return env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str) -> dict[str, object]:
    """Translate a postgresql:// URL (TCP or `?host=/socket/dir`) into Django's dict."""
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    host = query.get("host", [parsed.hostname or ""])[0]
    return {
        "ENGINE": "tenants.backend",
        "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or ""),
        # Short-lived connections: Celery workers and gunicorn both fork, and a school's
        # search_path must never survive on a pooled connection (django-tenants #1112).
        "CONN_MAX_AGE": int(env("DATABASE_CONN_MAX_AGE", "0")),
        "TEST": {"NAME": env("DATABASE_TEST_NAME") or None},
    }


DEBUG = env_bool("DJANGO_DEBUG", False)

# Keys. SECRET_KEY signs sessions, /files/ links and the import's pending rows;
# STUDENT_INDEX_HMAC_KEY keys the cross-school index's digests of ID numbers. Knowing
# either forges links or recomputes digests offline, so with DEBUG off the product does
# not start unless both are set, long, distinct and none of the known development values.
# With DEBUG on (`make run` generates real ones anyway) the fallbacks below remain, and
# they differ from each other: the index key never silently equals the signing key.
DEV_SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105 - DEBUG only, refused otherwise
DEV_STUDENT_INDEX_HMAC_KEY = "dev-only-insecure-index-key-change-me"
# Values published in this repository, now or before: the development fallbacks, the
# Dockerfile's former collectstatic placeholder and the Secret template's.
KNOWN_KEYS = frozenset(
    {DEV_SECRET_KEY, DEV_STUDENT_INDEX_HMAC_KEY, "collectstatic-only-not-a-secret", "REPLACE_ME"}
)
# Django's own bar for a secret key (django.core.checks.security.base).
KEY_MIN_LENGTH = 50
KEY_MIN_UNIQUE_CHARACTERS = 5


def keys_check(*, secret_key: str, index_key: str, debug: bool) -> None:
    """Raise ImproperlyConfigured (which stops manage.py, gunicorn and celery while they
    import the settings) when the keys are unfit for the mode."""
    if not debug:
        for name, value in (
            ("DJANGO_SECRET_KEY", secret_key),
            ("STUDENT_INDEX_HMAC_KEY", index_key),
        ):
            if not value:
                raise ImproperlyConfigured(
                    f"未设置 {name}：DJANGO_DEBUG 关闭时必须设置"
                    f"（至少 {KEY_MIN_LENGTH} 个字符的随机值）。"
                )
            if (
                value in KNOWN_KEYS
                or value.startswith("django-insecure")
                or len(value) < KEY_MIN_LENGTH
                or len(set(value)) < KEY_MIN_UNIQUE_CHARACTERS
            ):
                raise ImproperlyConfigured(
                    f"{name} 不安全：须为至少 {KEY_MIN_LENGTH} 个字符的随机值，"
                    "且不能是公开的示例或开发密钥。"
                )
    if secret_key == index_key:
        raise ImproperlyConfigured(
            "STUDENT_INDEX_HMAC_KEY 不能与 DJANGO_SECRET_KEY 相同，请分别生成两个随机密钥。"
        )


SECRET_KEY = env("DJANGO_SECRET_KEY") or (DEV_SECRET_KEY if DEBUG else "")
STUDENT_INDEX_HMAC_KEY = env("STUDENT_INDEX_HMAC_KEY") or (
    DEV_STUDENT_INDEX_HMAC_KEY if DEBUG else ""
)
keys_check(secret_key=SECRET_KEY, index_key=STUDENT_INDEX_HMAC_KEY, debug=DEBUG)

# Schools are served on <slug>.BASE_DOMAIN, bureaus and operators on BASE_DOMAIN itself.
BASE_DOMAIN = env("BASE_DOMAIN", "localhost")
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}", "127.0.0.1"] + [
    h for h in env("DJANGO_ALLOWED_HOSTS").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS").split(",") if o]
# An expired form gets the product's own page (Chinese, with a way back).
CSRF_FAILURE_VIEW = "common.views.csrf_failure"

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # API tokens (accounts.ApiToken, see KNOX_TOKEN_MODEL): in both schemas, so a
    # school's tokens live in its own schema and are unknown on every other host.
    "knox",
    "drf_spectacular",
    # Swagger UI's files as static files (SWAGGER_UI_DIST below): no CDN.
    "drf_spectacular_sidecar",
    "common",
    "shared_apps.regions",
    "shared_apps.student_index",
    "shared_apps.nutrition",
    "shared_apps.jobs",
    "shared_apps.bureau",
    "shared_apps.backups",
    "shared_apps.transfers",
]
TENANT_APPS = [
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "knox",
    "tenant_apps.registry",
    "tenant_apps.grades",
    "tenant_apps.school_admin",
    "tenant_apps.reports",
    "tenant_apps.rosters",
]
INSTALLED_APPS = SHARED_APPS + [a for a in TENANT_APPS if a not in SHARED_APPS]
# The demo data (load_demo) for `make run` and the tests, which deploy/local.py runs with
# DEMO_DATA=1; it has no tables, so it is in neither schema's list.
if env_bool("DEMO_DATA"):
    INSTALLED_APPS.append("demo")

TENANT_MODEL = "tenants.School"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New schools are cloned from this empty, never-routed schema. Measured here (bench/RESULTS.md)
# cloning costs about what migrating does today (0.4-0.6 s); it stays flat as the
# migration history grows, which migrating does not.
TENANT_BASE_SCHEMA = "school_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_MULTIPROCESSING_MAX_PROCESSES = int(env("TENANT_MIGRATION_PROCESSES", "2"))
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_school"

MIDDLEWARE = [
    # Health probes answer before any tenant lookup, for any Host header.
    "config.health.HealthCheckMiddleware",
    "tenants.middleware.SchoolRoutingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every page (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # A NUL byte in the path, query, form, cookies or headers is a 400 before any view.
    "common.middleware.NulByteRejectMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "common.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every write that reached a view goes to the audit log (after the response).
    "accounts.middleware.AuditMiddleware",
    "accounts.middleware.SessionSchemaBindingMiddleware",
    # File links made during the request name its host and account (tenants.storage).
    "accounts.middleware.DownloadIssuerMiddleware",
    # Idle timeout, absolute session cap and the "我的登录" last-seen time.
    "accounts.middleware.SessionActivityMiddleware",
    "tenants.middleware.SchoolStatusMiddleware",
    "accounts.middleware.ForcePasswordChangeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.menu.navigation",
            ],
        },
    }
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": database_from_url(env("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/xueji"))
}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.RoleAwareBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "accounts.passwords.MinimumLengthChineseValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # At least three of: upper case, lower case, digits, symbols.
    {"NAME": "accounts.passwords.CharacterClassesValidator", "OPTIONS": {"min_classes": 3}},
]
# Account security (accounts.login.login_attempt, accounts.middleware, accounts.reauth).
LOGIN_MAX_FAILURES = 5  # consecutive wrong passwords or codes before the account locks
LOGIN_LOCK_MINUTES = 30
SESSION_IDLE_MINUTES = 30  # signed out after this long without a request
# Throttles in front of the login page and the token API (accounts.throttle): failed
# attempts per client address (over every host) and per host, "count/period" as
# django-ratelimit reads it. Browsers known to the account (accounts.devices) pass.
LOGIN_THROTTLE_PER_ADDRESS = env("LOGIN_THROTTLE_PER_ADDRESS", "30/15m")
LOGIN_THROTTLE_PER_HOST = env("LOGIN_THROTTLE_PER_HOST", "300/15m")
# A browser that signed in to an account is known to it for this long (signed cookie).
KNOWN_DEVICE_DAYS = 90
REAUTH_MINUTES = 5  # sensitive actions need the password entered this recently
# Take the client address from X-Forwarded-For (last hop) only behind a trusted proxy.
USE_X_FORWARDED_FOR = env_bool("USE_X_FORWARDED_FOR", False)
# The absolute cap on a session since login (idle sessions end sooner, see above).
SESSION_COOKIE_AGE = int(env("SESSION_COOKIE_AGE", str(8 * 3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Host-only cookies: a school's session must never be sent to another school's host.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# static-vendor/ holds what `make` copies out of node_modules (package.json): ECharts'
# one minified file, served as /static/vendor/echarts.min.js, never from a CDN.
STATICFILES_DIRS = [BASE_DIR / "static", BASE_DIR / "static-vendor"]
WHITENOISE_USE_FINDERS = True
# Files browsers ask for at the site root on every host (/favicon.ico, the touch icon).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"

# The CJK font that PDFs embed (as a subset: reportlab keeps only the glyphs a document
# uses), Noto Sans SC from the npm package in package.json; the image copies the same
# files to /app/fonts. TrueType outlines, which reportlab can embed (OpenType/CFF it can't).
_FONT_DIR = BASE_DIR / "node_modules" / "@expo-google-fonts" / "noto-sans-sc"
PDF_FONT_REGULAR = env(
    "PDF_FONT_REGULAR", str(_FONT_DIR / "400Regular" / "NotoSansSC_400Regular.ttf")
)
PDF_FONT_BOLD = env("PDF_FONT_BOLD", str(_FONT_DIR / "700Bold" / "NotoSansSC_700Bold.ttf"))

# Storage: S3 when an endpoint or bucket is configured, else the local file system.
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL") or None
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", "xueji")
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", "us-east-1")
AWS_ACCESS_KEY_ID = env("AWS_ACCESS_KEY_ID") or None
AWS_SECRET_ACCESS_KEY = env("AWS_SECRET_ACCESS_KEY") or None
USE_S3 = bool(AWS_S3_ENDPOINT_URL or env("AWS_STORAGE_BUCKET_NAME"))
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / ".media")))
PRESIGNED_URL_SECONDS = int(env("PRESIGNED_URL_SECONDS", "300"))
if USE_S3:
    _default_storage = {
        "BACKEND": "tenants.storage.SchoolS3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": AWS_S3_ENDPOINT_URL,
            "region_name": AWS_S3_REGION_NAME,
            "access_key": AWS_ACCESS_KEY_ID,
            "secret_key": AWS_SECRET_ACCESS_KEY,
            "addressing_style": "path",
            "signature_version": "s3v4",
            "querystring_expire": PRESIGNED_URL_SECONDS,
            "file_overwrite": False,
            "default_acl": None,
        },
    }
else:
    _default_storage = {
        "BACKEND": "tenants.storage.SchoolFileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
STORAGES = {
    "default": _default_storage,
    # WhiteNoise serves static files in every mode; finders let `make run` and the tests
    # work without a collectstatic step, the image runs collectstatic at build time.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Upload limits: large workbooks arrive through the import jobs (issue 3); the cap
# keeps a single request from exhausting memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Keys carry the schema so that one school's cache entries never serve another.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
    # Login throttles count per client address over every host, so these keys carry no
    # schema; the per-host counts name the host's schema in the key itself.
    "throttle": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "throttle",
    },
}
RATELIMIT_USE_CACHE = "throttle"

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 660
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# A lost worker (issue 11, M6). Tasks that are safe to run again say so themselves
# (acks_late + retry_on_worker_lost, a bounded max_retries): a dead pool process sends
# them again at once, the last loss fails their job. A message taken by a worker that
# died as a whole goes back to the queue after the visibility timeout, which must exceed
# the longest task or a running task would be handed to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 300}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # late acks: a worker holds no queue of others' tasks
# An open job whose heartbeat (every tenth of this) is older than JOB_STALE_SECONDS, or a
# job still queued after JOB_QUEUED_SECONDS, is failed by jobs.sweep_stale.
JOB_STALE_SECONDS = int(env("JOB_STALE_SECONDS", "300"))
JOB_QUEUED_SECONDS = int(env("JOB_QUEUED_SECONDS", "3600"))
# All periodic work is declared here; per-school jobs fan out explicitly (see
# tenants.tasks.schools_fan_out) so the template schema is never touched.
CELERY_BEAT_SCHEDULE = {
    # Jobs whose worker died (no heartbeat for JOB_STALE_SECONDS) end failed.
    "jobs-sweep-stale": {"task": "jobs.sweep_stale", "schedule": 60},
    # The 升级与毕业 page's required-field cache made ahead (03:45), so no registrar
    # waits for the first view after a restart or a rule change.
    "rollover-page-warm": {
        "task": "tenants.tasks.schools_fan_out",
        "schedule": crontab(hour=3, minute=45),
        "args": ["registry.rollover_page_warm"],
    },
    # The bureau's live counts (student_index.SchoolCount, kept in each write's own
    # transaction) re-derived from every school's records at 03:15, after the backups;
    # a school whose counts drifted is re-indexed and the drift recorded (CountDrift).
    "live-counts-check": {
        "task": "backups.live_counts_nightly",
        "schedule": crontab(hour=3, minute=15),
    },
    # 查询统计's dated snapshot of every school (00:20 Beijing time, the day just begun):
    # history is read from these, never recomputed from today's rows.
    "reports-stats-snapshot": {
        "task": "tenants.tasks.schools_fan_out",
        "schedule": crontab(hour=0, minute=20),
        "args": ["reports.stats_snapshot_daily"],
    },
    # Index entries still without the near keys of 查重 (written before they existed, or
    # restored from an older dump) get them at 01:10, before the recheck matches on them.
    "student-index-rekey-stale": {
        "task": "backups.index_rekey_stale",
        "schedule": crontab(hour=1, minute=10),
    },
    # Nightly 查重 across every school (01:30 Beijing time): the index finds the groups,
    # each school flags its own records.
    "student-index-recheck": {
        "task": "student_index.recheck",
        "schedule": crontab(hour=1, minute=30),
    },
    # Audit-log retention: every school's entries (suspended ones too) and the public ones.
    "audit-purge": {
        "task": "accounts.tasks.audit_purge_fan_out",
        "schedule": crontab(hour=2, minute=30),
    },
    # Nightly backup of every serving school (02:30), one task per school; prunes old ones.
    "backups-nightly": {"task": "backups.nightly", "schedule": crontab(hour=2, minute=30)},
    # 数据质量 (bureau.quality): every five minutes the schools whose public traces moved
    # since their last refresh; nightly (00:40, the day turned) every school, for what
    # changes with the calendar alone (ages, deadlines passing).
    "bureau-quality-sweep": {"task": "bureau.quality_sweep", "schedule": 5 * 60},
    "bureau-quality-nightly": {
        "task": "bureau.quality_nightly",
        "schedule": crontab(hour=0, minute=40),
    },
    # Business cases whose current step is past its deadline escalate to the bureau (06:00).
    # The bureau dashboard's county rollup: its deltas folded in every minute; the whole
    # rollup re-derived from SchoolCount nightly (00:35), drift reported.
    "bureau-dashboard-rollup-fold": {"task": "bureau.dashboard_rollup_fold", "schedule": 60},
    "bureau-dashboard-rollup-rebuild": {
        "task": "bureau.dashboard_rollup_rebuild",
        "schedule": crontab(hour=0, minute=35),
    },
    # The bureau dashboard's monthly snapshot (00:40): the month's row is the latest day's.
    "bureau-dashboard-month-snapshot": {
        "task": "bureau.dashboard_month_snapshot",
        "schedule": crontab(hour=0, minute=40),
    },
    "cases-escalate-overdue": {
        "task": "transfers.escalate_overdue",
        "schedule": crontab(hour=6, minute=0),
    },
}
# Deadlines of business cases count working days (common/workdays.py): ISO dates,
# comma-separated, of public holidays and of weekend make-up working days (调休).
WORKDAY_HOLIDAYS = [d for d in env("WORKDAY_HOLIDAYS", "").split(",") if d.strip()]
WORKDAY_EXTRA = [d for d in env("WORKDAY_EXTRA", "").split(",") if d.strip()]
# The nutrition programme (shared_apps.nutrition.calendar): subsidy standards as
# "valid_from:yuan" pairs, comma-separated (each valid until the next one's date), and
# the vacations without school meals as "first:last" ISO date pairs.
NUTRITION_SUBSIDY_STANDARDS = [
    tuple(p.strip().split(":", 1))
    for p in env("NUTRITION_SUBSIDY_STANDARDS", "2011-11-01:3.00").split(",")
    if p.strip()
]
NUTRITION_VACATIONS = [
    tuple(p.strip().split(":", 1)) for p in env("NUTRITION_VACATIONS", "").split(",") if p.strip()
]
# Tests only: the name of a checkpoint inside the transfer move at which it raises
# (tenant_apps.registry.facade.move.checkpoint), to prove the move is all-or-nothing.
TRANSFERS_FAIL_AT = ""
# Backups (shared_apps.backups): nightly dumps older than this are pruned; PostgreSQL
# client tools come from PG_BIN_DIR when set, else the ones matching the server's version.
BACKUP_KEEP_DAYS = int(env("BACKUP_KEEP_DAYS", "30"))
PG_BIN_DIR = env("PG_BIN_DIR")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: DRF answers an anonymous call with the first class's challenge,
        # 401 and `WWW-Authenticate: Token`. Sessions and tokens are bound to the host's
        # schema, so a user of another school is anonymous here and gets the same 401.
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["common.permissions.DenyAll"],
    "DEFAULT_SCHEMA_CLASS": "common.schema.AutoSchema",
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    # JSON bodies must be one object (a list, string, number or null is a 400); forms and
    # multipart stay for uploads. None of them lets a NUL byte through.
    "DEFAULT_PARSER_CLASSES": [
        "common.parsers.ObjectJSONParser",
        "common.parsers.NulRefusingFormParser",
        "common.parsers.NulRefusingMultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
# API tokens (django-rest-knox): one per named client of a user, stored as a digest,
# expiring API_TOKEN_HOURS after issue (no sliding renewal), at most API_TOKENS_PER_USER
# clients per user. Password and two-factor changes, disabling the account and "sign
# out everywhere" revoke them (accounts.sessions.user_sessions_end).
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105 - a model name, not a secret
API_TOKEN_HOURS = int(env("API_TOKEN_HOURS", "8"))
API_TOKENS_PER_USER = 10
REST_KNOX = {
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": timedelta(hours=API_TOKEN_HOURS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "学籍管理平台 API",
    "DESCRIPTION": (
        "学校与教育局共用的学籍管理接口。学校接口在学校域名下，教育局与平台接口在主域名下。"
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Student photos are shown inline (<img>): their /files/ link redirects to a presigned
# URL of the storage, which CSP checks too, so the storage's origin may serve images
# (path-style addressing: the endpoint's origin, or the region's S3 host on AWS).
if USE_S3:
    from urllib.parse import urlsplit as _urlsplit

    _endpoint = _urlsplit(AWS_S3_ENDPOINT_URL or f"https://s3.{AWS_S3_REGION_NAME}.amazonaws.com")
    STORAGE_IMAGE_ORIGINS = [f"{_endpoint.scheme}://{_endpoint.netloc}"]
else:
    STORAGE_IMAGE_ORIGINS = []

# Content-Security-Policy (django-csp): pages run only the scripts in static/js and carry
# no inline script, handler attribute or style attribute (tests/test_csp_browser.py
# fails on any violation). Swagger UI at /api/docs/ alone allows its inline <style> block
# (common/api_docs.py); its files are static files of this host.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *STORAGE_IMAGE_ORIGINS],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
}

# The business freeze around graduation (domain.md §3.8), "MM-DD" of every year:
# graduating-grade students take no new business from the first date, nobody is
# transferred from the second, both until the third (inclusive). registry.changes.blockers.
BUSINESS_FREEZE_GRADUATING_FROM = env("BUSINESS_FREEZE_GRADUATING_FROM", "07-01")
BUSINESS_FREEZE_TRANSFERS_FROM = env("BUSINESS_FREEZE_TRANSFERS_FROM", "07-15")
BUSINESS_FREEZE_UNTIL = env("BUSINESS_FREEZE_UNTIL", "08-14")

# 关键数据变更 (domain §3.19): besides 姓名, 身份证件号, 性别 and 出生日期, the fields a province
# treats as key data, by the province's two-digit code, as national-template field keys
# (registry.fields). A registered record's key field changes only through an approved
# application (registry.keydata). Example: KEY_DATA_PROVINCE_FIELDS='{"43": ["ethnicity"]}'.
KEY_DATA_PROVINCE_FIELDS: dict[str, list[str]] = json.loads(
    env("KEY_DATA_PROVINCE_FIELDS", "{}") or "{}"
)

# Look-ups across schools (shared_apps.transfers.lookups), per user and window, in
# django-ratelimit's notation: single look-ups (transfer and intake, page and API
# together) and uploaded intake lists.
CROSS_SCHOOL_LOOKUP_RATE = env("CROSS_SCHOOL_LOOKUP_RATE", "60/h")
CROSS_SCHOOL_LOOKUP_LIST_RATE = env("CROSS_SCHOOL_LOOKUP_LIST_RATE", "10/h")

# Public certificate verification (/verify/<code>/, page and API together) per client
# address. A school's pupils share the school's NAT, so the limit is generous for people
# and small for a script walking codes (2^49 of them).
CERTIFICATE_VERIFY_RATE = env("CERTIFICATE_VERIFY_RATE", "30/m")

# Audit-log entries older than this are purged nightly (accounts.tasks.audit_purge_fan_out).
AUDIT_RETENTION_DAYS = int(env("AUDIT_RETENTION_DAYS", "1095"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tenant_context": {"()": "django_tenants.log.TenantContextFilter"}},
    "formatters": {
        "tenant": {"format": "%(asctime)s %(levelname)s [%(schema_name)s] %(name)s: %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["tenant_context"],
            "formatter": "tenant",
        }
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if not DEBUG and env_bool("DJANGO_SECURE_COOKIES", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Student photos (issue 17, domain §3.13): the national file's size and byte limit ("60K"
# is read as 60 × 1024, the doubt is noted in the domain reference), and the upload guards.
PHOTO_WIDTH = int(env("PHOTO_WIDTH", "358"))
PHOTO_HEIGHT = int(env("PHOTO_HEIGHT", "441"))
PHOTO_MAX_BYTES = int(env("PHOTO_MAX_BYTES", str(60 * 1024)))
PHOTO_MAX_UPLOAD_BYTES = int(env("PHOTO_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
PHOTO_MAX_PIXELS = int(env("PHOTO_MAX_PIXELS", "50000000"))
