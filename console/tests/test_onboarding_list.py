"""The onboarding list: badges, step, stuck reason, filters, a search that understands phone
numbers and 360Dialog ids, a streamed CSV export; two partners kept apart; fixed queries."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from channels.models import Channel
from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.models import Onboarding
from clients.tests.factories import ClientFactory, OnboardingFactory
from console.models import StuckFlag, StuckReason
from console.search import phone_digits
from portal.models import PartnerMembership
from portal.tenancy import all_partners_scope
from portal.tests.factories import MembershipFactory, PartnerFactory

pytestmark = pytest.mark.django_db
LIST = "admin:clients_onboarding_changelist"


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("+49 151 1234 5678", "4915112345678"),
        ("0049 151 12345678", "4915112345678"),
        ("0151/1234-5678", "15112345678"),
        ("(0151) 12345678", "15112345678"),
        ("4915112345678", "4915112345678"),
        ("ada@bakery.example", None),
        ("ch_0001", None),
        ("123", None),
    ],
)
def test_phone_numbers_are_read_in_every_usual_format(typed, digits):
    assert phone_digits(typed) == digits


@pytest.fixture
def alpha():
    return PartnerFactory.create(slug="alpha", name="Alpha Hub")


@pytest.fixture
def bravo():
    return PartnerFactory.create(slug="bravo", name="Bravo Hub")


@pytest.fixture
def manager(alpha, bravo) -> HttpClient:
    membership = MembershipFactory.create(partner=alpha, role=PartnerMembership.Role.VIEWER)
    http = HttpClient()
    http.force_login(membership.user)
    return http


def onboarding_with_number(partner, marker: str, number: str, **values) -> Onboarding:
    client = ClientFactory.create(partner=partner, hub_client_id=f"{marker}Client")
    onboarding = OnboardingFactory.create(
        partner=partner,
        client=client,
        email=f"{marker}@client.example",
        partner_payload=f"crm-{marker}",
        status=Onboarding.Status.RETURNED,
        returned_at=timezone.now(),
        **values,
    )
    ChannelFactory.create(
        client=client,
        onboarding=onboarding,
        hub_channel_id=f"{marker}Chan",
        phone_number=number,
        status=Channel.Status.RUNNING,
    )
    return onboarding


def listed(http, query: str = "") -> list[str]:
    response = http.get(reverse(LIST) + query)
    assert response.status_code == 200
    with all_partners_scope():
        emails = Onboarding.objects.values_list("email", flat=True)
    html = response.content.decode()
    return sorted(email for email in emails if email in html)


@pytest.mark.parametrize(
    "typed",
    ["+49 151 1234 5678", "0049 151 12345678", "0151 12345678", "alphaChan", "alphaClient"],
)
def test_search_finds_a_number_or_an_id_in_every_format(typed, manager, alpha, bravo):
    onboarding_with_number(alpha, "alpha", "4915112345678")
    onboarding_with_number(alpha, "other", "4917099999999")
    onboarding_with_number(bravo, "bravo", "4915112345678")

    assert listed(manager, f"?shown=all&q={typed}") == ["alpha@client.example"]


def test_search_finds_the_number_typed_at_signup_and_the_crm_reference(manager, alpha):
    OnboardingFactory.create(partner=alpha, email="typed@client.example", phone_number="4930123456")

    assert listed(manager, "?q=030 123456") == ["typed@client.example"]
    onboarding_with_number(alpha, "crm", "4915100000000")
    assert listed(manager, "?q=crm-crm") == ["crm@client.example"]


def test_the_list_shows_badges_step_and_stuck_reason(manager, alpha):
    onboarding = onboarding_with_number(alpha, "alpha", "4915112345678")
    with all_partners_scope():
        StuckFlag.objects.create(
            partner=alpha,
            onboarding=onboarding,
            reason=StuckReason.RUNNING_NO_KEY,
            detail="+4915112345678 is running",
            since=timezone.now() - timedelta(minutes=30),
        )

    html = manager.get(reverse(LIST)).content.decode()

    assert '<span class="badge badge--running" title="alphaChan">+4915112345678 Running</span>' in (
        html
    )
    assert "Number running" in html
    assert "Number running without an API key</span> for 30" in html


def test_the_stuck_filter(manager, alpha):
    stuck = onboarding_with_number(alpha, "stuck", "4915100000001")
    onboarding_with_number(alpha, "fine", "4915100000002")
    with all_partners_scope():
        StuckFlag.objects.create(
            partner=alpha,
            onboarding=stuck,
            reason=StuckReason.KEY_ERROR,
            since=timezone.now(),
        )

    assert listed(manager, "?stuck=yes") == ["stuck@client.example"]
    assert listed(manager, "?stuck=no") == ["fine@client.example"]
    assert listed(manager, "?stuck_reason=key_error") == ["stuck@client.example"]


def test_csv_export_streams_the_filtered_list_of_the_users_partners(manager, alpha, bravo):
    onboarding_with_number(alpha, "alpha", "4915112345678")
    onboarding_with_number(alpha, "other", "4917099999999")
    onboarding_with_number(bravo, "bravo", "4915112345678")

    response = manager.get(reverse("admin:clients_onboarding_export") + "?q=0151 12345678")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["email"], row["crm_reference"], row["channels"]) for row in rows] == [
        ("alpha@client.example", "crm-alpha", "alphaChan:4915112345678:running")
    ]
    assert rows[0]["current_step"] == "Number running"


def test_csv_export_refuses_lookups_the_list_does_not_offer(manager):
    response = manager.get(reverse("admin:clients_onboarding_export") + "?email__regex=^a")

    assert response.status_code == 400


def test_the_list_runs_a_fixed_number_of_queries(manager, alpha, django_assert_max_num_queries):
    onboarding_with_number(alpha, "first", "4915100000000")
    manager.get(reverse(LIST))

    for query in ("", "?q=0151 0000", "?stuck=yes&status__exact=returned"):
        with django_assert_max_num_queries(12):
            manager.get(reverse(LIST) + query)
    for n in range(15):
        onboarding = onboarding_with_number(alpha, f"more{n}", f"49151000001{n:02d}")
        with all_partners_scope():
            ApiKeyFactory.create(channel=onboarding.channels.get())
    for query in ("", "?q=0151 0000", "?stuck=yes&status__exact=returned"):
        with django_assert_max_num_queries(12):
            assert manager.get(reverse(LIST) + query).status_code == 200


def test_the_phone_search_uses_the_trigram_index():
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM channels_channel WHERE phone_number LIKE %s",
            ["%15112345678%"],
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")

    assert "console_channel_phone_trgm" in plan
