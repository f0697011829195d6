"""Reconciliation against the simulator: what the webhooks missed is applied and recorded."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from channels.models import ApiKey, Channel
from channels.reconcile import onboarding_check, partner_reconcile
from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.models import Client, Notification, Onboarding, TimelineEntry
from clients.proof import onboarding_link_code
from clients.tests.factories import ClientFactory, OnboardingFactory
from conftest import SIM_PARTNER_ID, wait_for
from portal.models import Partner
from portal.tenancy import partner_scope
from portal.tests.faults import database_refuses

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("settled_worker")]
NUMBERS = ["4915112345678", "4915187654321"]


@pytest.fixture
def partner(connect_partner, hubsim, transactional_db):
    hubsim.faults(drop_events=["*"])  # 360Dialog's webhooks never arrive
    partner = connect_partner()
    with partner_scope(partner):
        yield partner


def onboard(hubsim, numbers=NUMBERS):
    onboarded = hubsim.onboard(
        partner_id=SIM_PARTNER_ID, email="ada@acme.example", name="Ada", numbers=numbers
    )
    hubsim.wait_idle()
    return onboarded


def corrections() -> list[str]:
    return list(
        TimelineEntry.objects.filter(kind=TimelineEntry.Kind.CORRECTION)
        .order_by("pk")
        .values_list("message", flat=True)
    )


def test_channels_missed_entirely_are_imported_and_get_their_keys(partner, hubsim):
    onboarded = onboard(hubsim)

    result = partner_reconcile(partner=partner)

    assert result.as_dict() == {
        "clients": 1,
        "channels": 2,
        "corrections": 2,
        "provisioning": 2,
        "failed": 0,
    }
    assert Client.objects.get().hub_client_id == onboarded["client_id"]
    assert sorted(corrections()) == sorted(
        f"Reconciliation: +{number} unknown to the portal → live (a webhook was missed)."
        for number in NUMBERS
    )
    wait_for(lambda: ApiKey.objects.count() == 2, what="both keys")
    for channel_id in onboarded["channel_ids"]:
        assert hubsim.channel(channel_id)["keys_created"] == 1


def test_a_status_behind_360dialog_moves_forward(partner, hubsim):
    onboarded = onboard(hubsim, numbers=NUMBERS[:1])
    client = ClientFactory.create(partner=partner, hub_client_id=onboarded["client_id"])
    onboarding = OnboardingFactory.create(partner=partner, client=client)
    ChannelFactory.create(
        client=client,
        onboarding=onboarding,
        hub_channel_id=onboarded["channel_ids"][0],
        phone_number=NUMBERS[0],
        status="ready",
    )

    partner_reconcile(partner=partner)

    assert Channel.objects.get().status == "live"
    assert corrections() == [f"Reconciliation: +{NUMBERS[0]} ready → live (a webhook was missed)."]


def test_a_second_run_changes_nothing(partner, hubsim):
    onboard(hubsim)
    partner_reconcile(partner=partner)
    wait_for(lambda: ApiKey.objects.count() == 2, what="both keys")

    result = partner_reconcile(partner=partner)

    assert (result.corrections, result.provisioning) == (0, 0)
    assert len(corrections()) == 2


def test_withdrawn_permission_is_picked_up_on_direct_payment(
    connect_partner, hubsim, transactional_db
):
    hubsim.faults(drop_events=["*"])
    partner = connect_partner(payment_mode=Partner.PaymentMode.DIRECT)
    with partner_scope(partner):
        onboarded = onboard(hubsim, numbers=NUMBERS[:1])
        client = ClientFactory.create(partner=partner, hub_client_id=onboarded["client_id"])
        channel = ChannelFactory.create(
            client=client,
            onboarding=OnboardingFactory.create(partner=partner, client=client),
            hub_channel_id=onboarded["channel_ids"][0],
            phone_number=NUMBERS[0],
            status="live",
            permission="granted",
        )
        ApiKeyFactory.create(channel=channel)
        hubsim.permission(channel.hub_channel_id, granted=False)

        result = partner_reconcile(partner=partner)

        channel.refresh_from_db()
        assert channel.permission == "revoked"
        assert ApiKey.objects.get().revoked_reason == "permission withdrawn"
        assert result.corrections == 1


def test_the_command_reports_each_partner(partner, hubsim):
    onboard(hubsim)
    out = StringIO()

    call_command("reconcile", "--partner", partner.slug, stdout=out)

    assert out.getvalue() == (
        f"{partner.slug}: 1 clients, 2 channels, 2 corrections, 2 keys queued\n"
    )
    wait_for(lambda: ApiKey.objects.count() == 2, what="both keys")


def test_the_command_names_what_failed(partner, hubsim):
    hubsim.faults(api_errors=[503])
    err = StringIO()

    with pytest.raises(CommandError, match="reconciliation failed for at least one partner"):
        call_command("reconcile", "--partner", partner.slug, stderr=err)

    assert err.getvalue() == f"{partner.slug}: list_clients: HTTP 503: Simulated error 503\n"


def test_an_over_long_name_at_360dialog_is_fitted_and_reconciliation_completes(partner, hubsim):
    onboarded = hubsim.onboard(
        partner_id=SIM_PARTNER_ID, email="ada@acme.example", name="x" * 250, numbers=NUMBERS
    )
    hubsim.wait_idle()

    result = partner_reconcile(partner=partner)

    assert (result.clients, result.channels, result.failures) == (1, 2, [])
    assert Client.objects.get(hub_client_id=onboarded["client_id"]).name == "x" * 200
    wait_for(lambda: ApiKey.objects.count() == 2, what="both keys")


def test_a_channel_that_cannot_be_stored_is_skipped_and_reported(partner, hubsim):
    onboarded = onboard(hubsim)
    refused, accepted = onboarded["channel_ids"]
    out, err = StringIO(), StringIO()

    with (
        database_refuses("channels_channel", when=f"NEW.hub_channel_id = '{refused}'"),
        pytest.raises(CommandError, match="reconciliation failed for at least one partner"),
    ):
        call_command("reconcile", "--partner", partner.slug, stdout=out, stderr=err)

    assert out.getvalue() == (
        f"{partner.slug}: 1 clients, 1 channels, 1 corrections, 1 keys queued, 1 failed\n"
    )
    assert err.getvalue().startswith(
        f"{partner.slug}: skipped channel {refused}: DataError: refused by the test"
    )
    assert list(Channel.objects.values_list("hub_channel_id", flat=True)) == [accepted]
    wait_for(lambda: ApiKey.objects.count() == 1, what="the other channel's key")


def test_the_command_refuses_an_unknown_partner(partner):
    with pytest.raises(CommandError, match="--partner: no partner with slug 'nope'"):
        call_command("reconcile", "--partner", "nope")


def returned_onboarding(partner, client_id, channel_ids=()):
    onboarding = OnboardingFactory.create(partner=partner)
    onboarding.return_data = {"client": client_id, "channels": list(channel_ids), "revoked": []}
    onboarding.save()
    return onboarding


def test_a_return_is_linked_once_the_partner_api_confirms_it(partner, hubsim):
    onboarding = returned_onboarding(partner, "")
    onboarded = hubsim.onboard(
        partner_id=SIM_PARTNER_ID,
        email="ada@acme.example",
        numbers=NUMBERS[:1],
        partner_payload=onboarding_link_code(onboarding),
    )
    hubsim.wait_idle()
    onboarding.return_data = {"client": onboarded["client_id"], "channels": [], "revoked": []}
    onboarding.save()

    onboarding_check(partner=partner, onboarding_id=onboarding.pk)

    onboarding.refresh_from_db()
    assert onboarding.verified is True
    assert onboarding.client is not None
    assert onboarding.client.hub_client_id == onboarded["client_id"]
    assert list(Channel.objects.values_list("onboarding_id", flat=True)) == [onboarding.pk]
    wait_for(lambda: ApiKey.objects.count() == 1, what="the key")


def test_a_return_naming_another_onboardings_client_is_not_linked(partner, hubsim):
    onboarded = onboard(hubsim, numbers=NUMBERS[:1])
    victim = ClientFactory.create(partner=partner, hub_client_id=onboarded["client_id"])
    victims_onboarding = OnboardingFactory.create(partner=partner, client=victim)
    channel = ChannelFactory.create(
        client=victim,
        onboarding=victims_onboarding,
        hub_channel_id=onboarded["channel_ids"][0],
        phone_number=NUMBERS[0],
        status="live",
    )
    attacker = returned_onboarding(partner, onboarded["client_id"], onboarded["channel_ids"])

    onboarding_check(partner=partner, onboarding_id=attacker.pk)

    attacker.refresh_from_db()
    channel.refresh_from_db()
    assert attacker.client is None
    assert channel.onboarding_id == victims_onboarding.pk
    # The page says the number is already connected (nothing of it is shown), and the
    # console flags it at once.
    assert attacker.dead_end == Onboarding.DeadEnd.NUMBER_ELSEWHERE
    assert list(
        TimelineEntry.objects.filter(
            onboarding=attacker, kind=TimelineEntry.Kind.ERROR
        ).values_list("message", flat=True)
    ) == [elsewhere(onboarded["client_id"], victims_onboarding)]


def elsewhere(client_id, other):
    return (
        f"The return names client {client_id}, whose numbers are already connected through "
        f"onboarding {other.public_id}: not linked. The client's page says the number is "
        "already connected; get in touch with the client."
    )


def claim(client_id, how="with our link"):
    return (
        f"The return ({how}) names client {client_id}, but 360Dialog does not say that client "
        "signed up through this onboarding: not linked, nothing shown or sent. An account "
        "manager can review the claim."
    )


@pytest.mark.parametrize("verified", [True, False], ids=["with our token", "without a token"])
def test_a_return_naming_a_client_known_only_from_webhooks_does_not_claim_it(
    partner, hubsim, verified
):
    """A client that started at 360Dialog directly has only a stand-in onboarding; a return
    naming its id (a client id is not a secret) must not take it over."""
    onboarded = onboard(hubsim, numbers=NUMBERS[:1])
    victim = ClientFactory.create(
        partner=partner, hub_client_id=onboarded["client_id"], email="ada@acme.example"
    )
    stand_in = OnboardingFactory.create(partner=partner, client=victim, started_by_webhook=True)
    channel = ChannelFactory.create(
        client=victim,
        onboarding=stand_in,
        hub_channel_id=onboarded["channel_ids"][0],
        phone_number=NUMBERS[0],
        status="live",
    )
    visitor = returned_onboarding(partner, onboarded["client_id"], onboarded["channel_ids"])
    visitor.verified = verified
    visitor.save()

    assert onboarding_check(partner=partner, onboarding_id=visitor.pk) == 0

    visitor.refresh_from_db()
    channel.refresh_from_db()
    assert (visitor.client, visitor.status) == (None, "started")
    assert Onboarding.objects.filter(pk=stand_in.pk).exists()
    assert channel.onboarding_id == stand_in.pk
    assert Notification.objects.filter(onboarding=visitor).count() == 0
    # With our token the visitor's page says the number is already connected (and shows
    # nothing of it); without, it is only a claim.
    expected = (
        elsewhere(onboarded["client_id"], stand_in)
        if verified
        else claim(onboarded["client_id"], "without our link")
    )
    assert list(
        TimelineEntry.objects.filter(onboarding=visitor, kind=TimelineEntry.Kind.ERROR).values_list(
            "message", flat=True
        )
    ) == [expected]


def test_a_return_naming_a_client_360dialog_does_not_know_is_not_trusted(partner, hubsim):
    onboarding = returned_onboarding(partner, "ghostCL")

    assert onboarding_check(partner=partner, onboarding_id=onboarding.pk) == 0

    onboarding.refresh_from_db()
    assert onboarding.client is None
    assert Client.objects.count() == 0


@pytest.mark.parametrize("withdrawn_at_360dialog", [True, False], ids=["withdrawn", "still shared"])
def test_a_withdrawal_on_any_return_takes_the_key_out_of_use_once_360dialog_confirms(
    connect_partner, hubsim, transactional_db, withdrawn_at_360dialog
):
    """`revoked=[...]` on a return through the global redirect URL (no token of ours, nothing
    proven): the key goes out of use at once, not at the next reconciliation, but only when
    the Partner API's shared numbers no longer include the number."""
    hubsim.faults(drop_events=["*"])
    partner = connect_partner(payment_mode=Partner.PaymentMode.DIRECT)
    with partner_scope(partner):
        onboarded = onboard(hubsim, numbers=NUMBERS[:1])
        client = ClientFactory.create(partner=partner, hub_client_id=onboarded["client_id"])
        own = OnboardingFactory.create(partner=partner, client=client)
        channel = ChannelFactory.create(
            client=client,
            onboarding=own,
            hub_channel_id=onboarded["channel_ids"][0],
            phone_number=NUMBERS[0],
            status="live",
            permission="granted",
        )
        ApiKeyFactory.create(channel=channel)
        if withdrawn_at_360dialog:
            hubsim.permission(channel.hub_channel_id, granted=False)
        visit = returned_onboarding(partner, onboarded["client_id"])
        visit.verified = False
        visit.return_data["revoked"] = [channel.hub_channel_id]
        visit.save()

        onboarding_check(partner=partner, onboarding_id=visit.pk)

        channel.refresh_from_db()
        key = ApiKey.objects.get()
        visit.refresh_from_db()
        assert visit.client is None  # nothing linked or granted by the return itself
        if withdrawn_at_360dialog:
            assert (channel.permission, key.revoked_reason) == ("revoked", "permission withdrawn")
            assert list(
                TimelineEntry.objects.filter(
                    onboarding=own, kind=TimelineEntry.Kind.PERMISSION
                ).values_list("message", flat=True)
            ) == [
                f"Permission for +{NUMBERS[0]} withdrawn (withdrawn on 360Dialog's permission "
                "page, confirmed by the Partner API)."
            ]
        else:
            assert (channel.permission, key.revoked_at) == ("granted", None)
