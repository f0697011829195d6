"""Partner API call records: every call made for a number or an onboarding (and every failed
one) is a row written on a connection of its own, so a failure stays recorded when the
caller's transaction rolls back; the story shows them, linked to the number, and the home page
counts the errors of the last 24 hours. Never a key or a secret."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import respx
from django.db import transaction
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from channels.api_calls import PartnerApiCallLog
from channels.hub import partner_api
from channels.models import ApiKey, Channel, PartnerApiCall
from channels.provisioning import Outcome, channel_api_key_provision
from channels.tests.factories import ChannelFactory
from clients.tests.factories import ClientFactory, OnboardingFactory
from conftest import SIM_PARTNER_ID
from dialog360.errors import ServerError
from portal.models import PartnerMembership
from portal.tenancy import all_partners_scope, partner_scope
from portal.tests.factories import MembershipFactory, PartnerFactory
from portal.tests.faults import database_refuses

BOTH = ["default", "partner_api_calls"]
NUMBER = "4915112345678"
BASE = "https://hub.test/api/v2"


def calls(**filters):
    """The rows as committed, read on the records' own connection."""
    with all_partners_scope():
        return list(
            PartnerApiCall.objects.using("partner_api_calls")
            .filter(**filters)
            .order_by("pk")
            .values_list("operation", "outcome", "ok", "error", "channel_id", "onboarding_id")
        )


def logged_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


@pytest.mark.django_db(databases=BOTH)
@respx.mock
def test_calls_for_a_number_are_all_recorded_and_the_partners_own_only_when_they_fail():
    partner = PartnerFactory.create(api_base_url=BASE, hub_partner_id="aAbBcCPA")
    keys = f"{BASE}/partners/aAbBcCPA/channels/ch1/api_keys"
    respx.get(keys).mock(
        side_effect=[
            httpx.Response(200, json={"api_keys": []}),
            httpx.Response(200, json={"api_keys": []}),
            httpx.Response(503, json={"meta": {"developer_message": "try later"}}),
        ]
    )

    with partner_api(partner, channel_id=41, onboarding_id=42) as api:
        api.list_api_keys("ch1")
    with partner_api(partner) as api:
        api.list_api_keys("ch1")  # the partner's own, and fine: not kept
        with pytest.raises(ServerError):
            api.list_api_keys("ch1")

    assert calls() == [
        ("list_api_keys", "200", True, "", 41, 42),
        ("list_api_keys", "503", False, "HTTP 503: try later", None, None),
    ]
    with all_partners_scope():
        partners = set(
            PartnerApiCall.objects.using("partner_api_calls").values_list("partner_id", flat=True)
        )
    assert partners == {partner.pk}


@pytest.mark.django_db(databases=BOTH)
@respx.mock
def test_a_record_holds_no_key_and_no_body():
    partner = PartnerFactory.create(api_base_url=BASE, hub_partner_id="aAbBcCPA")
    respx.post(f"{BASE}/partners/aAbBcCPA/channels/ch1/api_keys").mock(
        return_value=httpx.Response(201, json={"id": "k1", "api_key": "SECRETKEYVALUE1234"})
    )

    with partner_api(partner, channel_id=7) as api:
        created = api.create_api_key("ch1")

    assert created.api_key == "SECRETKEYVALUE1234"
    with all_partners_scope():
        values = list(PartnerApiCall.objects.using("partner_api_calls").values())
    assert len(values) == 1
    assert "SECRETKEYVALUE1234" not in repr(values)
    assert partner.api_key not in repr(values)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_a_failed_key_creation_stays_recorded_though_its_transaction_rolls_back(
    hubsim, connect_partner
):
    partner = connect_partner()
    onboarded = hubsim.onboard(
        partner_id=SIM_PARTNER_ID, email="ada@acme.example", numbers=[NUMBER]
    )
    hubsim.wait_idle()
    client = ClientFactory.create(
        partner=partner, hub_client_id=onboarded["client_id"], email="ada@acme.example"
    )
    onboarding = OnboardingFactory.create(partner=partner, client=client, email="ada@acme.example")
    channel = ChannelFactory.create(
        client=client,
        onboarding=onboarding,
        hub_channel_id=onboarded["channel_ids"][0],
        phone_number=NUMBER,
        status=Channel.Status.RUNNING,
        key_requested_at=timezone.now(),
    )
    hubsim.faults(api_errors=[500], api_errors_for="create_api_key")

    with partner_scope(partner), pytest.raises(ServerError):
        channel_api_key_provision(partner=partner, channel_id=channel.pk)

    with partner_scope(partner):
        # The provisioning's transaction rolled back: the request it answered is still open.
        assert Channel.objects.get(pk=channel.pk).key_requested_at is not None
        assert ApiKey.objects.count() == 0
    recorded = calls()
    assert [row[:3] for row in recorded] == [
        ("list_channels", "200", True),
        ("list_api_keys", "200", True),
        ("create_api_key", "500", False),
    ]
    assert recorded[-1][3].startswith("HTTP 500")
    assert {row[4:] for row in recorded} == {(channel.pk, onboarding.pk)}

    hubsim.faults(api_errors=[])
    with partner_scope(partner):
        assert channel_api_key_provision(partner=partner, channel_id=channel.pk) is Outcome.CREATED
    assert [row[:2] for row in calls()][-1] == ("create_api_key", "201")


