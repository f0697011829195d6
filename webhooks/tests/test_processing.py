"""Applying stored events: once, in any order, forward only; failures kept and retried."""

from __future__ import annotations

import base64
import itertools
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from channels.models import ApiKey, Channel
from channels.tests.factories import ApiKeyFactory
from clients.models import Client, Onboarding, TimelineEntry
from clients.proof import onboarding_link_code
from clients.tests.factories import OnboardingFactory
from portal.models import Partner
from portal.queueing import enqueue
from portal.tenancy import all_partners_scope, partner_scope
from portal.tests.factories import PartnerFactory
from portal.tests.faults import database_refuses
from webhooks.models import UnpublishedEvent, WebhookEvent
from webhooks.services import (
    webhook_event_process,
    webhook_event_replay,
    webhook_events_sweep,
    webhook_receive,
)
from webhooks.tests.helpers import EVENT_FIXTURES, body_of, channel_event, fixture

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status
LIFECYCLE = [
    "channel_created",
    "channel_submitted",
    "channel_ready",
    "channel_running",
    "channel_live",
]


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory.create(payment_mode=Partner.PaymentMode.PARTNER)


def store(partner, payload) -> int:
    received = webhook_receive(partner=partner, body=body_of(payload), headers={})
    assert received.event_pk is not None
    return received.event_pk


def deliver(partner, payload) -> str:
    """Receive and process one delivery, as the view and the worker do."""
    received = webhook_receive(partner=partner, body=body_of(payload), headers={})
    if received.event_pk is None:
        return "duplicate"
    event_pk = received.event_pk
    with partner_scope(partner):
        return webhook_event_process(partner=partner, event_pk=event_pk)


def channel_state(partner, hub_channel_id="y9MiLoCH"):
    with partner_scope(partner):
        channel = Channel.objects.select_related("client").get(hub_channel_id=hub_channel_id)
        return {
            "status": channel.status,
            "phone_number": channel.phone_number,
            "phone_name": channel.phone_name,
            "waba_id": channel.waba_id,
            "account_mode": channel.account_mode,
            "permission": channel.permission,
            "client": (channel.client.hub_client_id, channel.client.name, channel.client.email),
            "client_payload": channel.client.partner_payload,
            "onboarding_client": channel.onboarding is not None
            and channel.onboarding.client_id == channel.client_id,
            "channels": Channel.objects.count(),
            "clients": Client.objects.count(),
            "onboardings": Onboarding.objects.count(),
        }


def timeline(partner, kind=None) -> list[str]:
    with partner_scope(partner):
        entries = TimelineEntry.objects.order_by("pk")
        if kind:
            entries = entries.filter(kind=kind)
        return [entry.message for entry in entries]


def test_every_fixture_is_processed(partner):
    outcomes = {name: deliver(partner, fixture(name)) for name in EVENT_FIXTURES}

    assert set(outcomes.values()) == {Status.PROCESSED}
    state = channel_state(partner)
    assert state["status"] == "live"
    assert (state["phone_number"], state["phone_name"], state["waba_id"]) == (
        "4915112345678",
        "Acme Bakery",
        "104996122399160",
    )
    assert state["client"] == ("oaY9LLfUCL", "Acme Bakery GmbH", "owner@acme-bakery.example")
    assert state["client_payload"] == "crm-4711"


def test_the_lifecycle_in_order_is_on_the_timeline(partner):
    for event in ["channel_created", "channel_submitted", "channel_ready", "channel_running"]:
        deliver(partner, channel_event(event))

    assert timeline(partner, TimelineEntry.Kind.STATUS) == [
        "+4915112345678: created → submitted.",
        "+4915112345678: submitted → ready.",
        "+4915112345678: ready → running.",
    ]


def test_processing_twice_changes_nothing(partner):
    event_pk = store(partner, channel_event("channel_ready"))
    with partner_scope(partner):
        first = webhook_event_process(partner=partner, event_pk=event_pk)
        before = (channel_state(partner), timeline(partner))
        second = webhook_event_process(partner=partner, event_pk=event_pk)
        event = WebhookEvent.objects.get(pk=event_pk)

    assert (first, second) == (Status.PROCESSED, Status.PROCESSED)
    assert (channel_state(partner), timeline(partner)) == before
    assert event.attempts == 1


