"""Applying an event costs a fixed, small number of SQL statements: the event is claimed by one
UPDATE, the channel is loaded and locked (its row only) with what the handler needs in one
query, only changed columns are written, one timeline entry per change, and no client write when
nothing about the client changed. Counts include the transaction's own statements (BEGIN and
COMMIT, or a savepoint's two inside a test's transaction)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels.models import ApiKey, Channel
from channels.provisioning import channel_api_key_give_up
from channels.services import channel_provision_if_due
from channels.tests.factories import ApiKeyFactory
from clients.models import Client, TimelineEntry
from clients.proof import onboarding_link_code
from clients.tests.factories import OnboardingFactory
from conftest import wait_for
from portal.entry import partner_task_scope
from portal.models import Partner
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process, webhook_events_process, webhook_receive
from webhooks.tests.helpers import body_of, channel_event, fixture
from webhooks.tests.test_resilience import backends_waiting_for_a_lock

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory.create(payment_mode=Partner.PaymentMode.PARTNER)


@pytest.fixture
def direct() -> Partner:
    return PartnerFactory.create(payment_mode=Partner.PaymentMode.DIRECT)


def store(partner: Partner, payload: dict[str, object]) -> int:
    received = webhook_receive(partner=partner, body=body_of(payload), headers={})
    assert received.event_pk is not None
    return received.event_pk


def applied(partner: Partner, payload: dict[str, object]) -> list[str]:
    """Process one stored delivery; the SQL it ran."""
    event_pk = store(partner, payload)
    with partner_scope(partner), CaptureQueriesContext(connection) as queries:
        outcome = webhook_event_process(partner=partner, event_pk=event_pk)
    assert outcome == Status.PROCESSED
    return [query["sql"] for query in queries.captured_queries]


def linked(partner: Partner) -> None:
    """An onboarding that client_created linked to its client, as in every normal signup."""
    with partner_scope(partner):
        onboarding = OnboardingFactory.create(partner=partner)
    payload = fixture("client_created")
    payload["data"]["client"]["partner_payload"] = onboarding_link_code(onboarding)
    applied(partner, payload)


def walk_to(partner: Partner, status: str) -> None:
    for event in ("channel_created", "channel_submitted", "channel_ready", "channel_running"):
        applied(partner, channel_event(event))
        if event == f"channel_{status}":
            return


def test_client_created_linking_its_onboarding(partner, django_assert_max_num_queries):
    with partner_scope(partner):
        onboarding = OnboardingFactory.create(partner=partner)
    payload = fixture("client_created")
    payload["data"]["client"]["partner_payload"] = onboarding_link_code(onboarding)
    event_pk = store(partner, payload)

    # claim, client looked up and made (savepoint, insert), onboarding locked and linked, its
    # stand-ins looked for, + the transaction's two
    with partner_scope(partner), django_assert_max_num_queries(10):
        assert webhook_event_process(partner=partner, event_pk=event_pk) == Status.PROCESSED


def test_channel_created_for_a_known_client(partner, django_assert_max_num_queries):
    linked(partner)
    event_pk = store(partner, channel_event("channel_created"))

    # claim, channel looked up, client locked, channel looked up again under the client's lock,
    # onboarding, channel inserted with its details, + the transaction's two
    with partner_scope(partner), django_assert_max_num_queries(8):
        assert webhook_event_process(partner=partner, event_pk=event_pk) == Status.PROCESSED
    with partner_scope(partner):
        channel = Channel.objects.get()
    assert (channel.status, channel.phone_number, channel.onboarding is not None) == (
        "created",
        "4915112345678",
        True,
    )


@pytest.mark.parametrize(
    ("event", "before"),
    [
        ("channel_submitted", "created"),
        ("channel_ready", "submitted"),
        ("channel_running", "ready"),
        ("channel_live", "running"),
    ],
)
def test_a_lifecycle_step_is_five_statements(partner, event, before):
    linked(partner)
    walk_to(partner, before)

    sql = applied(partner, channel_event(event))

    # claim the event, load and lock the channel, one timeline entry, one outbox row, update
    # the channel's changed columns; + the transaction's two
    assert [shape(statement) for statement in sql[1:-1]] == [
        "UPDATE webhooks_webhookevent",
        'SELECT ch."id",',
        'INSERT INTO "clients_timelineentry"',
        'INSERT INTO "events_domainevent"',
        'UPDATE "channels_channel"',
    ]
    assert len(sql) == 7
    assert sql[2].strip().endswith("FOR UPDATE OF ch")  # the channel's row only
    written = set(re.findall(r'"(\w+)" = ', sql[5].split(" WHERE ")[0]))
    expected = {"status", "status_changed_at", "updated_at"}
    if event == "channel_running":
        expected.add("key_requested_at")  # its key is queued, once
    assert written == expected  # changed columns only
    assert "raw_body" not in sql[1]  # the stored delivery is not rewritten


def shape(statement: str) -> str:
    words = statement.split()
    return " ".join(words[:3] if words[0] == "INSERT" else words[:2])


@pytest.mark.parametrize(
    "event", ["channel_submitted", "channel_ready", "channel_running", "channel_live"]
)
def test_every_lifecycle_step_within_seven_statements(
    partner, event, django_assert_max_num_queries
):
    linked(partner)
    applied(partner, channel_event("channel_created"))
    event_pk = store(partner, channel_event(event))

    with partner_scope(partner), django_assert_max_num_queries(7):
        assert webhook_event_process(partner=partner, event_pk=event_pk) == Status.PROCESSED


def test_a_stale_event_costs_its_timeline_entry_only(partner, django_assert_max_num_queries):
    linked(partner)
    walk_to(partner, "ready")
    event_pk = store(partner, channel_event("channel_created", event_id="late"))

    with partner_scope(partner), django_assert_max_num_queries(5):
        assert webhook_event_process(partner=partner, event_pk=event_pk) == Status.PROCESSED
    with partner_scope(partner):
        assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.STALE_EVENT).count() == 1


def test_a_redelivery_with_a_new_id_writes_nothing_but_the_event(
    partner, django_assert_max_num_queries
):
    linked(partner)
    walk_to(partner, "ready")
    event_pk = store(partner, channel_event("channel_ready", event_id="again"))

    with partner_scope(partner), django_assert_max_num_queries(4):
        assert webhook_event_process(partner=partner, event_pk=event_pk) == Status.PROCESSED


def test_the_permission_granted(direct, django_assert_max_num_queries):
    linked(direct)
    walk_to(direct, "running")
    event_pk = store(direct, channel_event("channel_permission_granted", status="running"))

    # claim, load, one UPDATE (permission and the key's request), timeline, outbox, + two
    with partner_scope(direct), django_assert_max_num_queries(7):
        assert webhook_event_process(partner=direct, event_pk=event_pk) == Status.PROCESSED
    with partner_scope(direct):
        channel = Channel.objects.get()
    assert channel.permission == "granted"
    assert channel.key_requested_at is not None


def test_the_permission_withdrawn_with_a_key(direct, django_assert_max_num_queries):
    linked(direct)
    walk_to(direct, "running")
    with partner_scope(direct):
        ApiKeyFactory.create(channel=Channel.objects.get())
    event_pk = store(direct, channel_event("channel_permission_revoked", status="running"))

    # two changes (the key revoked, the permission withdrawn), each a timeline entry and an
    # outbox row, the key and the channel updated once each
    with partner_scope(direct), django_assert_max_num_queries(10):
        assert webhook_event_process(partner=direct, event_pk=event_pk) == Status.PROCESSED
    with partner_scope(direct):
        assert ApiKey.objects.get().revoked_at is not None


@pytest.mark.parametrize(
    "notice", ["account_violation", "account_restriction", "cancellation_request"]
)
def test_a_notice(partner, notice, django_assert_max_num_queries):
    linked(partner)
    walk_to(partner, "running")
    event_pk = store(
        partner, {"id": f"n-{notice}", "event": notice, "data": {"channel_id": "y9MiLoCH"}}
    )

    # claim, load, update the flag, timeline, + two
    with partner_scope(partner), django_assert_max_num_queries(6):
        assert webhook_event_process(partner=partner, event_pk=event_pk) == Status.PROCESSED


def test_the_receive_path_is_one_statement(partner, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        store(partner, channel_event("channel_created"))


def test_a_client_with_nothing_new_is_not_written(partner):
    linked(partner)
    with partner_scope(partner):
        before = Client.objects.get().updated_at

    statements = [applied(partner, channel_event(event)) for event in ("channel_created",)]
    statements += [applied(partner, channel_event("channel_submitted"))]

    assert not any(s.startswith('UPDATE "clients_client"') for sql in statements for s in sql)
    with partner_scope(partner):
        assert Client.objects.get().updated_at == before


def test_new_client_details_on_a_channel_event_are_written(partner):
    linked(partner)
    applied(partner, channel_event("channel_created"))
    payload = channel_event("channel_submitted")
    payload["data"]["client"]["name"] = "Acme Bakery & Sons"

    applied(partner, payload)

    with partner_scope(partner):
        assert Client.objects.get().name == "Acme Bakery & Sons"


@pytest.fixture
def queued(monkeypatch) -> list[tuple[object, ...]]:
    """What channel services queue after commit (nothing is sent)."""
    sent: list[tuple[object, ...]] = []
    monkeypatch.setattr(
        "channels.services.enqueue_item_on_commit",
        lambda name, *args: sent.append((name, *args)),
    )
    return sent


def test_key_creation_is_queued_once_while_it_is_pending(partner, queued):
    linked(partner)
    walk_to(partner, "ready")

    applied(partner, channel_event("channel_running"))
    applied(partner, channel_event("channel_live"))
    applied(partner, channel_event("channel_live", event_id="again"))

    with partner_scope(partner):
        channel = Channel.objects.get()
    assert queued == [("channels.provision_api_keys", partner.pk, channel.pk)]
    with partner_scope(partner):
        assert Channel.objects.get().key_requested_at is not None


def test_a_request_ended_or_long_lost_lets_the_key_be_queued_again(partner, settings, queued):
    settings.API_KEY_REQUEST_SECONDS = 600
    linked(partner)
    walk_to(partner, "running")
    with partner_scope(partner):
        channel = Channel.objects.get()
        # The run ended (here: given up, which records the failure and ends the request).
        channel_api_key_give_up(channel_id=channel.pk, reason="gave up: test")
        channel.refresh_from_db()
        assert (channel.key_requested_at, bool(channel.api_key_error)) == (None, True)

        Channel.objects.filter(pk=channel.pk).update(
            api_key_error="", key_requested_at=timezone.now() - timedelta(seconds=30)
        )
        channel.refresh_from_db()
        channel.partner = partner
        assert channel_provision_if_due(channel=channel) is False  # still pending
        queued.clear()

        Channel.objects.filter(pk=channel.pk).update(
            key_requested_at=timezone.now() - timedelta(seconds=601)
        )
        channel.refresh_from_db()
        channel.partner = partner
        assert channel_provision_if_due(channel=channel) is True  # its message was lost

    assert queued == [("channels.provision_api_keys", partner.pk, channel.pk)]


def stored_unqueued(partner: Partner, payload: dict[str, object]) -> int:
    """Stored as the receiver stores it, but marked as published already: this test commits
    its rows, and the relay and worker left running by an earlier test of the session must not
    apply them first."""
    with partner_scope(partner):
        return WebhookEvent.objects.create(
            partner=partner,
            dedupe_key=f"id:{payload['id']}",
            hub_event_id=str(payload["id"]),
            event_type=str(payload["event"]),
            raw_body=body_of(payload),
            payload=payload,
            status=Status.RECEIVED,
            enqueued_at=timezone.now(),
        ).pk


def applied_unqueued(partner: Partner, payload: dict[str, object]) -> None:
    event_pk = stored_unqueued(partner, payload)
    with partner_scope(partner):
        assert webhook_event_process(partner=partner, event_pk=event_pk) == Status.PROCESSED


# Committed rows: the other transaction runs on a connection of its own and must see them.
@pytest.mark.django_db(transaction=True)
def test_a_channel_never_waits_for_its_client_out_of_order(partner):
    """New client details on an event about a locked channel: the client is taken only if it
    is free. While another transaction holds it (client, then channel: the documented order),
    the event fails at once, changing nothing, and its retry applies it."""
    with partner_scope(partner):
        onboarding = OnboardingFactory.create(partner=partner)
    client_created = fixture("client_created")
    client_created["data"]["client"]["partner_payload"] = onboarding_link_code(onboarding)
    applied_unqueued(partner, client_created)
    applied_unqueued(partner, channel_event("channel_created"))
    payload = channel_event("channel_submitted")
    payload["data"]["client"]["name"] = "Acme Bakery & Sons"
    event_pk = stored_unqueued(partner, payload)
    holding, release = threading.Event(), threading.Event()

    def hold_the_client() -> None:
        try:
            with partner_scope(partner), transaction.atomic():
                Client.objects.select_for_update().get()
                holding.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_client)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        with partner_scope(partner):
            first = webhook_event_process(partner=partner, event_pk=event_pk)
            event = WebhookEvent.objects.get(pk=event_pk)
            channel = Channel.objects.get()
    finally:
        release.set()
        holder.join(timeout=30)

    assert (first, event.attempts, channel.status) == (Status.FAILED, 1, "created")
    assert "lock" in event.last_error
    with partner_scope(partner):
        WebhookEvent.objects.filter(pk=event_pk).update(next_attempt_at=timezone.now())
        assert webhook_event_process(partner=partner, event_pk=event_pk) == Status.PROCESSED
        assert (Channel.objects.get().status, Client.objects.get().name) == (
            "submitted",
            "Acme Bakery & Sons",
        )


@pytest.mark.django_db(transaction=True)
def test_a_key_stored_while_a_withdrawal_waited_for_the_channel_is_revoked(direct):
    """The query that locks the channel also says whether it holds a key, as its snapshot saw
    it; when it had to wait for the lock (a key was being stored), that answer is old. The
    withdrawal must revoke the key all the same."""
    applied_unqueued(direct, channel_event("channel_created"))
    applied_unqueued(direct, channel_event("channel_running"))
    withdrawn = stored_unqueued(direct, channel_event("channel_permission_revoked"))
    holding, release = threading.Event(), threading.Event()

    def store_a_key() -> None:  # as provisioning does: under the channel's lock
        try:
            with partner_scope(direct), transaction.atomic():
                channel = Channel.objects.select_for_update().get()
                ApiKeyFactory.create(channel=channel)
                holding.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    keeper = threading.Thread(target=store_a_key)
    keeper.start()
    outcome: list[str] = []

    def withdraw() -> None:
        try:
            with partner_scope(direct):
                outcome.append(webhook_event_process(partner=direct, event_pk=withdrawn))
        finally:
            connections.close_all()

    assert holding.wait(timeout=30)
    withdrawer = threading.Thread(target=withdraw)
    withdrawer.start()
    wait_for(lambda: backends_waiting_for_a_lock() == 1, what="the withdrawal to wait")
    release.set()
    keeper.join(timeout=30)
    withdrawer.join(timeout=30)

    assert outcome == [Status.PROCESSED]
    with partner_scope(direct):
        [key] = ApiKey.objects.all()
        assert (key.revoked_at is not None, key.revoked_reason) == (True, "permission withdrawn")


def test_a_batch_is_claimed_and_committed_once_for_all_its_events(partner):
    """What the relay sends: a task of several events, applied in one transaction: one claim
    for all, then four statements per lifecycle step (under 6 per event from 2 on)."""
    linked(partner)
    ids = [f"batch{n}" for n in range(5)]
    for channel_id in ids:
        applied(partner, channel_event("channel_created", channel_id=channel_id))
    events = [store(partner, channel_event("channel_submitted", channel_id=c)) for c in ids]

    with partner_scope(partner), CaptureQueriesContext(connection) as queries:
        outcomes = webhook_events_process(partner=partner, event_pks=events)

    sql = [query["sql"] for query in queries.captured_queries]
    assert outcomes == {Status.PROCESSED: 5}
    # The transaction's two (a savepoint inside the test's transaction), the claim, and per
    # event: load and lock the channel, timeline entry, outbox row, channel update.
    assert len(sql) == 2 + 1 + 4 * 5
    assert shape(sql[1]) == "UPDATE webhooks_webhookevent" and "ANY" in sql[1]
    with partner_scope(partner):
        assert set(Channel.objects.values_list("status", flat=True)) == {"submitted"}


@pytest.mark.django_db(transaction=True)
def test_a_batch_bringing_channels_to_running_queues_one_task_for_their_keys(partner, monkeypatch):
    sent: list[tuple[object, ...]] = []
    monkeypatch.setattr("portal.queueing.enqueue", lambda name, *args: sent.append((name, *args)))
    linked(partner)
    ids = [f"batch{n}" for n in range(3)]
    for channel_id in ids:
        for event in ("channel_created", "channel_submitted", "channel_ready"):
            applied(partner, channel_event(event, channel_id=channel_id))
    events = [store(partner, channel_event("channel_running", channel_id=c)) for c in ids]
    sent.clear()

    with partner_task_scope(partner.pk) as scoped:  # as the task runs it
        webhook_events_process(partner=scoped, event_pks=events)
        assert sent == []  # gathered until the task ends

    with partner_scope(partner):
        channels = Channel.objects.filter(hub_channel_id__in=ids).order_by("hub_channel_id")
        channel_pks = list(channels.values_list("pk", flat=True))
    assert [call for call in sent if call[0] == "channels.provision_api_keys"] == [
        ("channels.provision_api_keys", partner.pk, channel_pks)
    ]


def test_a_failing_event_fails_alone_and_its_batch_is_applied_one_by_one(partner):
    linked(partner)
    applied(partner, channel_event("channel_created", channel_id="known1"))
    good = store(partner, channel_event("channel_submitted", channel_id="known1"))
    ahead = store(
        partner, {"id": "n1", "event": "account_violation", "data": {"channel_id": "later1"}}
    )
    done = store(partner, channel_event("channel_created", channel_id="known2"))
    with partner_scope(partner):
        assert webhook_event_process(partner=partner, event_pk=done) == Status.PROCESSED

        outcomes = webhook_events_process(partner=partner, event_pks=[good, ahead, done])

        rows = dict(WebhookEvent.objects.values_list("pk", "attempts"))
        statuses = dict(WebhookEvent.objects.values_list("pk", "status"))
        changes = list(
            TimelineEntry.objects.filter(kind=TimelineEntry.Kind.STATUS).values_list(
                "data__status", flat=True
            )
        )
    assert outcomes == {Status.PROCESSED: 2, Status.FAILED: 1}
    assert (statuses[good], statuses[ahead], statuses[done]) == ("processed", "failed", "processed")
    assert (rows[good], rows[ahead], rows[done]) == (1, 1, 1)  # the rolled-back try left no trace
    assert changes == ["submitted"]  # applied once, though its batch was tried first