@pytest.mark.django_db(databases=BOTH)
def test_recording_does_not_wait_for_the_callers_lock_on_the_number():
    partner = PartnerFactory.create()
    channel = ChannelFactory.create(client__partner=partner, status=Channel.Status.RUNNING)
    log = PartnerApiCallLog(partner_id=partner.pk, channel_id=channel.pk)

    with transaction.atomic(), partner_scope(partner):
        Channel.objects.select_for_update().get(pk=channel.pk)  # as provisioning holds it
        log.observe("create_api_key", "timeout", 10.0, "timed out (ReadTimeout)")
        log.flush()

    assert calls() == [
        ("create_api_key", "timeout", False, "timed out (ReadTimeout)", channel.pk, None)
    ]


@pytest.fixture
def alpha():
    return PartnerFactory.create(slug="alpha", name="Alpha Hub")


@pytest.fixture
def bravo():
    return PartnerFactory.create(slug="bravo", name="Bravo Hub")


def staff(partner, role=PartnerMembership.Role.MANAGER, username="mia"):
    return MembershipFactory.create(partner=partner, role=role, user__username=username).user


def call_row(partner, *, channel=None, onboarding=None, ok=False, ago=timedelta(minutes=5), **kw):
    """A record as the observer writes it (on the default connection here: the pages read it)."""
    values = {
        "operation": "create_api_key",
        "outcome": "200" if ok else "500",
        "duration_ms": 120,
        "error": "" if ok else "HTTP 500: internal error",
        **kw,
    }
    with all_partners_scope():
        return PartnerApiCall.objects.create(
            partner=partner,
            channel_id=channel.pk if channel else None,
            onboarding_id=onboarding.pk if onboarding else None,
            at=timezone.now() - ago,
            ok=ok,
            **values,
        )


@pytest.mark.django_db
def test_home_counts_partner_api_errors_of_the_last_day_of_the_managers_partners(alpha, bravo):
    call_row(alpha, ago=timedelta(hours=1))
    call_row(alpha, ago=timedelta(minutes=10), operation="list_channels")
    call_row(alpha, ok=True)
    call_row(alpha, ago=timedelta(hours=25))
    call_row(bravo)
    last = call_row(alpha, ago=timedelta(minutes=1))

    html = logged_in(staff(alpha)).get(reverse("admin:index")).content.decode()

    expected = (
        f"3 Partner API error(s) in 24 h, the last at {timezone.localtime(last.at):%Y-%m-%d %H:%M}"
    )
    assert expected in html


@pytest.mark.django_db
def test_the_story_shows_the_calls_linked_to_the_number_and_the_number_links_back(alpha, bravo):
    client = ClientFactory.create(partner=alpha)
    onboarding = OnboardingFactory.create(partner=alpha, client=client)
    channel = ChannelFactory.create(
        client=client, onboarding=onboarding, hub_channel_id="chA", phone_number=NUMBER
    )
    call_row(alpha, channel=channel, ok=True, operation="list_channels", outcome="200")
    call_row(
        alpha,
        onboarding=onboarding,
        operation="list_clients",
        outcome="timeout",
        error="timed out (ReadTimeout)",
        duration_ms=10000,
    )
    other = ChannelFactory.create(client__partner=bravo, hub_channel_id="chB")
    call_row(bravo, channel=other, operation="get_bravo")
    http = logged_in(staff(alpha))

    story = http.get(reverse("admin:clients_onboarding_change", args=[onboarding.pk]))
    page = http.get(reverse("admin:channels_channel_change", args=[channel.pk]))
    listed = http.get(reverse("admin:channels_partnerapicall_changelist") + "?q=chA")
    refused = http.get(reverse("admin:channels_partnerapicall_changelist") + "?q=chB")

    html = story.content.decode()
    assert f"list_channels for {channel.label}: 200 in 120 ms" in html
    assert "list_clients: timeout in 10000 ms: timed out (ReadTimeout)" in html
    assert "Partner API error" in html
    assert reverse("admin:channels_channel_change", args=[channel.pk]) in html
    assert "get_bravo" not in html
    assert "list_channels 200 (120 ms)" in page.content.decode()
    assert reverse("admin:channels_partnerapicall_changelist") + "?q=chA" in page.content.decode()
    assert "list_channels" in listed.content.decode()
    assert "get_bravo" not in refused.content.decode()
    assert (
        "get_bravo"
        not in http.get(reverse("admin:channels_partnerapicall_changelist")).content.decode()
    )


@pytest.mark.django_db
def test_calls_cannot_be_added_changed_or_deleted_even_by_a_manager(alpha):
    row = call_row(alpha)
    http = logged_in(staff(alpha))

    assert http.get(reverse("admin:channels_partnerapicall_add")).status_code == 403
    assert (
        http.post(reverse("admin:channels_partnerapicall_delete", args=[row.pk])).status_code == 403
    )
    page = http.get(reverse("admin:channels_partnerapicall_change", args=[row.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_records_the_database_refuses_are_logged_and_the_work_goes_on(caplog):
    partner = PartnerFactory.create()
    log = PartnerApiCallLog(partner_id=partner.pk, channel_id=7)
    log.observe("create_api_key", "201", 0.01)

    with database_refuses("channels_partnerapicall"):
        log.flush()  # does not raise

    assert calls() == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "channels.api_calls"]
    assert warnings == ["partner api calls not recorded"]
    log.observe("list_api_keys", "200", 0.01)
    log.flush()
    assert [row[:3] for row in calls()] == [("list_api_keys", "200", True)]