def test_a_redelivery_with_a_new_id_changes_nothing(partner):
    deliver(partner, channel_event("channel_running", event_id="a"))
    before = (channel_state(partner), timeline(partner, TimelineEntry.Kind.STATUS))

    deliver(partner, channel_event("channel_running", event_id="b"))

    assert (channel_state(partner), timeline(partner, TimelineEntry.Kind.STATUS)) == before


@pytest.mark.parametrize("order", list(itertools.permutations(LIFECYCLE)))
def test_every_ordering_of_the_lifecycle_ends_in_the_same_state(order):
    partner = PartnerFactory.create()
    deliver(partner, fixture("client_created"))
    for event in order:
        deliver(partner, channel_event(event))

    assert channel_state(partner) == {
        "status": "live",
        "phone_number": "4915112345678",
        "phone_name": "Acme Bakery",
        "waba_id": "104996122399160",
        "account_mode": "live",
        "permission": "unknown",
        "client": ("oaY9LLfUCL", "Acme Bakery GmbH", "owner@acme-bakery.example"),
        "client_payload": "crm-4711",
        "onboarding_client": True,
        "channels": 1,
        "clients": 1,
        "onboardings": 1,
    }
    stale = timeline(partner, TimelineEntry.Kind.STALE_EVENT)
    expected_stale = sum(
        1
        for i, event in enumerate(order)
        if any(LIFECYCLE.index(e) > LIFECYCLE.index(event) for e in order[:i])
    )
    assert len(stale) == expected_stale


def test_a_stale_event_is_recorded_and_ignored(partner):
    deliver(partner, channel_event("channel_running"))
    ready = channel_event("channel_ready")
    ready["data"]["setup_info"]["phone_name"] = "Old name"

    assert deliver(partner, ready) == Status.PROCESSED
    state = channel_state(partner)
    assert (state["status"], state["phone_name"]) == ("running", "Acme Bakery")
    assert timeline(partner, TimelineEntry.Kind.STALE_EVENT) == [
        "Ignored channel_ready for +4915112345678: it is already running."
    ]


def test_an_unknown_status_is_noted_and_not_applied(partner):
    deliver(partner, channel_event("channel_ready"))

    deliver(partner, channel_event("channel_permission_granted", status="pending_review"))

    assert channel_state(partner)["status"] == "ready"
    assert timeline(partner, TimelineEntry.Kind.NOTE) == [
        "channel_permission_granted for +4915112345678 names an unknown status "
        "'pending_review'; kept ready."
    ]


def test_permission_granted_and_withdrawn(partner):
    deliver(partner, channel_event("channel_running"))
    with partner_scope(partner):
        channel = Channel.objects.get()
        ApiKeyFactory.create(channel=channel)

    deliver(partner, channel_event("channel_permission_granted", status="running"))
    assert channel_state(partner)["permission"] == "granted"
    deliver(partner, channel_event("channel_permission_revoked", status="running"))

    assert channel_state(partner)["permission"] == "revoked"
    with partner_scope(partner):
        [key] = ApiKey.objects.all()
    assert key.revoked_reason == "permission withdrawn"
    assert timeline(partner, TimelineEntry.Kind.PERMISSION) == [
        "Permission for +4915112345678 granted (webhook).",
        "Permission for +4915112345678 withdrawn (webhook).",
    ]


@pytest.mark.parametrize(
    ("event", "field", "value"),
    [
        ("account_violation", "has_violation", True),
        ("account_restriction", "is_restricted", True),
        ("cancellation_request", "cancellation_requested", True),
    ],
)
def test_notice_events_set_their_flags(partner, event, field, value):
    deliver(partner, channel_event("channel_running"))

    assert deliver(partner, channel_event(event, status="running")) == Status.PROCESSED

    with partner_scope(partner):
        assert getattr(Channel.objects.get(), field) is value


