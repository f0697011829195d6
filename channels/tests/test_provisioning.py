"""Exactly one live API key per channel, against the hub simulator over real sockets."""

from __future__ import annotations

import hashlib
import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from channels.models import ApiKey, Channel, PartnerApiCall
from channels.provisioning import (
    Outcome,
    channel_api_key_provision,
    channel_api_key_retry,
    channel_api_key_rotate,
)
from channels.tasks import provision_api_key
from channels.tests.factories import ChannelFactory
from clients.models import Client, Notification, Onboarding, TimelineEntry
from clients.tests.factories import ClientFactory, OnboardingFactory
from conftest import SIM_PARTNER_ID, wait_for, worker_idle
from dialog360.errors import ServerError
from portal.models import Partner
from portal.tenancy import partner_scope
from portal.tests.faults import DEADLOCK, database_refuses
from webhooks.services import webhook_event_process, webhook_receive
from webhooks.tests.helpers import body_of, channel_event

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("settled_worker")]
NUMBER = "4915112345678"


def sim_channel(hubsim, *, stop_at=None):
    """A client and channel at the simulator (no webhooks), walked to `stop_at` or live."""
    if stop_at:
        hubsim.faults(stop_at=stop_at)
    onboarded = hubsim.onboard(
        partner_id=SIM_PARTNER_ID, email="ada@acme.example", numbers=[NUMBER]
    )
    hubsim.wait_idle()
    return onboarded["client_id"], onboarded["channel_ids"][0]


def local_channel(partner, client_id, channel_id, *, status="running", permission="unknown"):
    client = ClientFactory.create(
        partner=partner, hub_client_id=client_id, email="ada@acme.example"
    )
    onboarding = OnboardingFactory.create(partner=partner, client=client, email="ada@acme.example")
    return ChannelFactory.create(
        client=client,
        onboarding=onboarding,
        hub_channel_id=channel_id,
        phone_number=NUMBER,
        status=status,
        permission=permission,
    )


def provision(partner, channel) -> Outcome:
    with partner_scope(partner):
        return channel_api_key_provision(partner=partner, channel_id=channel.pk)


def fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def creates(hubsim) -> int:
    return sum(call["operation"] == "create_api_key" for call in hubsim.state()["api_calls"])


@pytest.fixture
def partner(connect_partner, transactional_db):
    partner = connect_partner()
    with partner_scope(partner):  # the test's own queries
        yield partner


def test_a_running_channel_gets_its_key_stored_encrypted(hubsim, partner):
    channel = local_channel(partner, *sim_channel(hubsim))

    assert provision(partner, channel) == Outcome.CREATED

    current = hubsim.channel(channel.hub_channel_id)["current_key"]
    with partner_scope(partner):
        [key] = ApiKey.objects.all()
        onboarding = Onboarding.objects.get()
        notification = Notification.objects.get()
        messages = list(
            TimelineEntry.objects.filter(kind=TimelineEntry.Kind.API_KEY).values_list(
                "message", flat=True
            )
        )
    assert fingerprint(key.key) == key.fingerprint == current["fingerprint"]
    assert (key.last4, key.hub_key_id) == (current["last4"], current["id"])
    assert key.address == "https://waba-v2.360dialog.io"
    assert onboarding.status == Onboarding.Status.LIVE
    assert messages == [f"API key for +{NUMBER} created (…{key.last4}, {key.fingerprint})."]
    assert notification.kind == Notification.Kind.KEY_READY
    assert notification.recipients == ["ada@acme.example"]

    def sent() -> bool:
        with partner_scope(partner):
            return Notification.objects.filter(pk=notification.pk, sent_at__isnull=False).exists()

    wait_for(sent, what="the e-mail, sent by the worker")


def test_a_second_trigger_creates_nothing(hubsim, partner):
    channel = local_channel(partner, *sim_channel(hubsim))
    provision(partner, channel)

    assert provision(partner, channel) == Outcome.EXISTS
    assert hubsim.channel(channel.hub_channel_id)["keys_created"] == 1


