"""The receiving path does the least a durable answer needs: the partner remembered for a few
seconds, one INSERT that commits itself, duplicates answered by that same statement."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection
from django.test import Client as HttpClient

from conftest import _test_database_url, wait_for
from portal.models import Partner
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory, webhook_token_of
from webhooks.models import WebhookEvent
from webhooks.tests.helpers import SECRET, body_of, channel_event, signed

pytestmark = pytest.mark.django_db


def post(token: str, payload: dict[str, object]):
    body = body_of(payload)
    return HttpClient().post(
        f"/webhooks/360dialog/{token}/",
        body,
        content_type="application/json",
        headers={"x-360dialog-signature": signed(body)["HTTP_X_360DIALOG_SIGNATURE"]},
    )


def test_a_remembered_partner_costs_one_statement_per_delivery(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    partner = PartnerFactory.create(platform_secret=SECRET)
    token = webhook_token_of(partner)
    post(token, channel_event("channel_created", channel_id="first"))  # the partner is read

    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(1):
        stored = post(token, channel_event("channel_ready", channel_id="second"))
    with django_assert_num_queries(1):
        duplicate = post(token, channel_event("channel_ready", channel_id="second"))

    assert stored.json() == {"status": "received", "duplicate": False}
    assert duplicate.json() == {"status": "duplicate", "duplicate": True}
    assert callbacks == []  # no broker round trip: the relay publishes committed rows
    with partner_scope(partner):
        rows = list(WebhookEvent.objects.order_by("pk").values_list("event_type", "status"))
    assert rows == [("channel_created", "received"), ("channel_ready", "received")]


def test_a_deactivated_partner_is_refused_once_its_memory_expires(settings):
    settings.WEBHOOK_PARTNER_CACHE_SECONDS = 0.2
    partner = PartnerFactory.create(platform_secret=SECRET)
    token = webhook_token_of(partner)
    assert post(token, channel_event("channel_created")).status_code == 200

    Partner.objects.filter(pk=partner.pk).update(is_active=False)

    wait_for(
        lambda: post(token, channel_event("channel_ready")).status_code == 404,
        timeout=10,
        what="the deactivated partner's webhooks to be refused",
    )


def test_without_memory_a_deactivated_partner_is_refused_at_once(settings):
    settings.WEBHOOK_PARTNER_CACHE_SECONDS = 0
    partner = PartnerFactory.create(platform_secret=SECRET)
    token = webhook_token_of(partner)
    assert post(token, channel_event("channel_created")).status_code == 200

    Partner.objects.filter(pk=partner.pk).update(is_active=False)

    assert post(token, channel_event("channel_ready")).status_code == 404


# Committed rows: the session's relay, if one runs, must not hand them to its worker.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("session_relay_paused")
def test_a_kept_connection_is_not_checked_with_a_query_of_its_own(monkeypatch):
    partner = PartnerFactory.create(platform_secret=SECRET)
    token = webhook_token_of(partner)
    post(token, channel_event("channel_created", channel_id="first"))  # the partner is read
    checks: list[bool] = []

    def is_usable() -> bool:
        checks.append(True)
        return True

    monkeypatch.setattr(connection, "is_usable", is_usable)
    # What the start of each request does (Django's test client leaves it out).
    connection.close_if_unusable_or_obsolete()
    assert connection.connection is not None  # kept, to be checked before its next use

    stored = post(token, channel_event("channel_ready", channel_id="second"))

    assert stored.json() == {"status": "received", "duplicate": False}
    assert checks == []  # CONN_HEALTH_CHECKS would have asked first: a round trip


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("session_relay_paused")
def test_a_delivery_is_stored_when_postgresql_dropped_the_kept_connection():
    partner = PartnerFactory.create(platform_secret=SECRET)
    token = webhook_token_of(partner)
    post(token, channel_event("channel_created", channel_id="first"))
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    with psycopg.connect(_test_database_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])

    stored = post(token, channel_event("channel_ready", channel_id="second"))

    assert stored.status_code == 200
    assert stored.json() == {"status": "received", "duplicate": False}
    assert connection.connection.info.backend_pid != backend
    with partner_scope(partner):
        assert WebhookEvent.objects.count() == 2


def test_the_insert_is_prepared_once_and_reused():
    partner = PartnerFactory.create(platform_secret=SECRET)
    token = webhook_token_of(partner)
    for n in range(3):
        post(token, channel_event("channel_ready", channel_id=f"ch{n}"))
    post(token, channel_event("channel_ready", channel_id="ch0"))  # a duplicate

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]

    assert len(prepared) == 1
    assert prepared[0].split()[:5] == ["WITH", "stored", "AS", "(", "INSERT"]
    assert prepared[0].split()[5:7] == ["INTO", "webhooks_webhookevent"]
    with partner_scope(partner):
        assert WebhookEvent.objects.count() == 3


def test_a_delivery_leaves_the_middleware_stack_after_the_security_headers(settings):
    partner = PartnerFactory.create(platform_secret=SECRET)
    token = webhook_token_of(partner)

    answer = post(token, channel_event("channel_ready"))

    assert answer.status_code == 200
    assert answer["Content-Length"] == str(len(answer.content))
    assert answer["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware ran
    # The browser's middleware did not: no policy, no cookie, no varying by language.
    assert "Content-Security-Policy" not in answer
    assert "Vary" not in answer
    assert answer.cookies == {}


def test_a_delivery_for_a_host_not_allowed_is_400_and_stores_nothing(settings):
    settings.ALLOWED_HOSTS = ["portal.example"]
    partner = PartnerFactory.create(platform_secret=SECRET)
    body = body_of(channel_event("channel_ready"))

    answer = HttpClient().post(
        f"/webhooks/360dialog/{webhook_token_of(partner)}/",
        body,
        content_type="application/json",
        headers={
            "host": "evil.example",
            **{"x-360dialog-signature": signed(body)["HTTP_X_360DIALOG_SIGNATURE"]},
        },
    )

    assert answer.status_code == 400
    with partner_scope(partner):
        assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize("suffix", ["", "/extra/", "/extra"])
def test_a_webhook_url_with_more_or_less_path_is_404(suffix):
    partner = PartnerFactory.create(platform_secret=SECRET)
    path = f"/webhooks/360dialog/{webhook_token_of(partner)}" + suffix

    answer = HttpClient().post(path, b"{}", content_type="application/json")

    assert answer.status_code in (301, 404)  # CommonMiddleware adds a missing slash
    with partner_scope(partner):
        assert WebhookEvent.objects.count() == 0


# A connection of its own (prepared statements outlive a test's rollback); committed rows.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("session_relay_paused")
def test_without_prepared_statements_the_insert_is_not_prepared():
    """DATABASE_PREPARED_STATEMENTS=false leaves psycopg without a threshold (behind PgBouncer
    in transaction mode): the INSERT then runs unprepared."""
    partner = PartnerFactory.create(platform_secret=SECRET)
    token = webhook_token_of(partner)
    connection.close()
    connection.ensure_connection()
    threshold = connection.connection.prepare_threshold
    connection.connection.prepare_threshold = None
    try:
        stored = post(token, channel_event("channel_ready", channel_id="ch1"))
    finally:
        connection.connection.prepare_threshold = threshold

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (0,)
    assert stored.json() == {"status": "received", "duplicate": False}
