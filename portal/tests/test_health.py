from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from conftest import free_port
from scripts.check_services import unreachable_services

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_while_the_process_is_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_readyz_is_503_when_the_broker_is_unreachable(client):
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "broker": "unreachable"},
    }


def test_readyz_is_503_when_the_database_is_unreachable():
    # A separate process, so that this test's own database connection is left alone.
    code = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/readyz'); print(r.status_code, r.content.decode())"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/portal",
    }

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        '503 {"status": "unavailable", "checks": {"database": "unreachable", "broker": "ok"}}'
    )


def test_the_preflight_names_each_unreachable_service_and_how_to_start_it():
    closed = free_port()

    problems = unreachable_services(
        f"postgres://postgres@127.0.0.1:{closed}/portal", f"redis://127.0.0.1:{closed}/0"
    )

    assert len(problems) == 2
    assert problems[0].startswith(f"PostgreSQL is unreachable at 127.0.0.1:{closed}/portal")
    assert "pg_ctlcluster" in problems[0]
    assert problems[1].startswith(f"Redis is unreachable at redis://127.0.0.1:{closed}/0")
    assert "redis-server" in problems[1]
    assert unreachable_services(os.environ["DATABASE_URL"], os.environ["REDIS_URL"]) == []


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True, ALLOWED_HOSTS=["portal.example.com"])
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_over_plain_http_whatever_the_host_header(client, path):
    response = client.get(path, HTTP_HOST="10.0.0.7:8000")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@override_settings(SECURE_SSL_REDIRECT=True, ALLOWED_HOSTS=["portal.example.com"])
def test_other_pages_still_validate_the_host_and_redirect_to_https(client):
    assert client.get("/p/acme/", HTTP_HOST="evil.example").status_code == 400
    redirect = client.get("/p/acme/", HTTP_HOST="portal.example.com")
    assert redirect.status_code == 301
    assert redirect["Location"] == "https://portal.example.com/p/acme/"