def test_twenty_concurrent_triggers_create_exactly_one_key(hubsim, partner):
    channel = local_channel(partner, *sim_channel(hubsim))
    outcomes: list[Outcome] = []
    start = threading.Barrier(20)

    def trigger():
        from django.db import connection

        start.wait()
        try:
            outcomes.append(provision(partner, channel))
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == sorted([Outcome.CREATED] + [Outcome.EXISTS] * 19)
    assert hubsim.channel(channel.hub_channel_id)["keys_created"] == 1
    assert creates(hubsim) == 1
    with partner_scope(partner):
        assert ApiKey.objects.count() == 1


def test_twenty_tasks_on_the_worker_create_exactly_one_key(hubsim, partner):
    channel = local_channel(partner, *sim_channel(hubsim))

    results = [
        provision_api_key.apply_async((partner.pk, channel.pk), ignore_result=False)
        for _ in range(20)
    ]

    outcomes = [result.get(timeout=60) for result in results]
    assert sorted(outcomes) == sorted([Outcome.CREATED] + [Outcome.EXISTS] * 19)
    assert hubsim.channel(channel.hub_channel_id)["keys_created"] == 1


def test_server_errors_twice_then_success_through_the_worker(hubsim, partner):
    channel = local_channel(partner, *sim_channel(hubsim))
    hubsim.faults(api_errors=[500, 503], api_errors_for="create_api_key")

    provision_api_key.delay(partner.pk, channel.pk)

    wait_for(lambda: ApiKey.objects.filter(channel=channel).exists(), what="the key")
    assert creates(hubsim) == 3
    assert hubsim.channel(channel.hub_channel_id)["keys_created"] == 1
    assert (
        hubsim.channel(channel.hub_channel_id)["current_key"]["fingerprint"]
        == ApiKey.objects.get(channel=channel).fingerprint
    )


def test_a_client_error_is_final_and_visible(hubsim, partner):
    channel = local_channel(partner, *sim_channel(hubsim))
    hubsim.faults(api_errors=[400], api_errors_for="create_api_key")

    provision_api_key.delay(partner.pk, channel.pk)

    wait_for(
        lambda: Channel.objects.filter(pk=channel.pk).exclude(api_key_error="").exists(),
        what="the failure",
    )
    channel.refresh_from_db()
    assert channel.api_key_error == "create_api_key: HTTP 400: Simulated error 400"
    assert creates(hubsim) == 1  # no retry
    with partner_scope(partner):
        onboarding = Onboarding.objects.get()
        assert onboarding.status == Onboarding.Status.FAILED
        assert Notification.objects.get().kind == Notification.Kind.ONBOARDING_FAILED
        assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.ERROR).count() == 1
        assert ApiKey.objects.count() == 0


def test_a_retryable_error_propagates_and_stores_nothing(hubsim, partner):
    channel = local_channel(partner, *sim_channel(hubsim))
    hubsim.faults(api_errors=[502], api_errors_for="create_api_key")

    with pytest.raises(ServerError):
        provision(partner, channel)

    with partner_scope(partner):
        assert ApiKey.objects.count() == 0
    assert Channel.objects.get(pk=channel.pk).api_key_error == ""


def test_the_simulator_must_agree_the_channel_runs(hubsim, partner):
    channel = local_channel(partner, *sim_channel(hubsim, stop_at="ready"), status="running")

    assert provision(partner, channel) == Outcome.NOT_ELIGIBLE
    assert creates(hubsim) == 0


def test_a_live_channel_at_the_simulator_moves_ours_forward(hubsim, partner):
    channel = local_channel(partner, *sim_channel(hubsim), status="running")

    provision(partner, channel)

    assert Channel.objects.get(pk=channel.pk).status == "live"


