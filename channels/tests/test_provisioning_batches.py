"""Keys for several channels in one run (channels.provision_api_keys), against the hub simulator
over real sockets and through the real worker."""

from __future__ import annotations

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from channels.models import ApiKey, Channel, PartnerApiCall
from channels.provisioning import KeysRun, Outcome, channel_api_keys_provision
from channels.tasks import provision_api_keys
from channels.tests.factories import ChannelFactory
from channels.tests.test_provisioning import creates
from clients.models import Notification
from clients.tests.factories import ClientFactory, OnboardingFactory
from conftest import SIM_PARTNER_ID, wait_for
from dialog360.errors import RateLimitedError, ServerError
from portal.tenancy import partner_scope

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("settled_worker")]


@pytest.fixture
def partner(connect_partner, transactional_db):
    partner = connect_partner()
    with partner_scope(partner):  # the test's own queries
        yield partner


def running_channels(hubsim, partner, count: int) -> list[Channel]:
    """`count` clients at the simulator with a live number each, and their channels here,
    running, without a key."""
    channels = []
    for n in range(count):
        number = f"49151123456{n:02d}"
        onboarded = hubsim.onboard(
            partner_id=SIM_PARTNER_ID, email=f"owner{n}@acme.example", numbers=[number]
        )
        client = ClientFactory.create(
            partner=partner, hub_client_id=onboarded["client_id"], email=f"owner{n}@acme.example"
        )
        onboarding = OnboardingFactory.create(
            partner=partner, client=client, email=f"owner{n}@acme.example"
        )
        channels.append(
            ChannelFactory.create(
                client=client,
                onboarding=onboarding,
                hub_channel_id=onboarded["channel_ids"][0],
                phone_number=number,
                status="running",
            )
        )
    hubsim.wait_idle()
    return channels


def run(partner, channels: list[Channel], *, seconds: float = 60.0) -> KeysRun:
    with partner_scope(partner):
        return channel_api_keys_provision(
            partner=partner, channel_ids=[channel.pk for channel in channels], seconds=seconds
        )


def keys_at_the_simulator(hubsim, channels: list[Channel]) -> list[int]:
    return [hubsim.channel(channel.hub_channel_id)["keys_created"] for channel in channels]


@pytest.mark.django_db(transaction=True, databases=["default", "partner_api_calls"])
def test_a_run_gives_each_channel_its_key_and_writes_the_call_records_once(hubsim, partner):
    channels = running_channels(hubsim, partner, 3)

    with CaptureQueriesContext(connections["partner_api_calls"]) as records:
        done = run(partner, channels)

    assert done == KeysRun(outcomes={channel.pk: Outcome.CREATED for channel in channels})
    assert keys_at_the_simulator(hubsim, channels) == [1, 1, 1]
    for channel in channels:
        current = hubsim.channel(channel.hub_channel_id)["current_key"]["fingerprint"]
        assert ApiKey.objects.get(channel=channel, revoked_at=None).fingerprint == current
    statements = [query["sql"].split(" ", 2)[:2] for query in records.captured_queries]
    assert statements == [["BEGIN"], ["INSERT", "INTO"], ["COMMIT"]]
    # Each call is recorded for the channel it was made for.
    calls = list(
        PartnerApiCall.objects.using("partner_api_calls")
        .order_by("at")
        .values_list("channel_id", "operation")
    )
    assert calls == [
        (channel.pk, operation)
        for channel in channels
        for operation in ("list_channels", "list_api_keys", "create_api_key")
    ]


def test_a_run_asks_for_the_partner_s_managers_once(hubsim, partner):
    """Each key costs the statements of a single one (18, pinned in test_provisioning) except
    the managers' addresses for its mail, read once per run."""
    channels = running_channels(hubsim, partner, 3)

    with CaptureQueriesContext(connection) as main:
        run(partner, channels)

    managers = [query for query in main.captured_queries if '"auth_user"' in query["sql"]]
    assert (len(main.captured_queries), len(managers)) == (18 + 17 + 17, 1)


