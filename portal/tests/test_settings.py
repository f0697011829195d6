"""Production settings: refuse to start when incomplete, pass `check --deploy` when complete."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
# Settings come from the environment below only, not from a developer's own .env.
EMPTY_ENV_FILE = Path(tempfile.mkdtemp()) / "empty.env"
EMPTY_ENV_FILE.touch()

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "SECRET_KEY": "x7!kq2#production-grade-secret-key-with-enough-length-and-variety-91",
    "FIELD_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWZpZWxkLWtleS0wMDAwMDAwMDAwMDA=",
    "ALLOWED_HOSTS": "portal.example.com",
    "PUBLIC_BASE_URL": "https://portal.example.com",
    "DATABASE_URL": os.environ["DATABASE_URL"],
    "REDIS_URL": os.environ["REDIS_URL"],
    "DJANGO_ENV_FILE": str(EMPTY_ENV_FILE),
}


# Test-run conveniences (see pyproject.toml) that production does not have.
TEST_ONLY = {"SECURE_SSL_REDIRECT", "STATICFILES_MANIFEST", "LOG_FORMAT"}


def run(env: dict[str, str], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`python *args` in a fresh process whose settings come from `env` alone."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION_ENV and k not in TEST_ONLY and k not in env
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**base, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run(env, "manage.py", *args)


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage(PRODUCTION_ENV, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEYS",
        "ALLOWED_HOSTS",
        "PUBLIC_BASE_URL",
        "DATABASE_URL",
        "REDIS_URL",
    ],
)
def test_production_refuses_to_start_without_a_required_setting(missing):
    unset = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}

    for env in (unset, {**PRODUCTION_ENV, missing: ""}, {**PRODUCTION_ENV, missing: "  "}):
        result = run_manage(env, "check")

        assert result.returncode != 0
        assert "Refusing to start with DJANGO_DEBUG off: set " + missing in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FIELD_ENCRYPTION_KEYS", "not-a-key", "FIELD_ENCRYPTION_KEYS must hold Fernet keys"),
        ("PUBLIC_BASE_URL", "portal.example.com", "PUBLIC_BASE_URL must be an absolute URL"),
        ("WORKER_NICE", "20", "WORKER_NICE must be between 0 and 19"),
        ("WORKER_NICE", "-5", "WORKER_NICE must be between 0 and 19"),
    ],
)
def test_production_refuses_to_start_with_an_invalid_setting(name, value, message):
    result = run_manage({**PRODUCTION_ENV, name: value}, "check")

    assert result.returncode != 0
    assert message in result.stderr


def test_an_empty_optional_setting_means_its_default():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.TIME_ZONE, s.LOG_LEVEL, "
        "s.STATIC_ROOT == s.BASE_DIR / 'staticfiles', s.DATABASES['default']['CONN_MAX_AGE'])"
    )
    empty = {
        name: ""
        for name in (
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "TIME_ZONE",
            "LOG_LEVEL",
            "STATIC_ROOT",
            "DATABASE_CONN_MAX_AGE",
            "EMAIL_URL",
        )
    }
    # Run from elsewhere: relative paths must still start at the project folder.
    result = run({**PRODUCTION_ENV, **empty, "PYTHONPATH": str(ROOT)}, "-c", code, cwd=Path("/"))

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "31536000", "UTC", "INFO", "True", "60"]


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_a_named_env_file_that_does_not_exist_is_an_error():
    result = run_manage({**PRODUCTION_ENV, "DJANGO_ENV_FILE": "/nonexistent.env"}, "check")

    assert result.returncode != 0
    assert "DJANGO_ENV_FILE names /nonexistent.env, which is not a file." in result.stderr


def test_the_env_file_fills_what_the_environment_leaves_empty(tmp_path):
    env_file = tmp_path / "portal.env"
    env_file.write_text("TIME_ZONE=Europe/Berlin\nLOG_LEVEL=WARNING\n")
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.TIME_ZONE, s.LOG_LEVEL)"
    )

    result = run(
        {**PRODUCTION_ENV, "DJANGO_ENV_FILE": str(env_file), "TIME_ZONE": "", "LOG_LEVEL": "ERROR"},
        "-c",
        code,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Europe/Berlin", "ERROR"]


@pytest.mark.parametrize(("value", "expected"), [("", "True 5 False"), ("false", "None None True")])
def test_prepared_statements_bind_on_the_server_unless_turned_off(value, expected):
    code = (
        "import django, psycopg; django.setup(); from django.db import connection as c; "
        "c.ensure_connection(); o = c.settings_dict['OPTIONS']; "
        "print(o.get('server_side_binding'), c.connection.prepare_threshold, "
        "isinstance(c.cursor().cursor, psycopg.ClientCursor))"
    )
    # The server's own maintenance database: this process only connects.
    server = PRODUCTION_ENV["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    env = {**PRODUCTION_ENV, "DATABASE_URL": server, "DATABASE_PREPARED_STATEMENTS": value}
    result = run(env, "-c", code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected.split()


@pytest.mark.django_db
def test_a_statement_run_more_than_five_times_is_prepared_on_the_server():
    from django.db import connection

    from portal.models import Partner

    for _ in range(6):
        assert not Partner.objects.filter(slug="nobody-here").exists()

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = {row[0] for row in cursor.fetchall()}
    assert (
        'SELECT $1 AS "a" FROM "portal_partner" WHERE "portal_partner"."slug" = $2 LIMIT 1'
        in prepared
    )