def test_direct_payment_needs_permission(hubsim, partner):
    Partner.objects.filter(pk=partner.pk).update(payment_mode=Partner.PaymentMode.DIRECT)
    hubsim.partner(partner_id=SIM_PARTNER_ID, payment_mode="direct")
    partner.refresh_from_db()
    client_id, channel_id = sim_channel(hubsim)
    hubsim.permission(channel_id, granted=False)
    channel = local_channel(partner, client_id, channel_id, permission="unknown")

    assert provision(partner, channel) == Outcome.NOT_ELIGIBLE  # no permission here
    Channel.objects.filter(pk=channel.pk).update(permission="granted")
    assert provision(partner, channel) == Outcome.NOT_ELIGIBLE  # withdrawn at 360Dialog
    assert Channel.objects.get(pk=channel.pk).permission == "revoked"

    hubsim.permission(channel_id, granted=True)
    Channel.objects.filter(pk=channel.pk).update(permission="granted")
    assert provision(partner, channel) == Outcome.CREATED
    assert creates(hubsim) == 1


def test_rotation_replaces_the_key(hubsim, partner):
    channel = local_channel(partner, *sim_channel(hubsim))
    provision(partner, channel)

    with partner_scope(partner):
        assert (
            channel_api_key_rotate(partner=partner, channel_id=channel.pk, by="ada")
            == Outcome.CREATED
        )
        keys = list(ApiKey.objects.order_by("created_at"))

    assert [key.revoked_reason for key in keys] == ["rotated by ada", ""]
    state = hubsim.channel(channel.hub_channel_id)
    assert state["keys_created"] == 2
    assert state["current_key"]["fingerprint"] == keys[1].fingerprint


def test_backoff_honours_retry_after(settings):
    from portal.backoff import backoff_seconds

    settings.RETRY_BACKOFF_SECONDS = 1.0
    first = [backoff_seconds(1) for _ in range(200)]
    fourth = [backoff_seconds(4) for _ in range(200)]

    assert all(0.5 <= value <= 1.0 for value in first)
    assert all(4.0 <= value <= 8.0 for value in fourth)
    assert len(set(first)) > 1  # jittered
    assert backoff_seconds(1, at_least=30) == 30
    assert 15 * 60.0 <= backoff_seconds(30) <= 30 * 60.0  # capped


def test_provisioning_locks_the_channel_and_not_its_client(hubsim, partner):
    """Webhook processing locks a client, then its channel; provisioning must not hold the
    client's row (it did, through select_related, and deadlocked against it)."""
    channel = local_channel(partner, *sim_channel(hubsim))
    hubsim.faults(api_delay=1.5)  # the Partner API answers slowly: the lock is held meanwhile
    outcomes: list[Outcome] = []

    def run() -> None:
        from django.db import connection

        try:
            outcomes.append(provision(partner, channel))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        wait_for(lambda: row_locked(Channel, channel.pk), what="provisioning to lock the channel")
        assert row_locked(Client, channel.client_id) is False
    finally:
        thread.join()
    assert outcomes == [Outcome.CREATED]


def row_locked(model, pk) -> bool:
    from django.db import OperationalError, transaction

    try:
        with transaction.atomic():
            model.objects.select_for_update(nowait=True).filter(pk=pk).exists()
    except OperationalError:
        return True
    return False


def test_a_key_whose_storing_failed_is_replaced_by_the_retry_and_recorded(hubsim, partner):
    """360Dialog answered 201, then PostgreSQL refused the key's row (a deadlock): the task
    retries, finds the key it never stored, and the key it stores is 360Dialog's current one."""
    channel = local_channel(partner, *sim_channel(hubsim))

    with database_refuses("channels_apikey", sqlstate=DEADLOCK, on="INSERT", times=1):
        provision_api_key.delay(partner.pk, channel.pk)
        wait_for(lambda: ApiKey.objects.filter(channel=channel).exists(), what="the key")

    state = hubsim.channel(channel.hub_channel_id)
    [key] = ApiKey.objects.filter(channel=channel)
    assert state["keys_created"] == 2
    assert state["current_key"]["fingerprint"] == key.fingerprint
    [lost] = [k for k in state["keys"] if k["id"] != key.hub_key_id]
    assert [
        message
        for message in timeline(partner)
        if "never stored" in message or "storing it failed" in message
    ] == [
        f"360Dialog created key {lost['id']} for +{NUMBER}, but storing it failed "
        "(OperationalError); the next attempt replaces it.",
        f"360Dialog holds 1 key(s) for +{NUMBER} that the portal never stored (an earlier "
        "attempt's answer was lost); the new key replaces them.",
    ]