def test_a_server_error_fails_its_channel_and_the_run_goes_on(hubsim, partner):
    channels = running_channels(hubsim, partner, 3)
    hubsim.faults(api_errors=[502], api_errors_for="create_api_key")

    done = run(partner, channels)

    first, *others = channels
    assert done.outcomes == {channel.pk: Outcome.CREATED for channel in others}
    assert list(done.failed) == [first.pk]
    assert isinstance(done.failed[first.pk], ServerError)
    assert done.left == []
    assert keys_at_the_simulator(hubsim, channels) == [0, 1, 1]
    first.refresh_from_db()
    assert first.api_key_error == ""  # not final: the task retries it


def test_a_rate_limit_stops_the_run_and_fails_every_channel_from_there(hubsim, partner):
    channels = running_channels(hubsim, partner, 3)
    hubsim.faults(api_errors=[429], api_errors_for="list_api_keys")

    done = run(partner, channels)

    assert done.outcomes == {}
    assert list(done.failed) == [channel.pk for channel in channels]
    assert [type(error) for error in done.failed.values()] == [RateLimitedError] * 3
    assert creates(hubsim) == 0


def test_channels_there_is_no_time_for_are_left_untouched(hubsim, partner):
    channels = running_channels(hubsim, partner, 2)

    done = run(partner, channels, seconds=0)

    assert done == KeysRun(left=[channel.pk for channel in channels])
    assert hubsim.state()["api_calls"] == []


def test_a_deleted_channel_is_gone_and_the_others_get_their_keys(hubsim, partner):
    channels = running_channels(hubsim, partner, 2)
    deleted_pk = channels[0].pk
    channels[0].delete()

    with partner_scope(partner):
        done = channel_api_keys_provision(
            partner=partner, channel_ids=[deleted_pk, channels[1].pk], seconds=60
        )

    assert done.outcomes == {deleted_pk: Outcome.GONE, channels[1].pk: Outcome.CREATED}


def test_the_worker_retries_the_failed_channel_and_sends_the_mails_together(hubsim, partner):
    channels = running_channels(hubsim, partner, 3)
    hubsim.faults(api_errors=[500], api_errors_for="create_api_key")

    provision_api_keys.delay(partner.pk, [channel.pk for channel in channels])

    wait_for(lambda: ApiKey.objects.count() == 3, what="three keys")
    assert keys_at_the_simulator(hubsim, channels) == [1, 1, 1]
    assert creates(hubsim) == 4  # the failed create, then one per channel
    wait_for(lambda: not Notification.objects.filter(sent_at=None).exists(), what="the mails sent")
    assert (
        sorted(Notification.objects.values_list("kind", flat=True))
        == [Notification.Kind.KEY_READY] * 3
    )


def test_when_the_retries_are_used_up_each_failed_channel_is_given_up(hubsim, partner, settings):
    """The run after the last retry (run here, in this process, as the worker would run it):
    every channel that failed again is given up, recorded where the admin shows it, and no
    longer marked as waiting for a key."""
    settings.PARTNER_API_MAX_RETRIES = 2
    channels = running_channels(hubsim, partner, 2)
    hubsim.faults(api_errors=[503, 502], api_errors_for="list_channels")

    result = provision_api_keys.apply(
        args=(partner.pk, [channel.pk for channel in channels]), retries=2
    ).get()

    assert result == {"failed": 2, "left": 0}
    # Each with its own error.
    assert list(Channel.objects.order_by("pk").values_list("api_key_error", flat=True)) == [
        "gave up: list_channels: HTTP 503: Simulated error 503",
        "gave up: list_channels: HTTP 502: Simulated error 502",
    ]
    assert ApiKey.objects.count() == 0
    assert not Channel.objects.filter(key_requested_at__isnull=False).exists()
