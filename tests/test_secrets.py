"""The keys (issue 11, H1): with DEBUG off the product does not start without its two
keys, each long, random-looking, unpublished and different from the other; `make run`
keeps the keys it generated, `make test` draws fresh ones.

The settings are imported in a child process with the environment under test, as
manage.py, gunicorn and celery import them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
KEY_NAMES = ("DJANGO_SECRET_KEY", "STUDENT_INDEX_HMAC_KEY")
GOOD_A = "k3Y-a" * 12  # 60 characters, 5 distinct: Django's own bar
GOOD_B = "Zq9_x" * 12
OLD_DEV_KEY = "dev-only-insecure-key-change-me"  # main's fallback for both keys
PRINT_KEYS = (
    "import json; from config import settings as s; "
    "print(json.dumps([s.SECRET_KEY, s.STUDENT_INDEX_HMAC_KEY, s.DEBUG]))"
)


def _settings_load(debug: str, **keys: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in KEY_NAMES}
    env |= {"DJANGO_DEBUG": debug, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'platform'}"}
    env |= keys
    return subprocess.run(
        [sys.executable, "-c", PRINT_KEYS],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        ({}, "未设置 DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": GOOD_A}, "未设置 STUDENT_INDEX_HMAC_KEY"),
        ({"STUDENT_INDEX_HMAC_KEY": GOOD_B}, "未设置 DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": GOOD_A, "STUDENT_INDEX_HMAC_KEY": GOOD_A}, "不能与"),
        (
            {"DJANGO_SECRET_KEY": GOOD_A[:49], "STUDENT_INDEX_HMAC_KEY": GOOD_B},
            "DJANGO_SECRET_KEY 不安全",
        ),
        (
            {"DJANGO_SECRET_KEY": GOOD_A, "STUDENT_INDEX_HMAC_KEY": GOOD_B[:20]},
            "STUDENT_INDEX_HMAC_KEY 不安全",
        ),
        (
            {"DJANGO_SECRET_KEY": OLD_DEV_KEY, "STUDENT_INDEX_HMAC_KEY": GOOD_B},
            "DJANGO_SECRET_KEY 不安全",
        ),
        (
            {"DJANGO_SECRET_KEY": "django-insecure-" + GOOD_A, "STUDENT_INDEX_HMAC_KEY": GOOD_B},
            "DJANGO_SECRET_KEY 不安全",
        ),
        (
            {"DJANGO_SECRET_KEY": "ab" * 40, "STUDENT_INDEX_HMAC_KEY": GOOD_B},
            "DJANGO_SECRET_KEY 不安全",
        ),
        (
            {"DJANGO_SECRET_KEY": GOOD_A, "STUDENT_INDEX_HMAC_KEY": "REPLACE_ME"},
            "STUDENT_INDEX_HMAC_KEY 不安全",
        ),
    ],
    ids=[
        "none",
        "no-index-key",
        "no-secret-key",
        "equal",
        "short-secret",
        "short-index",
        "old-dev-key",
        "django-insecure",
        "few-characters",
        "secret-template-placeholder",
    ],
)
def test_settings_refuse_to_load_with_debug_off(keys: dict[str, str], named: str) -> None:
    loaded = _settings_load("0", **keys)
    assert loaded.returncode != 0
    assert "ImproperlyConfigured" in loaded.stderr
    assert named in loaded.stderr
    assert loaded.stdout == ""


def test_settings_load_with_two_good_keys_and_debug_off() -> None:
    loaded = _settings_load("0", DJANGO_SECRET_KEY=GOOD_A, STUDENT_INDEX_HMAC_KEY=GOOD_B)
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout) == [GOOD_A, GOOD_B, False]


def test_debug_fallbacks_never_make_the_index_key_the_secret_key() -> None:
    none = _settings_load("1")
    assert none.returncode == 0, none.stderr
    secret, index, debug = json.loads(none.stdout)
    assert debug is True
    assert secret
    assert index
    assert secret != index
    only_secret = _settings_load("1", DJANGO_SECRET_KEY=GOOD_A)
    assert only_secret.returncode == 0, only_secret.stderr
    assert json.loads(only_secret.stdout)[:2] == [GOOD_A, index]
    equal = _settings_load("1", DJANGO_SECRET_KEY=GOOD_A, STUDENT_INDEX_HMAC_KEY=GOOD_A)
    assert equal.returncode != 0
    assert "不能与" in equal.stderr


def test_manage_py_stops_without_keys() -> None:
    env = {k: v for k, v in os.environ.items() if k not in KEY_NAMES} | {"DJANGO_DEBUG": "0"}
    ran = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode != 0
    assert "未设置 DJANGO_SECRET_KEY" in ran.stderr


def test_this_test_run_has_its_own_keys() -> None:
    """`make test` (deploy/local.py test) provides a fresh pair: the suite runs with
    DEBUG off on keys nobody published."""
    assert settings.DEBUG is False
    assert settings.SECRET_KEY not in {OLD_DEV_KEY, ""}
    assert settings.STUDENT_INDEX_HMAC_KEY != settings.SECRET_KEY
    assert len(settings.SECRET_KEY) >= 50
    assert len(settings.STUDENT_INDEX_HMAC_KEY) >= 50


def test_make_run_keeps_the_keys_it_generated(tmp_path: Path) -> None:
    from deploy.local import keys_kept, keys_provide, keys_random

    path = tmp_path / ".run" / "secrets.env"
    first = keys_kept(path)
    assert set(first) == set(KEY_NAMES)
    assert first["DJANGO_SECRET_KEY"] != first["STUDENT_INDEX_HMAC_KEY"]
    assert all(len(value) >= 50 for value in first.values())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys_kept(path) == first, "the second run reuses them"
    # a file that lost one key gets only that one back
    path.write_text(f"DJANGO_SECRET_KEY={first['DJANGO_SECRET_KEY']}\n")
    path.chmod(0o644)
    mended = keys_kept(path)
    assert mended["DJANGO_SECRET_KEY"] == first["DJANGO_SECRET_KEY"]
    assert mended["STUDENT_INDEX_HMAC_KEY"] not in {"", first["STUDENT_INDEX_HMAC_KEY"]}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # fresh per test run; a key the operator set wins
    assert keys_random() != keys_random()
    env = {"DJANGO_SECRET_KEY": "set-by-the-operator"}
    keys_provide(env, first)
    assert env == {
        "DJANGO_SECRET_KEY": "set-by-the-operator",
        "STUDENT_INDEX_HMAC_KEY": first["STUDENT_INDEX_HMAC_KEY"],
    }