def test_a_processed_cancellation_revokes_the_key(partner):
    deliver(partner, channel_event("channel_running"))
    deliver(partner, channel_event("cancellation_request", status="running"))
    deliver(partner, channel_event("cancellation_revoke", status="running"))
    with partner_scope(partner):
        ApiKeyFactory.create(channel=Channel.objects.get())
        assert Channel.objects.get().cancellation_requested is False

    deliver(partner, channel_event("cancellation_processed", status="running"))

    with partner_scope(partner):
        assert Channel.objects.get().cancelled_at is not None
        assert ApiKey.objects.get().revoked_reason == "channel cancelled"


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "t1", "event": "waba_template_status_changed", "data": {"status": "APPROVED"}},
        {"id": "u1", "event": "brand_new_event", "data": [1, 2]},
        {"id": "n1", "event": "account_violation", "data": {"waba_id": "123"}},
    ],
)
def test_events_that_name_nothing_we_know_are_ignored(partner, payload):
    assert deliver(partner, payload) == Status.IGNORED
    with partner_scope(partner):
        assert Channel.objects.count() == 0


def test_a_notice_ahead_of_its_channel_is_retried_until_the_channel_exists(partner):
    notice = {"id": "n1", "event": "account_violation", "data": {"channel_id": "later1"}}
    event_pk = store(partner, notice)
    with partner_scope(partner):
        assert webhook_event_process(partner=partner, event_pk=event_pk) == Status.FAILED
        assert WebhookEvent.objects.get(pk=event_pk).last_error == (
            "ChannelNotKnownYetError: account_violation for channel later1, not seen yet"
        )
    deliver(partner, channel_event("channel_created", channel_id="later1"))
    with partner_scope(partner):
        WebhookEvent.objects.filter(pk=event_pk).update(next_attempt_at=timezone.now())
        assert webhook_event_process(partner=partner, event_pk=event_pk) == Status.PROCESSED
        assert Channel.objects.get().has_violation is True


def test_a_channel_event_naming_no_client_is_malformed(partner):
    payload = channel_event("channel_created")
    del payload["data"]["client_id"]
    del payload["data"]["client"]

    assert deliver(partner, payload) == Status.MALFORMED
    with partner_scope(partner):
        assert (
            WebhookEvent.objects.get().last_error
            == "channel y9MiLoCH names no client (data.client_id)"
        )
        assert Client.objects.count() == 0


@pytest.mark.parametrize("position", range(6))
def test_the_real_onboarding_gets_the_channel_wherever_client_created_arrives(position):
    partner = PartnerFactory.create()
    onboarding = OnboardingFactory.create(partner=partner, email="ada@acme.example")
    client_created = fixture("client_created")
    client_created["data"]["client"]["partner_payload"] = onboarding_link_code(onboarding)
    events = [channel_event(event) for event in reversed(LIFECYCLE)]
    events.insert(position, client_created)

    for payload in events:
        deliver(partner, payload)

    with partner_scope(partner):
        assert list(Onboarding.objects.values_list("pk", flat=True)) == [onboarding.pk]
        assert Channel.objects.get().onboarding_id == onboarding.pk
        assert Channel.objects.get().status == "live"
        messages = list(
            TimelineEntry.objects.filter(onboarding=onboarding).values_list("kind", flat=True)
        )
    assert TimelineEntry.Kind.STATUS in messages  # its history moved over with it


def test_a_known_event_without_its_channel_id_is_malformed(partner):
    payload = channel_event("channel_ready")
    del payload["data"]["id"]

    assert deliver(partner, payload) == Status.MALFORMED
    with partner_scope(partner):
        [event] = WebhookEvent.objects.all()
    assert event.last_error == "data.id must be a 360Dialog id (letters and digits), got None"


def test_a_partner_payload_edited_to_another_onboardings_id_links_nothing(partner):
    """Anyone can put an onboarding's public id in the `partner` parameter of their own IO
    link: only the signed link code our link carries names an onboarding."""
    onboarding = OnboardingFactory.create(partner=partner)
    payload = fixture("client_created")
    for edited in (str(onboarding.public_id), onboarding_link_code(onboarding) + "x"):
        payload["data"]["client"]["partner_payload"] = edited
        payload["id"] = f"evt_{len(edited)}"
        assert deliver(partner, payload) == Status.PROCESSED

    with partner_scope(partner):
        onboarding.refresh_from_db()
    assert onboarding.client is None


