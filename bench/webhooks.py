"""Webhook receiving latency, in-process through Django's full middleware stack, against real
PostgreSQL and Redis (python -m bench.webhooks [N]).

Measures POST /webhooks/360dialog/<token>/ (signature check, insert, enqueue after commit) and,
as the baseline in the same run, GET /healthz (the cheapest request the stack answers). Reports
median and p99 of each and the ratio of the medians. Uses the database `portal_bench` (created
and migrated if missing) and Redis database 15, which it empties afterwards.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("LOG_LEVEL", "ERROR")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1maWVsZC1rZXktMDAwMDAwMDAwMDA=")


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main(count: int) -> None:
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from dialog360.signatures import webhook_signature
    from portal.celery import app
    from portal.models import Partner
    from portal.services import partner_webhook_token_rotate

    call_command("migrate", verbosity=0)
    secret = uuid.uuid4().hex
    partner = Partner.objects.create(
        slug=f"bench-{uuid.uuid4().hex[:8]}",
        name="Bench",
        hub_partner_id=f"b{uuid.uuid4().hex[:8]}PA",
        platform_secret=secret,
    )
    http = Client()
    url = f"/webhooks/360dialog/{partner_webhook_token_rotate(partner=partner)}/"
    template = (
        '{"id": "evt_%s", "event": "channel_running", "data": {"id": "ch%05d", '
        '"client_id": "cl%05d", "status": "running", "setup_info": '
        '{"phone_number": "4915112345678", "phone_name": "Bench"}}}'
    )
    posts: list[float] = []
    health: list[float] = []
    for n in range(count):
        body = (template % (uuid.uuid4().hex, n, n)).encode()
        headers = {"x-360dialog-signature": webhook_signature(body, secret)}
        start = time.perf_counter()
        response = http.post(url, body, content_type="application/json", headers=headers)
        posts.append(time.perf_counter() - start)
        start = time.perf_counter()
        baseline = http.get("/healthz")
        health.append(time.perf_counter() - start)
        if (response.status_code, baseline.status_code) != (200, 200):
            raise SystemExit(f"unexpected answers {response.status_code} {baseline.status_code}")
    try:
        app.control.purge()  # nothing consumes Redis database 15
    except Exception:  # the broker is down: the run measured exactly that
        print("(the broker was unreachable: every webhook was stored for the sweep)")
    ms = 1000
    print(f"{count} webhooks, each against a GET /healthz in the same run")
    print(
        f"POST webhook: median {statistics.median(posts) * ms:.2f} ms, "
        f"p99 {percentile(posts, 0.99) * ms:.2f} ms"
    )
    print(
        f"GET /healthz: median {statistics.median(health) * ms:.2f} ms, "
        f"p99 {percentile(health, 0.99) * ms:.2f} ms"
    )
    print(f"ratio of medians: {statistics.median(posts) / statistics.median(health):.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
