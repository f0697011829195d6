"""What the end client's status page says, server side: each step ticked only when it
happened, waits with their length and what is normal, who follows up, and words for people."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.test import override_settings
from django.utils import timezone

from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.models import Onboarding
from clients.tests.factories import ClientFactory
from clients.tests.test_flow import launch, returned, start, token_of
from portal.models import Partner
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db
THRESHOLDS = {
    "returned_no_channel": 30,
    "channel_not_running": 24 * 60,
    "running_no_key": 10,
    "permission_missing": 24 * 60,
}


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory.create(
        slug="acme",
        name="Acme Telecom",
        hub_partner_id="aAbBcCPA",
        hub_url="https://hub.example",
        support_email="help@acme.example",
    )


def returned_onboarding(http: HttpClient, partner: Partner) -> Onboarding:
    onboarding = start(http, partner)
    token = token_of(launch(http, partner, onboarding)[1])
    returned(http, partner, token, "client=c1&channels=[a1]")
    return onboarding


def number(partner: Partner, onboarding: Onboarding, **values: object):
    with partner_scope(partner):
        return ChannelFactory.create(
            client=ClientFactory.create(partner=partner),
            onboarding=onboarding,
            phone_number="4915112345678",
            **values,
        )


def states(channel: dict[str, Any]) -> list[tuple[str, str]]:
    return [(step["label"], step["state"]) for step in channel["steps"]]


def status_of(http: HttpClient, onboarding: Onboarding) -> dict[str, Any]:
    answer: dict[str, Any] = http.get(f"/p/acme/o/{onboarding.public_id}/status.json").json()
    return answer


def test_a_key_error_never_ticks_connected_or_live(partner):
    http = HttpClient()
    onboarding = returned_onboarding(http, partner)
    number(partner, onboarding, status="live", api_key_error="400 Bad Request")

    [channel] = status_of(http, onboarding)["channels"]

    assert states(channel) == [
        ("Registered", "done"),
        ("Checked", "done"),
        ("Approved", "done"),
        ("Switched on", "done"),
        ("Connected", "failed"),
        ("Live", "todo"),
    ]
    assert channel["label"] == "Needs attention"
    assert channel["explanation"] == (
        "Something went wrong while connecting this number. Acme Telecom has been told and "
        "will contact you. Questions? Write to help@acme.example."
    )


def test_being_checked_is_never_next_to_a_ticked_checked(partner):
    http = HttpClient()
    onboarding = returned_onboarding(http, partner)
    number(partner, onboarding, status="submitted")

    [channel] = status_of(http, onboarding)["channels"]

    assert channel["label"] == "Being checked"
    assert states(channel)[:3] == [
        ("Registered", "done"),
        ("Checked", "current"),
        ("Approved", "todo"),
    ]
    assert channel["number"] == "+49 1511 2345678"


def test_each_step_is_ticked_when_it_happened(partner):
    http = HttpClient()
    onboarding = returned_onboarding(http, partner)
    running = number(partner, onboarding, status="running")
    with partner_scope(partner):
        ApiKeyFactory.create(channel=running)

    [channel] = status_of(http, onboarding)["channels"]

    assert [state for _, state in states(channel)] == [
        "done",
        "done",
        "done",
        "done",
        "done",
        "current",
    ]
    assert channel["label"] == "Connected"
    assert channel["explanation"] == (
        "Acme Telecom can now send and receive WhatsApp messages with your number."
    )


def test_a_number_switched_on_without_its_key_is_not_all_done(partner):
    http = HttpClient()
    onboarding = returned_onboarding(http, partner)
    number(partner, onboarding, status="running")

    data = status_of(http, onboarding)

    # Not done: the page would stop checking and never see the key arrive.
    assert (data["done"], data["headline"]) == (
        False,
        "Your number is on its way. This page updates by itself.",
    )
    assert data["channels"][0]["label"] == "Switched on"


def test_withdrawn_and_failed_numbers_leave_nothing_to_wait_for(partner):
    http = HttpClient()
    onboarding = returned_onboarding(http, partner)
    number(partner, onboarding, status="running", permission="revoked")
    number(partner, onboarding, status="running", api_key_error="403 no permission")
    with partner_scope(partner):
        ApiKeyFactory.create(channel=number(partner, onboarding, status="live"))

    data = status_of(http, onboarding)

    assert [channel["label"] for channel in data["channels"]] == [
        "Permission withdrawn",
        "Needs attention",
        "Live",
    ]
    assert (data["done"], data["headline"]) == (True, "Something needs attention.")


@override_settings(STUCK_THRESHOLDS_MINUTES=THRESHOLDS)
def test_a_long_wait_says_how_long_and_what_is_normal(partner):
    http = HttpClient()
    onboarding = returned_onboarding(http, partner)
    channel = number(partner, onboarding, status="running")
    with partner_scope(partner):
        channel.status_changed_at = timezone.now() - timedelta(minutes=5, seconds=10)
        channel.save()

    [shown] = status_of(http, onboarding)["channels"]

    assert shown["label"] == "Switched on"
    assert shown["explanation"] == (
        "Your number is switched on. Acme Telecom is setting it up for your messages."
    )
    assert shown["wait"] == "Waiting for 5\xa0minutes. This usually takes less than a minute."
    assert shown["late"] is False


@override_settings(STUCK_THRESHOLDS_MINUTES=THRESHOLDS)
def test_past_the_stuck_threshold_it_says_who_follows_up(partner):
    http = HttpClient()
    onboarding = returned_onboarding(http, partner)
    channel = number(partner, onboarding, status="running")
    with partner_scope(partner):
        channel.status_changed_at = timezone.now() - timedelta(minutes=11)
        channel.save()

    [shown] = status_of(http, onboarding)["channels"]

    assert shown["wait"] == (
        "Waiting for 11\xa0minutes. This is taking longer than usual. Acme Telecom has been "
        "told and will follow up. Questions? Write to help@acme.example."
    )
    assert shown["late"] is True


@override_settings(STUCK_THRESHOLDS_MINUTES=THRESHOLDS)
def test_a_return_with_no_number_yet_says_how_long_it_waited(partner):
    http = HttpClient()
    onboarding = returned_onboarding(http, partner)
    with partner_scope(partner):
        Onboarding.objects.filter(pk=onboarding.pk).update(
            returned_at=timezone.now() - timedelta(minutes=3, seconds=5)
        )

    data = status_of(http, onboarding)

    assert data["channels"] == []
    assert data["wait"] == (
        "Waiting for 3\xa0minutes. 360Dialog usually confirms a number within a few minutes."
    )


def test_without_a_support_address_the_page_names_the_partner(partner):
    partner.support_email = ""
    partner.save()
    http = HttpClient()
    onboarding = returned_onboarding(http, partner)
    number(partner, onboarding, status="running", api_key_error="400 Bad Request")

    page = http.get(f"/p/acme/o/{onboarding.public_id}/").content.decode()
    [channel] = status_of(http, onboarding)["channels"]

    assert "Questions? Contact Acme Telecom." in page
    assert "mailto:" not in page
    assert channel["explanation"].endswith("will contact you. Questions? Contact Acme Telecom.")


def test_after_the_return_connect_whatsapp_is_gone(partner):
    http = HttpClient()
    onboarding = start(http, partner)
    before = http.get(f"/p/acme/o/{onboarding.public_id}/").content.decode()
    token = token_of(launch(http, partner, onboarding)[1])
    returned(http, partner, token, "client=c1&channels=[a1]")

    after = http.get(f"/p/acme/o/{onboarding.public_id}/").content.decode()

    assert ">Connect WhatsApp</button>" in before and "opens in a small window" in before
    assert ">Connect WhatsApp</button>" not in after and "opens in a small window" not in after


def test_no_engineering_words_reach_the_client(partner):
    http = HttpClient()
    onboarding = returned_onboarding(http, partner)
    for status in ("created", "submitted", "ready", "running", "live"):
        number(partner, onboarding, status=status)

    text = str(status_of(http, onboarding)).lower()

    assert "key ready" not in text
    assert "your provider" not in text


def test_the_page_tells_its_script_how_to_poll(partner, settings):
    settings.STATUS_POLL_SECONDS = {"first": 2, "longest": 40, "stop_after": 600}
    http = HttpClient()
    onboarding = start(http, partner)

    page = http.get(f"/p/acme/o/{onboarding.public_id}/").content.decode()

    assert 'data-poll-first="2" data-poll-longest="40" data-poll-stop="600"' in page
    assert "data-check-again" in page