def timeline(partner) -> list[str]:
    with partner_scope(partner):
        return list(TimelineEntry.objects.order_by("pk").values_list("message", flat=True))


def test_a_final_error_stays_final_through_later_webhooks(hubsim, partner, settled_worker):
    """A 403 on create, then 360Dialog's webhooks about the same channel: no second attempt,
    so no "ready" mail a second after "needs attention"."""
    client_id, channel_id = sim_channel(hubsim)
    channel = local_channel(partner, client_id, channel_id)
    hubsim.faults(api_errors=[403], api_errors_for="create_api_key")
    assert provision(partner, channel) == Outcome.FAILED

    for n, event in enumerate(("channel_running", "channel_running", "channel_live")):
        payload = channel_event(event, channel_id=channel_id, event_id=f"later{n}")
        payload["data"]["client_id"] = client_id
        received = webhook_receive(partner=partner, body=body_of(payload), headers={})
        assert received.event_pk is not None
        assert webhook_event_process(partner=partner, event_pk=received.event_pk) == "processed"
    wait_for(lambda: worker_idle(settled_worker.node), what="the worker to finish")

    channel.refresh_from_db()
    assert channel.status == "live"
    assert channel.api_key_error == "create_api_key: HTTP 403: Simulated error 403"
    assert creates(hubsim) == 1
    assert ApiKey.objects.count() == 0
    assert list(Notification.objects.values_list("kind", flat=True)) == [
        Notification.Kind.ONBOARDING_FAILED
    ]


def test_a_manager_retry_after_a_final_error_creates_the_key(hubsim, partner):
    channel = local_channel(partner, *sim_channel(hubsim))
    hubsim.faults(api_errors=[403], api_errors_for="create_api_key")
    assert provision(partner, channel) == Outcome.FAILED
    assert provision(partner, channel) == Outcome.FAILED  # final: nothing asked of 360Dialog

    assert channel_api_key_retry(channel_id=channel.pk, by="ada") is True

    wait_for(lambda: ApiKey.objects.filter(channel=channel).exists(), what="the key")
    assert creates(hubsim) == 2
    assert Channel.objects.get(pk=channel.pk).api_key_error == ""
    assert "Trying the API key for +4915112345678 again (retried by ada)." in timeline(partner)


@pytest.mark.django_db(transaction=True, databases=["default", "partner_api_calls"])
def test_a_first_key_costs_its_statements_and_one_write_of_its_call_records(hubsim, partner):
    channel = local_channel(partner, *sim_channel(hubsim))

    with (
        CaptureQueriesContext(connection) as main,
        CaptureQueriesContext(connections["partner_api_calls"]) as records,
    ):
        assert provision(partner, channel) == Outcome.CREATED

    # BEGIN; the channel locked; whether it holds a key (none: nothing to revoke); 360Dialog's
    # "live" taken over (3); the key, its domain event and timeline entry; the mail (its
    # managers, and 3 for the insert in a savepoint); the onboarding's channels counted, its
    # status, entry and event (its client was loaded with the channel); COMMIT. No "unknown
    # keys" query: 360Dialog listed none.
    assert len(main.captured_queries) == 18
    # The three calls' rows: one INSERT, one commit (there were three of each).
    statements = [query["sql"].split(" ", 2)[:2] for query in records.captured_queries]
    assert statements == [["BEGIN"], ["INSERT", "INTO"], ["COMMIT"]]
    with partner_scope(partner):
        calls = list(
            PartnerApiCall.objects.using("partner_api_calls")
            .order_by("at")
            .values_list("operation", "outcome", "channel_id")
        )
    assert calls == [
        ("list_channels", "200", channel.pk),
        ("list_api_keys", "200", channel.pk),
        ("create_api_key", "201", channel.pk),
    ]
