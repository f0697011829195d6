"""The relay (portal/relay.py): domain events wake it, it looks for stored deliveries, it
publishes them in batches, and a broker that cannot take them leaves them for the next pass."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from conftest import ROOT, _test_database_url, stop_process, wait_for
from events.models import DomainEvent
from events.services import domain_event_record
from outbound.models import Delivery
from outbound.services import domain_events_relay, endpoint_create
from portal.models import Partner
from portal.relay import relay_pass, relays
from portal.tenancy import all_partners_scope, partner_scope
from portal.tests.factories import PartnerFactory
from webhooks import relay as webhook_relay
from webhooks.models import UnpublishedEvent, WebhookEvent
from webhooks.relay import process_batches, webhook_events_relay
from webhooks.services import webhook_receive
from webhooks.tests.helpers import body_of, channel_event, fixture

Status = WebhookEvent.Status


def stored(partner: Partner) -> int:
    return stored_event(partner, "channel_created")


def stored_event(partner: Partner, name: str) -> int:
    event_pk = webhook_receive(partner=partner, body=body_of(fixture(name)), headers={}).event_pk
    assert event_pk is not None
    return event_pk


def listener() -> psycopg.Connection[Any]:
    conn = psycopg.connect(_test_database_url(), autocommit=True)
    conn.execute("LISTEN portal_relay")
    return conn


def heard(conn: psycopg.Connection[Any]) -> list[str]:
    return [notification.payload for notification in conn.notifies(timeout=0.5)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("session_relay_paused")
def test_committed_domain_events_wake_the_relay_and_webhook_deliveries_do_not():
    partner = PartnerFactory.create()
    with listener() as conn:
        # A notifying commit holds a database-wide lock until its WAL is flushed: deliveries,
        # stored at the webhook rate, send none (the relay finds them at its next look).
        for body in (body_of(fixture("channel_created")), b"not json"):
            webhook_receive(partner=partner, body=body, headers={})
        assert heard(conn) == []

        with partner_scope(partner), pytest.raises(RuntimeError), transaction.atomic():
            domain_event_record(partner=partner, type="onboarding.started", data={})
            raise RuntimeError("rolls back")
        assert heard(conn) == []

        # Three rows in one transaction: one notification.
        with partner_scope(partner), transaction.atomic():
            for _ in range(3):
                domain_event_record(partner=partner, type="onboarding.started", data={})
        assert heard(conn) == ["events_domainevent"]


def test_batches_keep_each_partner_apart_and_a_channel_s_events_in_lifecycle_order(settings):
    settings.RELAY_TASK_EVENTS = 3
    rows = [
        # (id, partner, event type, subject)
        (1, 7, "channel_live", "ch-a"),
        (2, 8, "channel_created", "ch-x"),
        (3, 7, "channel_created", "ch-b"),
        (4, 7, "channel_permission_granted", "ch-a"),
        (5, 7, "channel_created", "ch-a"),
        (6, 7, "channel_running", "ch-a"),
        (7, 8, "client_created", "cl-1"),
    ]
    assert list(process_batches(rows)) == [
        (7, [5, 6, 1]),  # ch-a: created, running, live...
        (7, [4, 3]),  # ...then its other events, then ch-b
        (8, [2, 7]),  # ordered by what they are about: "ch-x" before "cl-1"
    ]


@pytest.mark.django_db
def test_the_relay_publishes_waiting_deliveries_once_and_marks_them(monkeypatch):
    partner = PartnerFactory.create()
    sent: list[tuple[str, list[tuple[Any, ...]]]] = []
    monkeypatch.setattr(webhook_relay, "publish", lambda name, calls: sent.append((name, calls)))
    stored = [
        webhook_receive(
            partner=partner, body=body_of(channel_event(name, channel_id="ch1")), headers={}
        ).event_pk
        for name in ("channel_running", "channel_created")
    ]
    webhook_receive(partner=partner, body=b"{", headers={})  # malformed: nothing to publish

    with partner_scope(partner):
        rows_before = row_versions(WebhookEvent.objects.all())

    assert webhook_events_relay() == 2
    assert webhook_events_relay() == 0
    assert sent == [("webhooks.process_events", [(partner.pk, [stored[1], stored[0]])])]
    assert not UnpublishedEvent.objects.exists()
    with partner_scope(partner):
        # Publishing wrote nothing to the events' rows (a new version would have a new xmin).
        assert row_versions(WebhookEvent.objects.all()) == rows_before


def row_versions(events: QuerySet[WebhookEvent]) -> dict[int, str]:
    """Each row's id and the transaction that wrote its current version."""
    return dict(events.annotate(version=RawSQL("xmin::text", [])).values_list("pk", "version"))


