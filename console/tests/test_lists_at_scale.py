"""The console's other lists: webhook events with their channel and client, searches that
are index lookups (ids exact, numbers in any usual format), a count that stops at a cap, a
partner filter that lists the user's partners; two partners kept apart; fixed queries."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.urls import reverse

from channels.models import Channel
from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.tests.factories import (
    ClientFactory,
    NotificationFactory,
    OnboardingFactory,
    TimelineEntryFactory,
)
from console.search import event_refs
from portal import paging
from portal.models import PartnerMembership
from portal.tenancy import all_partners_scope
from portal.tests.factories import MembershipFactory, PartnerFactory, UserFactory
from webhooks.models import WebhookEvent
from webhooks.tests.factories import WebhookEventFactory

pytestmark = pytest.mark.django_db
EVENTS = "admin:webhooks_webhookevent_changelist"


@pytest.fixture
def alpha():
    return PartnerFactory.create(slug="alpha", name="Alpha Hub")


@pytest.fixture
def bravo():
    return PartnerFactory.create(slug="bravo", name="Bravo Hub")


@pytest.fixture
def viewer(alpha, bravo) -> HttpClient:
    membership = MembershipFactory.create(partner=alpha, role=PartnerMembership.Role.VIEWER)
    http = HttpClient()
    http.force_login(membership.user)
    return http


def channel_event(partner, marker: str, number: str, event: str = "channel_running"):
    """A client and its channel of `partner`, and one stored webhook event about the channel."""
    client = ClientFactory.create(
        partner=partner, hub_client_id=f"{marker}Client", name=f"{marker} Bakery"
    )
    channel = ChannelFactory.create(
        client=client, hub_channel_id=f"{marker}Chan", phone_number=number
    )
    payload = {
        "id": f"evt_{marker}",
        "event": event,
        "data": {
            "id": channel.hub_channel_id,
            "client_id": client.hub_client_id,
            "status": "running",
            "setup_info": {"phone_number": f"+{number}"},
        },
    }
    WebhookEventFactory.create(
        partner=partner,
        hub_event_id=f"evt_{marker}",
        dedupe_key=f"id:evt_{marker}",
        event_type=event,
        payload=payload,
    )
    return channel


def events_listed(http, query: str = "") -> list[str]:
    response = http.get(reverse(EVENTS) + query)
    assert response.status_code == 200
    with all_partners_scope():
        ids = WebhookEvent.objects.values_list("hub_event_id", flat=True)
    html = response.content.decode()
    return sorted(hub_id for hub_id in ids if f">{hub_id}<" in html)


@pytest.mark.parametrize(
    "typed",
    [
        "alphaChan",
        "alphaClient",
        "alpha Bakery",
        "evt_alpha",
        "+49 151 1234 5678",
        "0049 151 12345678",
        "0151 12345678",
    ],
)
def test_webhook_events_are_found_by_channel_client_number_or_id(typed, viewer, alpha, bravo):
    channel_event(alpha, "alpha", "4915112345678")
    channel_event(alpha, "other", "4917099999999")
    channel_event(bravo, "bravo", "4915112345678")

    assert events_listed(viewer, f"?q={typed}") == ["evt_alpha"]


def test_webhook_events_show_and_link_their_channel_and_client(viewer, alpha):
    channel = channel_event(alpha, "alpha", "4915112345678")

    html = viewer.get(reverse(EVENTS)).content.decode()

    channel_url = reverse("admin:channels_channel_change", args=[channel.pk])
    client_url = reverse("admin:clients_client_change", args=[channel.client_id])
    assert f'<a href="{channel_url}">+4915112345678</a> alphaChan' in html
    assert f'<a href="{client_url}">alpha Bakery</a>' in html


def test_a_superuser_finds_the_events_of_every_partner(alpha, bravo):
    channel_event(alpha, "alpha", "4915112345678")
    channel_event(bravo, "bravo", "4915112345678")
    http = HttpClient()
    http.force_login(UserFactory.create(username="root", is_superuser=True))

    assert events_listed(http, "?q=0151 12345678") == ["evt_alpha", "evt_bravo"]
    assert events_listed(http, "?q=evt_bravo") == ["evt_bravo"]


def test_the_webhook_event_list_has_no_date_drill_down_but_a_bounded_look_back(viewer, alpha):
    channel_event(alpha, "alpha", "4915112345678")
    with all_partners_scope():
        WebhookEvent.objects.update(received_at="2020-01-01T00:00:00Z")
    channel_event(alpha, "recent", "4915100000000")

    assert events_listed(viewer, "?received=24h") == ["evt_recent"]
    assert events_listed(viewer, "?event_type__exact=channel_running") == [
        "evt_alpha",
        "evt_recent",
    ]
    assert viewer.get(reverse(EVENTS) + "?received_at__year=2020").status_code == 400


def test_the_partner_filter_offers_the_users_partners_only(viewer, alpha, bravo):
    channel_event(alpha, "alpha", "4915112345678")
    channel_event(bravo, "bravo", "4915112345678")

    html = viewer.get(reverse(EVENTS)).content.decode()

    assert "Alpha Hub" in html
    assert "Bravo Hub" not in html
    assert events_listed(viewer, f"?partner__id__exact={bravo.pk}") == []
    assert events_listed(viewer, f"?partner__id__exact={alpha.pk}") == ["evt_alpha"]


@pytest.mark.parametrize(
    ("payload", "refs"),
    [
        ({"event": "channel_running", "data": {"id": "ch1", "client_id": "cl1"}}, ("ch1", "cl1")),
        (
            {"event": "channel_created", "data": {"id": "ch1", "client": {"id": "cl1"}}},
            ("ch1", "cl1"),
        ),
        ({"event": "client_created", "data": {"client": {"id": "cl1"}}}, ("", "cl1")),
        ({"event": "client_created", "data": {"id": "cl1"}}, ("", "cl1")),
        ({"event": "account_violation", "data": {"channel_id": "ch1"}}, ("ch1", "")),
        ({"event": "account_violation", "data": {"channel": {"id": "ch1"}}}, ("ch1", "")),
        (
            {"event": "waba_template_status_changed", "data": {"channel_id": "ch1", "id": "t1"}},
            ("ch1", ""),
        ),
        ({"event": "channel_live", "data": "not an object"}, ("", "")),
        ({"event": "channel_live"}, ("", "")),
    ],
)
def test_the_event_columns_read_the_payload_as_the_indexed_sql_functions_do(payload, refs):
    assert event_refs(payload) == refs
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(console_event_channel(%s::jsonb), ''), "
            "coalesce(console_event_client(%s::jsonb), '')",
            [json.dumps(payload)] * 2,
        )
        assert cursor.fetchone() == refs


def test_searches_are_index_lookups():
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        for sql in (
            "SELECT id FROM webhooks_webhookevent WHERE console_event_channel(payload) = 'x'",
            "SELECT id FROM webhooks_webhookevent WHERE console_event_client(payload) = 'x'",
            "SELECT id FROM clients_client WHERE UPPER(name::text) LIKE UPPER('%bakery%')",
        ):
            cursor.execute("EXPLAIN " + sql)
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert "Index" in plan, plan


@pytest.mark.parametrize(
    ("url", "typed", "expected"),
    [
        ("admin:channels_channel_changelist", "0151 12345678", "alphaChan"),
        ("admin:channels_channel_changelist", "alphaClient", "alphaChan"),
        ("admin:clients_client_changelist", "alphaClient", "alphaClient"),
        ("admin:clients_client_changelist", "+49 151 1234 5678", "alphaClient"),
        ("admin:channels_apikey_changelist", "alphaChan", "alphaChan"),
    ],
)
def test_channel_client_and_key_lists_search_through_indexes(
    url, typed, expected, viewer, alpha, bravo
):
    for partner, marker in ((alpha, "alpha"), (bravo, "bravo")):
        channel = channel_event(partner, marker, "4915112345678")
        ApiKeyFactory.create(channel=channel)

    html = viewer.get(reverse(url), {"q": typed}).content.decode()

    assert expected in html
    assert "bravo" not in html.replace("Bravo Hub", "")


def test_timeline_and_mails_are_found_by_their_onboarding(viewer, alpha, bravo):
    for partner, marker in ((alpha, "alpha"), (bravo, "bravo")):
        onboarding = OnboardingFactory.create(
            partner=partner, email=f"{marker}@client.example", phone_number="4930123456"
        )
        TimelineEntryFactory.create(onboarding=onboarding, message=f"{marker} entry")
        NotificationFactory.create(onboarding=onboarding, subject=f"{marker} mail")

    timeline = viewer.get(reverse("admin:clients_timelineentry_changelist"), {"q": "030 123456"})
    mails = viewer.get(reverse("admin:clients_notification_changelist"), {"q": "alpha@client"})

    assert "alpha entry" in timeline.content.decode()
    assert "bravo entry" not in timeline.content.decode()
    assert "alpha mail" in mails.content.decode()
    assert "bravo mail" not in mails.content.decode()


def test_a_list_beyond_the_cap_says_more_than_and_counts_no_further(viewer, alpha, monkeypatch):
    monkeypatch.setattr(paging.CappedPaginator, "cap", 2)
    for marker in ("a", "b", "c", "d"):
        channel_event(alpha, marker, f"491510000000{ord(marker)}")

    html = viewer.get(reverse(EVENTS)).content.decode()

    assert "more than 2 webhook events" in html
    with all_partners_scope():
        assert paging.CappedPaginator(WebhookEvent.objects.all(), 10).count == 3
        assert (
            paging.CappedPaginator(WebhookEvent.objects.filter(hub_event_id="evt_a"), 10).count == 1
        )


@pytest.mark.parametrize(
    "url",
    [
        "admin:webhooks_webhookevent_changelist",
        "admin:channels_channel_changelist",
        "admin:clients_client_changelist",
        "admin:clients_timelineentry_changelist",
        "admin:clients_notification_changelist",
        "admin:channels_apikey_changelist",
        "admin:console_stuckflag_changelist",
        "admin:audit_auditentry_changelist",
    ],
)
@pytest.mark.parametrize(
    "query",
    ["", "?status__exact=failed", "?q=0151 12345678", "?q=alphaChan", "?partner__id__exact=1"],
)
def test_each_list_runs_a_fixed_number_of_queries(
    url, query, viewer, alpha, django_assert_max_num_queries
):
    if "status" in query and "webhookevent" not in url:
        query = ""
    small = query.replace("partner__id__exact=1", f"partner__id__exact={alpha.pk}")
    channel_event(alpha, "first", "4915100000001")
    # The audit log's filters read its users and the date drill-down its days: two more.
    most = 14 if "audit" in url else 12
    with django_assert_max_num_queries(most):
        assert viewer.get(reverse(url) + small).status_code == 200
    for n in range(12):
        channel = channel_event(alpha, f"m{n}", f"49151{n:08d}")
        ApiKeyFactory.create(channel=channel)
        onboarding = OnboardingFactory.create(partner=alpha)
        TimelineEntryFactory.create(onboarding=onboarding)
        NotificationFactory.create(onboarding=onboarding)
    with django_assert_max_num_queries(most):
        assert viewer.get(reverse(url) + small).status_code == 200


def test_numbers_of_one_partner_are_not_found_for_another(viewer, alpha, bravo):
    channel_event(bravo, "bravo", "4915112345678")

    assert events_listed(viewer, "?q=0151 12345678") == []
    with all_partners_scope():
        assert Channel.objects.filter(partner=bravo).count() == 1
