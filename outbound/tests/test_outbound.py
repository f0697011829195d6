"""Outbound events: the outbox, signing (checked with the standardwebhooks library), safety,
retries, and the delivery to a real receiver by a real worker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from api.tests.factories import ApiTokenFactory, bearer
from clients.models import Onboarding
from clients.services import onboarding_status_set
from clients.tests.factories import OnboardingFactory
from conftest import wait_for
from events.models import DomainEvent
from events.services import domain_event_record
from outbound.http import retry_after_seconds
from outbound.models import Delivery, Endpoint
from outbound.services import (
    deliveries_sweep,
    delivery_attempt,
    domain_event_relay,
    endpoint_create,
    endpoint_disabled_mail_send,
    endpoint_secret_rotate,
    retry_delay,
)
from outbound.tests.receiver import receiver
from portal.models import PartnerMembership
from portal.tenancy import all_partners_scope, partner_scope
from portal.tests.factories import MembershipFactory, PartnerFactory


def recorded_and_relayed(**kwargs: Any) -> DomainEvent:
    """The domain records the event; the relay (woken after commit) fans it out."""
    event = domain_event_record(**kwargs)
    domain_event_relay(event_id=event.pk)
    return event


@pytest.mark.django_db
def test_an_event_is_written_with_the_change_and_not_without_it():
    partner = PartnerFactory.create()
    with partner_scope(partner):
        onboarding = OnboardingFactory.create(partner=partner, status=Onboarding.Status.RETURNED)
        endpoint, _ = endpoint_create(partner=partner, url="https://platform.example/hooks")

        with pytest.raises(RuntimeError), transaction.atomic():
            onboarding_status_set(onboarding=onboarding, status="live", reason="keys")
            raise RuntimeError("the change rolls back")
        assert DomainEvent.objects.count() == 0

        onboarding.refresh_from_db()
        onboarding_status_set(onboarding=onboarding, status="live", reason="keys")

        event = DomainEvent.objects.get()
        assert Delivery.objects.count() == 0  # fanned out by the relay, after commit
        assert domain_event_relay(event_id=event.pk) == 1
        assert domain_event_relay(event_id=event.pk) == 0
        assert (event.type, event.data) == (
            "onboarding.live",
            {
                "onboarding": {
                    "id": str(onboarding.public_id),
                    "status": "live",
                    "email": onboarding.email,
                    "crm_reference": "",
                    "client": None,
                }
            },
        )
        assert list(Delivery.objects.values_list("endpoint", "status")) == [
            (endpoint.pk, "pending")
        ]


@pytest.mark.django_db
def test_an_unknown_event_type_is_refused_and_nothing_is_written():
    partner = PartnerFactory.create()
    with partner_scope(partner), pytest.raises(ValueError):
        domain_event_record(partner=partner, type="onboarding.exploded", data={})
    with partner_scope(partner):
        assert DomainEvent.objects.count() == 0


@pytest.mark.django_db
def test_the_sweep_relays_an_event_whose_wake_up_was_lost():
    partner = PartnerFactory.create()
    with partner_scope(partner):
        endpoint, _ = endpoint_create(partner=partner, url="https://platform.example/hooks")
        event = domain_event_record(partner=partner, type="onboarding.started", data={})
    with all_partners_scope():
        # Relayed deliveries are enqueued by the relay itself, not again by this sweep.
        assert deliveries_sweep() == 0
        event.refresh_from_db()
        assert event.relayed_at is not None
        assert list(Delivery.objects.values_list("event", "endpoint", "status")) == [
            (event.pk, endpoint.pk, "pending")
        ]
        assert deliveries_sweep(now=timezone.now() - timedelta(minutes=1)) == 0


@pytest.mark.django_db
def test_a_delivery_is_signed_per_standard_webhooks_also_with_the_previous_secret():
    partner = PartnerFactory.create()
    with receiver() as hook, partner_scope(partner):
        endpoint, old_secret = endpoint_create(partner=partner, url=hook.url)
        new_secret = endpoint_secret_rotate(endpoint=endpoint)
        event = recorded_and_relayed(
            partner=partner, type="channel.status_changed", data={"channel": {"id": "ch1"}}
        )

        assert delivery_attempt(delivery_id=Delivery.objects.get().pk) is None

        headers, body = hook.received[0]
        for secret in (new_secret, old_secret):
            assert Webhook(secret).verify(body, headers) == json.loads(body)
        assert headers["webhook-id"] == str(event.public_id)
        assert json.loads(body)["type"] == "channel.status_changed"
        assert Delivery.objects.get().status == "delivered"


@pytest.mark.django_db
def test_a_failed_attempt_is_retried_later_honouring_retry_after():
    partner = PartnerFactory.create()
    with receiver(fail_first=1, retry_after="120") as hook, partner_scope(partner):
        endpoint_create(partner=partner, url=hook.url)
        recorded_and_relayed(partner=partner, type="onboarding.started", data={})
        delivery = Delivery.objects.get()

        delay = delivery_attempt(delivery_id=delivery.pk)

        delivery.refresh_from_db()
        assert delay == 120.0
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "pending",
            1,
            503,
        )
        assert delivery_attempt(delivery_id=delivery.pk) is None  # not due yet: not sent
        assert len(hook.received) == 1


def test_retry_delays_grow_with_jitter_and_stay_below_an_hour(settings):
    settings.OUTBOUND_RETRY_BASE_SECONDS = 30.0
    assert 15.0 <= retry_delay(1, None) <= 30.0
    assert 60.0 <= retry_delay(3, None) <= 120.0
    assert 1800.0 <= retry_delay(20, None) <= 3600.0


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "169.254.169.254", "10.0.0.8"])
def test_private_addresses_are_refused_at_connect_time(settings, host):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    partner = PartnerFactory.create()
    with partner_scope(partner):
        endpoint, _ = endpoint_create(partner=partner, url=f"http://{host}:9/hooks")
        recorded_and_relayed(partner=partner, type="onboarding.started", data={})
        delivery = Delivery.objects.get()

        delivery_attempt(delivery_id=delivery.pk)

        delivery.refresh_from_db()
        assert delivery.last_status_code is None
        assert "resolves to an address we do not send to" in delivery.last_error
        assert endpoint.pk


@pytest.mark.django_db
def test_plain_http_is_refused_outside_development(settings):
    from outbound.http import RefusedURLError

    settings.OUTBOUND_ALLOW_HTTP = False
    with pytest.raises(RefusedURLError):
        endpoint_create(partner=PartnerFactory.create(), url="http://platform.example/hooks")


@pytest.mark.django_db
def test_an_endpoint_failing_for_three_days_is_disabled():
    partner = PartnerFactory.create()
    with receiver(fail_first=99) as hook, partner_scope(partner):
        endpoint, _ = endpoint_create(partner=partner, url=hook.url)
        Endpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=timezone.now() - timedelta(days=3, minutes=1)
        )
        recorded_and_relayed(partner=partner, type="onboarding.started", data={})

        assert delivery_attempt(delivery_id=Delivery.objects.get().pk) is None

        endpoint.refresh_from_db()
        assert endpoint.enabled is False
        assert Delivery.objects.get().status == "failed"


@pytest.mark.django_db
def test_the_events_feed_pages_with_a_cursor(client):
    token = ApiTokenFactory.create(scopes=["read"])
    with partner_scope(token.partner):
        for n in range(3):
            recorded_and_relayed(partner=token.partner, type="onboarding.started", data={"n": n})
        DomainEvent.objects.update(created_at=timezone.now() - timedelta(minutes=1))
    with all_partners_scope():
        recorded_and_relayed(partner=PartnerFactory.create(), type="onboarding.started", data={})

    first = client.get("/api/v1/events?limit=2", **bearer(token)).json()
    second = client.get(first["next"], **bearer(token)).json()
    third = client.get(second["next"], **bearer(token)).json()

    assert [e["data"] for e in first["results"]] == [{"n": 0}, {"n": 1}]
    assert [e["data"] for e in second["results"]] == [{"n": 2}]
    assert third["results"] == []
    assert third["next"] == second["next"]
    bad = client.get("/api/v1/events?after=%%%", **bearer(token))
    assert bad.status_code == 400


@pytest.mark.integration
def test_a_real_worker_delivers_after_the_receiver_failed_twice(settled_worker):
    partner = PartnerFactory.create()
    with receiver(fail_first=2) as hook:
        with partner_scope(partner):
            _, secret = endpoint_create(partner=partner, url=hook.url)
            with transaction.atomic():  # the commit wakes the relay on the worker
                event = domain_event_record(
                    partner=partner, type="channel.api_key_ready", data={"channel": {"id": "c"}}
                )

        wait_for(lambda: len(hook.received) >= 3, timeout=60, what="the third attempt")

        with partner_scope(partner):
            delivery = Delivery.objects.get()
            wait_for(
                lambda: Delivery.objects.get().status == "delivered",
                timeout=30,
                what="the delivery to be marked",
            )
            delivery.refresh_from_db()
    assert delivery.attempts == 3
    assert [h["webhook-id"] for h, _ in hook.received] == [str(event.public_id)] * 3
    headers, body = hook.received[-1]
    assert Webhook(secret).verify(body, headers)["data"] == {"channel": {"id": "c"}}


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("Sun, 30 Nov 2026 12:02:00 GMT", 120.0),
        ("Sun, 30 Nov 2026 12:00:00 -0000", 0.0),
        ("Sun, 30 Nov 2026 11:00:00 GMT", 0.0),  # in the past: at once
        ("soon", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_as_an_http_date(header, seconds):
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert retry_after_seconds(header, now=now) == seconds


@pytest.mark.django_db
def test_the_managers_get_one_mail_when_an_endpoint_is_disabled(
    mailoutbox, django_capture_on_commit_callbacks
):
    partner = PartnerFactory.create(name="Acme Hub")
    MembershipFactory.create(
        partner=partner, role=PartnerMembership.Role.MANAGER, user__email="mia@acme.example"
    )
    MembershipFactory.create(
        partner=partner, role=PartnerMembership.Role.VIEWER, user__email="vic@acme.example"
    )
    with receiver(fail_first=99) as hook, partner_scope(partner):
        endpoint, _ = endpoint_create(partner=partner, url=hook.url)
        Endpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=timezone.now() - timedelta(days=3, minutes=1)
        )
        recorded_and_relayed(partner=partner, type="onboarding.started", data={})
        recorded_and_relayed(partner=partner, type="onboarding.live", data={})
        first, second = Delivery.objects.order_by("pk")
        with django_capture_on_commit_callbacks() as disabling:
            delivery_attempt(delivery_id=first.pk)
        with django_capture_on_commit_callbacks() as after:
            delivery_attempt(delivery_id=second.pk)  # the endpoint is off: nothing is sent
        told = endpoint_disabled_mail_send(endpoint_id=endpoint.pk)

    assert (len(disabling), len(after), len(hook.received)) == (1, 0, 1)
    assert told == 1
    [mail] = mailoutbox
    assert mail.to == ["mia@acme.example"]
    assert mail.subject == "Acme Hub: outbound endpoint disabled"
    assert hook.url in mail.body