def test_an_onboarding_named_in_partner_payload_gets_the_client(partner):
    onboarding = OnboardingFactory.create(partner=partner)
    payload = fixture("client_created")
    payload["data"]["client"]["partner_payload"] = onboarding_link_code(onboarding)

    deliver(partner, payload)
    deliver(partner, channel_event("channel_created"))

    with partner_scope(partner):
        channel = Channel.objects.get()
        onboarding.refresh_from_db()
        assert onboarding.client is not None
        assert onboarding.client.hub_client_id == "oaY9LLfUCL"
        assert channel.onboarding == onboarding
        assert Onboarding.objects.count() == 1


def test_a_client_first_seen_in_a_webhook_gets_an_onboarding(partner):
    deliver(partner, channel_event("channel_created"))

    with partner_scope(partner):
        onboarding = Onboarding.objects.get()
    assert onboarding.client is not None
    assert onboarding.client.hub_client_id == "oaY9LLfUCL"
    assert timeline(partner, TimelineEntry.Kind.CREATED) == [
        "First seen in a 360Dialog webhook (not started on the signup page)."
    ]


REFUSED_NAME = "Refused Ltd"


@pytest.fixture
def refused_name():
    """PostgreSQL refuses a client with this name ("value too long"): a real failure."""
    with database_refuses("clients_client", when=f"NEW.name = '{REFUSED_NAME}'"):
        yield


def failing_payload() -> dict[str, object]:
    payload = fixture("client_created")
    payload["data"]["client"]["name"] = REFUSED_NAME
    return payload


def test_over_long_values_from_360dialog_are_fitted_to_their_columns(partner):
    payload = fixture("client_created")
    payload["data"]["client"]["name"] = "x" * 250
    payload["data"]["client"]["contact_info"] = {"email": "a" * 250 + "@example.com"}
    channel = channel_event("channel_created")
    channel["data"]["setup_info"]["phone_name"] = "Bakery\n" + "y" * 300

    assert deliver(partner, payload) == Status.PROCESSED
    with partner_scope(partner):
        client = Client.objects.get()
    assert deliver(partner, channel) == Status.PROCESSED

    with partner_scope(partner):
        stored = Channel.objects.get()
    assert (client.name, client.email) == ("x" * 200, "")
    assert stored.phone_name == ("Bakery " + "y" * 300)[:200]


def test_a_failing_handler_keeps_the_error_and_rolls_its_work_back(partner, settings, refused_name):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    event_pk = store(partner, failing_payload())

    with partner_scope(partner):
        first = webhook_event_process(partner=partner, event_pk=event_pk)
        event = WebhookEvent.objects.get()
        assert Client.objects.count() == 0

    assert first == Status.FAILED
    assert (event.status, event.attempts) == (Status.FAILED, 1)
    assert event.last_error.startswith("DataError: refused by the test")
    assert "Traceback (most recent call last)" in event.traceback
    assert event.next_attempt_at is not None
    assert event.next_attempt_at > timezone.now()

    with partner_scope(partner):
        assert webhook_event_process(partner=partner, event_pk=event_pk) == Status.FAILED
        assert WebhookEvent.objects.get().attempts == 1  # its retry is not due yet
        WebhookEvent.objects.update(next_attempt_at=timezone.now())
        webhook_event_process(partner=partner, event_pk=event_pk)
        event = WebhookEvent.objects.get()
    assert (event.status, event.attempts, event.next_attempt_at) == (Status.FAILED, 2, None)


def test_the_sweep_enqueues_stale_received_and_due_failed_events(partner, settings):
    settings.WEBHOOK_SWEEP_AFTER_SECONDS = 60
    old, _fresh, failed_due, failed_later, done = (
        store(partner, channel_event("channel_created", event_id=n))
        for n in ("old", "fresh", "due", "later", "done")
    )
    now = timezone.now()
    with partner_scope(partner):
        WebhookEvent.objects.filter(pk=old).update(
            received_at=now - timedelta(minutes=5), enqueued_at=now - timedelta(minutes=5)
        )
        WebhookEvent.objects.filter(pk=failed_due).update(
            status=Status.FAILED,
            next_attempt_at=now - timedelta(seconds=1),
            enqueued_at=now - timedelta(minutes=2),
        )
        WebhookEvent.objects.filter(pk=failed_later).update(
            status=Status.FAILED, next_attempt_at=now + timedelta(minutes=1)
        )
        WebhookEvent.objects.filter(pk=done).update(
            status=Status.PROCESSED, received_at=now - timedelta(minutes=5)
        )

    with all_partners_scope():
        first = webhook_events_sweep()
        second = webhook_events_sweep()

    # Picked: the old received one and the due failed one; neither is picked again until
    # WEBHOOK_SWEEP_AFTER_SECONDS have passed since the sweep enqueued them. (The messages go to
    # Redis; a test worker, if one runs, finds none of these uncommitted rows.)
    assert (first, second) == (2, 0)


