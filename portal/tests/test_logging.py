"""Every process logs JSON lines on stdout, and no token from a URL path reaches them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from conftest import free_port, wait_for
from portal.logging import redact
from portal.tests.test_settings import PRODUCTION_ENV, ROOT, run

TOKEN = "s3cretWebhookToken"


def test_logs_are_one_json_object_per_line_on_stdout():
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('portal.example').info('partner created', extra={'partner': 'acme'})"
    )
    result = run({**PRODUCTION_ENV, "LOG_FORMAT": "json"}, "-c", code)

    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["message"] == "partner created"
    assert record["level"] == "INFO"
    assert record["logger"] == "portal.example"
    assert record["partner"] == "acme"
    assert "time" in record


def test_tokens_in_request_paths_never_reach_the_logs():
    code = (
        "import django; django.setup(); from django.test import Client; "
        f"Client().get('/webhooks/360dialog/{TOKEN}/', HTTP_HOST='portal.example.com', "
        "secure=True)"
    )
    result = run({**PRODUCTION_ENV, "LOG_FORMAT": "json"}, "-c", code)

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    # A GET: refused before the view looks the token up (these processes have no database).
    assert [r["message"] for r in records] == [
        "Method Not Allowed (GET): /webhooks/360dialog/[redacted]/"
    ]
    assert records[0]["request"] == "GET /webhooks/360dialog/[redacted]/"
    assert TOKEN not in result.stdout + result.stderr


def test_gunicorn_logs_json_lines_with_tokens_redacted():
    port = free_port()
    env = {**PRODUCTION_ENV, "SECURE_SSL_REDIRECT": "false", "WEB_CONCURRENCY": "1"}
    base = {k: v for k, v in os.environ.items() if k not in env}
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**base, **env, "LOG_FORMAT": "json"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{url}/healthz"), timeout=60, what="gunicorn")
        webhook = httpx.get(
            f"{url}/webhooks/360dialog/{TOKEN}/", headers={"Host": "portal.example.com"}
        )
    finally:
        web.terminate()
        output, errors = web.communicate(timeout=30)

    assert webhook.status_code == 405
    records = [json.loads(line) for line in output.splitlines()]
    access = [r["message"] for r in records if r["logger"] == "gunicorn.access"]
    assert any('"GET /webhooks/360dialog/[redacted]/ HTTP/1.1" 405' in line for line in access)
    assert TOKEN not in output + errors


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '"GET /p/acme/?invite=inv-Tok_123 HTTP/1.1" 200',
            '"GET /p/acme/?invite=[redacted] HTTP/1.1" 200',
        ),
        (
            '"GET /p/acme/?lang=de&invite=inv-Tok_123&x=1 HTTP/1.1" 200 "-"',
            '"GET /p/acme/?lang=de&invite=[redacted]&x=1 HTTP/1.1" 200 "-"',
        ),
        (
            '"POST /p/acme/ HTTP/1.1" 302 "https://portal.example.com/p/acme/?invite=inv-Tok_123"',
            '"POST /p/acme/ HTTP/1.1" 302 "https://portal.example.com/p/acme/?invite=[redacted]"',
        ),
        ("/admin/login/?next=/p/acme/%3Finvite%3Dinv-Tok_123", None),
    ],
)
def test_invite_tokens_in_query_strings_are_redacted(line, expected):
    redacted = redact(line)

    assert "inv-Tok_123" not in redacted
    if expected is not None:
        assert redacted == expected


def test_gunicorn_redacts_invite_tokens_in_its_access_log():
    port = free_port()
    env = {**PRODUCTION_ENV, "SECURE_SSL_REDIRECT": "false", "WEB_CONCURRENCY": "1"}
    base = {k: v for k, v in os.environ.items() if k not in env}
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**base, **env, "LOG_FORMAT": "json"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{url}/healthz"), timeout=60, what="gunicorn")
        # /healthz answers before the database is needed; the access log line is the point.
        answer = httpx.get(f"{url}/healthz?invite={TOKEN}")
    finally:
        web.terminate()
        output, errors = web.communicate(timeout=30)

    assert answer.status_code == 200
    records = [json.loads(line) for line in output.splitlines()]
    access = [r["message"] for r in records if r["logger"] == "gunicorn.access"]
    assert any('"GET /healthz?invite=[redacted] HTTP/1.1" 200' in line for line in access)
    assert TOKEN not in output + errors