@pytest.mark.django_db
def test_a_broker_that_cannot_take_them_leaves_the_rows_for_the_next_pass(monkeypatch):
    partner = PartnerFactory.create()
    event_pk = stored(partner)

    def down(name: str, calls: list[tuple[Any, ...]]) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(webhook_relay, "publish", down)
    assert relay_pass(relays()) == (0, True)
    assert list(UnpublishedEvent.objects.values_list("event", flat=True)) == [event_pk]

    monkeypatch.setattr(webhook_relay, "publish", lambda name, calls: None)
    assert relay_pass(relays()) == (1, False)
    assert not UnpublishedEvent.objects.exists()


@pytest.mark.django_db
def test_an_event_the_sweep_applied_first_is_not_published_again(monkeypatch):
    partner = PartnerFactory.create()
    sent: list[tuple[str, list[tuple[Any, ...]]]] = []
    monkeypatch.setattr(webhook_relay, "publish", lambda name, calls: sent.append((name, calls)))
    applied, waiting = stored(partner), stored_event(partner, "channel_running")
    with partner_scope(partner):
        WebhookEvent.objects.filter(pk=applied).update(status=Status.PROCESSED)

    assert webhook_events_relay() == 1
    assert sent == [("webhooks.process_events", [(partner.pk, [waiting])])]
    assert not UnpublishedEvent.objects.exists()


@pytest.mark.django_db
def test_domain_events_are_fanned_out_in_one_batch(django_assert_num_queries):
    quiet, listening = PartnerFactory.create(), PartnerFactory.create()
    with partner_scope(listening):
        endpoint, _ = endpoint_create(partner=listening, url="https://platform.example/hooks")
    with all_partners_scope():
        for partner in (quiet, listening, quiet):
            domain_event_record(partner=partner, type="onboarding.started", data={})
        # Savepoint, lock the events, their partners' endpoints, the deliveries, mark: 6.
        with django_assert_num_queries(6):
            assert domain_events_relay() == 3
        assert domain_events_relay() == 0
        assert DomainEvent.objects.filter(relayed_at__isnull=True).count() == 0
        assert list(Delivery.objects.values_list("endpoint", flat=True)) == [endpoint.pk]


@contextmanager
def relay_process(log: Path, idle_seconds: str) -> Iterator[subprocess.Popen[bytes]]:
    """`manage.py relay` against the test database, listening; stopped by SIGTERM after the
    block, which it must exit from cleanly."""
    from portal.celery import app

    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "relay"],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": _test_database_url(),
                "RELAY_IDLE_SECONDS": idle_seconds,
                "CELERY_BROKER_URL": app.conf.broker_url,
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: b"listening" in log.read_bytes(), timeout=30, what="the relay")
        yield process
        process.terminate()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            stop_process(process, timeout=5)
        connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("session_relay_paused")
def test_the_relay_process_is_woken_by_a_domain_event_and_stops_on_sigterm(tmp_path):
    """Its idle look is a minute away, so only the notification explains the relayed event."""
    partner = PartnerFactory.create()
    with relay_process(tmp_path / "relay.log", idle_seconds="60"):
        with partner_scope(partner), transaction.atomic():
            event = domain_event_record(partner=partner, type="onboarding.started", data={})

        def relayed() -> bool:
            with all_partners_scope():
                return DomainEvent.objects.get(pk=event.pk).relayed_at is not None

        wait_for(relayed, timeout=10, what="the relay to fan the domain event out")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("session_relay_paused")
def test_the_relay_process_publishes_a_stored_delivery_at_its_next_look(tmp_path):
    partner = PartnerFactory.create()
    with relay_process(tmp_path / "relay.log", idle_seconds="0.2"):
        event_pk = stored(partner)

        def published() -> bool:
            return not UnpublishedEvent.objects.filter(event=event_pk).exists()

        wait_for(published, timeout=10, what="the relay to publish the delivery")