def test_the_sweep_sends_what_the_relay_never_published_and_the_relay_then_leaves_it(
    partner, settings
):
    """The relay was down: a delivery stored minutes ago is still unpublished."""
    settings.WEBHOOK_SWEEP_AFTER_SECONDS = 60
    stale, fresh = (
        store(partner, channel_event("channel_created", event_id=n)) for n in ("stale", "fresh")
    )
    with partner_scope(partner):
        WebhookEvent.objects.filter(pk=stale).update(
            received_at=timezone.now() - timedelta(minutes=5)
        )

    with all_partners_scope():
        assert webhook_events_sweep() == 1
        assert list(UnpublishedEvent.objects.values_list("event", flat=True)) == [fresh]
        assert WebhookEvent.objects.get(pk=stale).enqueued_at is not None


@pytest.fixture
def webhook_queue():
    """The broker's `webhooks` queue (in this test run's Redis database), empty at the start
    and emptied at the end."""
    from portal.celery import app

    with app.connection_for_write() as connection:
        client = connection.default_channel.client  # type: ignore[attr-defined]
        client.delete("webhooks")
        yield client
        client.delete("webhooks")


@pytest.mark.parametrize("sent_by", ["relay", "sweep or replay"])
def test_the_sweep_leaves_events_waiting_their_turn_in_a_backlog(
    partner, settings, webhook_queue, sent_by
):
    settings.WEBHOOK_SWEEP_AFTER_SECONDS = 60
    lost, waiting, behind = (
        store(partner, channel_event("channel_created", event_id=n))
        for n in ("lost", "waiting", "behind")
    )
    now = timezone.now()
    # All three were sent minutes ago; the first one's message was lost, the other two wait in
    # a backlog (no worker runs here).
    with partner_scope(partner):
        for pk, minutes in ((lost, 10), (waiting, 5), (behind, 4)):
            sent = WebhookEvent.objects.filter(pk=pk)
            if sent_by == "relay":  # which does not mark them: when stored stands for when sent
                sent.update(received_at=now - timedelta(minutes=minutes))
            else:
                sent.update(enqueued_at=now - timedelta(minutes=minutes))
    UnpublishedEvent.objects.all().delete()
    if sent_by == "relay":  # in batches
        enqueue("webhooks.process_events", partner.pk, [waiting])
        enqueue("webhooks.process_events", partner.pk, [behind])
    else:  # one by one
        enqueue("webhooks.process_event", partner.pk, waiting)
        enqueue("webhooks.process_event", partner.pk, behind)

    with all_partners_scope():
        swept = webhook_events_sweep()

    assert swept == 1
    assert [queued_event(raw) for raw in webhook_queue.lrange("webhooks", 0, -1)] == [
        lost,  # the newest message, sent by the sweep
        behind,
        waiting,
    ]


def queued_event(raw: bytes) -> int:
    message = json.loads(raw)
    args = json.loads(base64.b64decode(message["body"]))[0]
    return int(args[1][0] if isinstance(args[1], list) else args[1])


def test_replay_puts_a_failed_event_back(partner, django_capture_on_commit_callbacks, refused_name):
    event_pk = store(partner, failing_payload())
    with partner_scope(partner):
        webhook_event_process(partner=partner, event_pk=event_pk)
        event = WebhookEvent.objects.get()
        with django_capture_on_commit_callbacks() as callbacks:
            assert webhook_event_replay(event=event) is True
        event.refresh_from_db()

    assert event.status == Status.RECEIVED
    assert len(callbacks) == 1


def test_replay_leaves_processed_events_alone(partner):
    event_pk = store(partner, channel_event("channel_created"))
    with partner_scope(partner):
        webhook_event_process(partner=partner, event_pk=event_pk)
        assert webhook_event_replay(event=WebhookEvent.objects.get()) is False
