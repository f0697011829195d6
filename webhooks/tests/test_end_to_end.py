"""The hub simulator sends real signed webhooks to the running portal; a real worker processes
them and provisions the key through the simulator's Partner API."""

from __future__ import annotations

import pytest

from channels.models import ApiKey, Channel
from clients.models import Notification, Onboarding
from conftest import SIM_PARTNER_ID, wait_for
from portal.models import Partner
from portal.tenancy import partner_scope
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("settled_worker")]
NUMBER = "4915112345678"


@pytest.fixture
def connect(connect_partner, live_server, hubsim):
    def connect(**values):
        partner = connect_partner(**values)
        url = f"{live_server.url}/webhooks/360dialog/{partner.webhook_token}/"
        hubsim.partner(partner_id=SIM_PARTNER_ID, webhook_url=url)
        return partner

    return connect


def onboard(hubsim):
    onboarded = hubsim.onboard(
        partner_id=SIM_PARTNER_ID, email="ada@acme.example", name="Ada", numbers=[NUMBER]
    )
    return onboarded["channel_ids"][0]


def settled(partner, hubsim, channel_id: str):
    """Wait until the simulator sent everything and the portal processed it and made the key."""
    hubsim.wait_idle()

    def done() -> bool:
        with partner_scope(partner):
            pending = WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).exists()
            keyed = ApiKey.objects.filter(
                channel__hub_channel_id=channel_id, revoked_at__isnull=True
            ).exists()
            live = Channel.objects.filter(hub_channel_id=channel_id, status="live").exists()
            sent = not Notification.objects.filter(sent_at__isnull=True).exists()
            return not pending and keyed and live and sent

    wait_for(done, timeout=60, what="the onboarding to settle")
    with partner_scope(partner):
        channel = Channel.objects.get(hub_channel_id=channel_id)
        key = ApiKey.objects.get(channel=channel, revoked_at__isnull=True)
        return {
            "status": channel.status,
            "phone": channel.phone_number,
            "permission": channel.permission,
            "key_fingerprint": key.fingerprint,
            "onboarding": Onboarding.objects.get().status,
            "notifications": list(Notification.objects.values_list("kind", flat=True)),
            "events": sorted(set(WebhookEvent.objects.values_list("status", flat=True))),
        }


def test_partner_payment_from_signup_to_a_live_key(connect, hubsim):
    partner = connect()
    channel_id = onboard(hubsim)

    state = settled(partner, hubsim, channel_id)

    sim = hubsim.channel(channel_id)
    assert sim["keys_created"] == 1
    assert state == {
        "status": "live",
        "phone": NUMBER,
        "permission": "unknown",
        "key_fingerprint": sim["current_key"]["fingerprint"],
        "onboarding": "live",
        "notifications": ["key_ready"],
        "events": ["processed"],
    }
    deliveries = hubsim.state()["deliveries"]
    assert len(deliveries) == 6
    assert {attempt["status"] for d in deliveries for attempt in d["attempts"]} == {200}


def test_direct_payment_with_permission(connect, hubsim):
    partner = connect(payment_mode=Partner.PaymentMode.DIRECT)
    channel_id = onboard(hubsim)

    state = settled(partner, hubsim, channel_id)

    assert state["permission"] == "granted"
    assert hubsim.channel(channel_id)["keys_created"] == 1


@pytest.mark.parametrize(
    "faults",
    [
        {"duplicate_webhooks": True, "webhook_order": "shuffle", "seed": 3},
        {"duplicate_webhooks": True, "webhook_order": "reverse", "send_event_ids": False},
        {"webhook_signature": "sha256"},
        {"drop_events": ["channel_running"]},
    ],
    ids=["duplicates-shuffled", "duplicates-reversed-no-ids", "sha256-prefix", "running-dropped"],
)
def test_faults_end_in_the_same_state_with_one_key(connect, hubsim, faults):
    partner = connect()
    hubsim.faults(**faults)
    channel_id = onboard(hubsim)

    state = settled(partner, hubsim, channel_id)

    assert hubsim.channel(channel_id)["keys_created"] == 1
    assert (state["status"], state["onboarding"], state["notifications"]) == (
        "live",
        "live",
        ["key_ready"],
    )
    assert set(state["events"]) <= {"processed"}


def test_wrongly_signed_deliveries_are_refused_and_change_nothing(connect, hubsim):
    partner = connect()
    hubsim.faults(webhook_signature="wrong", webhook_retries=0)
    onboard(hubsim)
    hubsim.wait_idle()

    statuses = {a["status"] for d in hubsim.state()["deliveries"] for a in d["attempts"]}
    assert statuses == {401}
    with partner_scope(partner):
        assert WebhookEvent.objects.count() == 0
        assert Channel.objects.count() == 0
    partner.refresh_from_db()
    assert partner.webhook_rejected_count == 6


def test_withdrawn_permission_revokes_the_stored_key(connect, hubsim):
    partner = connect(payment_mode=Partner.PaymentMode.DIRECT)
    channel_id = onboard(hubsim)
    settled(partner, hubsim, channel_id)

    hubsim.permission(channel_id, granted=False)
    hubsim.wait_idle()

    def revoked() -> bool:
        with partner_scope(partner):
            return ApiKey.objects.filter(revoked_reason="permission withdrawn").exists()

    wait_for(revoked, what="the key to be marked revoked")
    with partner_scope(partner):
        assert Channel.objects.get().permission == "revoked"
        assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 0
