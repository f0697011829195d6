"""Where the end client's path used to stop without a word, server side: another browser, an
unknown address, a server error, a second signup, a number already connected elsewhere, an
invite whose return was lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.template import TemplateDoesNotExist
from django.test import Client as HttpClient
from django.test import RequestFactory
from django.utils import timezone
from django.views.defaults import server_error

from channels.linking import client_apply, onboarding_for_client
from channels.tests.factories import ChannelFactory
from clients import views
from clients.models import Onboarding, TimelineEntry
from clients.tests.factories import ClientFactory, OnboardingFactory
from clients.tests.test_flow import start
from console.models import StuckFlag, StuckReason
from console.services import stuck_flags_update
from dialog360.objects import ClientInfo
from portal.models import Partner
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory.create(
        slug="acme",
        name="Acme Telecom",
        hub_partner_id="aAbBcCPA",
        hub_url="https://hub.example",
        support_email="help@acme.example",
    )


def test_another_browser_is_told_why_and_offered_a_way_on(partner):
    onboarding = start(HttpClient(), partner)

    response = HttpClient().get(f"/p/acme/o/{onboarding.public_id}/")

    text = response.content.decode()
    assert response.status_code == 404
    assert "<h1>This page opens only where you signed up</h1>" in text
    assert "the status of a signup shows only in the browser where it was started" in text
    assert '<a class="button button--primary" href="/p/acme/">Start again</a>' in text
    assert "help@acme.example" in text and "Acme Telecom" in text


def test_an_unknown_onboarding_gets_the_same_page_as_another_browser(partner):
    response = HttpClient().get("/p/acme/o/00000000-0000-0000-0000-000000000000/")

    assert response.status_code == 404
    assert "<h1>This page opens only where you signed up</h1>" in response.content.decode()


def test_a_missing_page_under_a_partner_is_branded(partner):
    response = HttpClient().get("/p/acme/no/such/page/", HTTP_ACCEPT_LANGUAGE="de")

    text = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Seite nicht gefunden</h1>" in text
    assert "Acme Telecom" in text and 'href="/p/acme/">Neu beginnen</a>' in text


def test_a_missing_page_elsewhere_is_the_portals_own(partner):
    response = HttpClient().get("/nowhere/")

    text = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in text and "Acme" not in text


def test_a_server_error_shows_the_portals_page():
    response = server_error(RequestFactory().get("/p/acme/"))

    text = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in text
    assert "This is a fault on our side, not yours" in text


def test_a_server_error_under_a_partner_is_branded_in_the_clients_language(partner):
    response = views.server_error(RequestFactory().get("/p/acme/", HTTP_ACCEPT_LANGUAGE="de"))

    text = response.content.decode()
    assert (response.status_code, response["Content-Language"]) == (500, "de")
    assert "<h1>Etwas ist schiefgegangen</h1>" in text
    assert '<p class="signup__name">Acme Telecom</p>' in text
    assert 'href="mailto:help@acme.example"' in text


def test_the_portal_answers_a_failing_page_with_its_own_server_error_page(partner, monkeypatch):
    def broken(public_id: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(views, "onboarding_get", broken)
    http = HttpClient(raise_request_exception=False)

    response = http.get("/p/acme/o/00000000-0000-0000-0000-000000000000/")

    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in response.content.decode()
    assert "Acme Telecom" in response.content.decode()


def test_the_server_error_page_never_raises(partner, monkeypatch):
    def no_database(*, slug: str) -> None:
        raise OperationalError("the database is gone")

    monkeypatch.setattr(views, "partner_get_active", no_database)
    plain = views.server_error(RequestFactory().get("/p/acme/"))

    def no_templates(*args: object, **kwargs: object) -> str:
        raise TemplateDoesNotExist("500.html")

    monkeypatch.setattr(views, "render_to_string", no_templates)
    bare = views.server_error(RequestFactory().get("/p/acme/"))

    assert plain.status_code == bare.status_code == 500
    assert "<h1>Something went wrong</h1>" in plain.content.decode()
    assert "Acme" not in plain.content.decode()
    assert bare.content.decode() == (
        '<!doctype html><html lang="en"><title>Server error</title>'
        "<h1>Server error</h1><p>Please try again in a few minutes.</p></html>"
    )


def test_a_second_signup_from_the_same_browser_goes_on_with_the_first(partner):
    http = HttpClient()
    first = start(http, partner)
    again = start(http, partner, email="ADA@example.com", phone_number="+49 151 99999999")

    assert again.pk == first.pk
    assert again.phone_number == "4915199999999"
    with partner_scope(partner):
        assert Onboarding.objects.count() == 1
        last_entry = TimelineEntry.objects.filter(onboarding=first).last()
        assert last_entry is not None
        assert last_entry.message == (
            "Signed up again from the same browser: phone_number updated."
        )


def test_another_address_or_another_browser_starts_a_new_onboarding(partner):
    http = HttpClient()
    first = start(http, partner)

    assert start(http, partner, email="bea@example.com").pk != first.pk
    assert start(HttpClient(), partner).pk != first.pk


def test_a_number_connected_elsewhere_says_so_and_what_to_do(partner):
    http = HttpClient()
    onboarding = start(http, partner)
    with partner_scope(partner):
        Onboarding.objects.filter(pk=onboarding.pk).update(
            returned_at=timezone.now(),
            status=Onboarding.Status.RETURNED,
            dead_end=Onboarding.DeadEnd.NUMBER_ELSEWHERE,
        )

    data = http.get(f"/p/acme/o/{onboarding.public_id}/status.json").json()
    page = http.get(f"/p/acme/o/{onboarding.public_id}/").content.decode()

    assert data["headline"] == "This number is already connected."
    assert data["dead_end"] == (
        "Your 360Dialog account and its numbers are already connected to Acme Telecom through "
        "an earlier signup, so nothing was changed here. Acme Telecom has been told and will "
        "get in touch. To connect another number, sign up again with that number. "
        "Questions? Write to help@acme.example."
    )
    assert (data["channels"], data["wait"]) == ([], "")
    assert '<a class="button" href="/p/acme/">Sign up with another number</a>' in page


def test_a_number_connected_elsewhere_shows_no_empty_list_of_numbers(partner):
    http = HttpClient()
    onboarding = start(http, partner)
    with partner_scope(partner):
        Onboarding.objects.filter(pk=onboarding.pk).update(
            returned_at=timezone.now(),
            status=Onboarding.Status.RETURNED,
            dead_end=Onboarding.DeadEnd.NUMBER_ELSEWHERE,
        )

    page = http.get(f"/p/acme/o/{onboarding.public_id}/").content.decode()

    # The notice says what happened; "No number connected yet." would say the opposite.
    assert '<section class="status" data-numbers hidden aria-live="polite"' in page
    assert "No number connected yet." not in page


def test_a_number_connected_elsewhere_is_stuck_at_once_for_the_managers(partner):
    with partner_scope(partner):
        onboarding = OnboardingFactory.create(
            partner=partner,
            status=Onboarding.Status.RETURNED,
            returned_at=timezone.now(),
            dead_end=Onboarding.DeadEnd.NUMBER_ELSEWHERE,
        )

        stuck_flags_update(partner=partner)

        flag = StuckFlag.objects.get()
    assert (flag.onboarding_id, flag.reason) == (onboarding.pk, StuckReason.NUMBER_ELSEWHERE)


def invited(partner: Partner, **values: object) -> Onboarding:
    fields: dict[str, object] = {
        "email": "ada@example.com",
        "partner_payload": "CRM-42",
        "status": Onboarding.Status.OPENED,
        "opened_at": timezone.now() - timedelta(minutes=5),
    }
    return OnboardingFactory.create(partner=partner, **(fields | values))


def test_an_invited_onboarding_whose_return_was_lost_takes_its_numbers_from_the_stand_in(
    partner,
):
    with partner_scope(partner):
        onboarding = invited(partner)
        # Channel webhooks came first: the numbers sit on a stand-in.
        client = ClientFactory.create(partner=partner, hub_client_id="cl1", email="")
        stand_in = onboarding_for_client(client=client)
        channel = ChannelFactory.create(client=client, onboarding=stand_in, status="running")

        client_apply(
            partner=partner,
            info=ClientInfo(id="cl1", partner_payload="CRM-42", email="Ada@example.com"),
        )

        onboarding.refresh_from_db()
        channel.refresh_from_db()
        assert onboarding.client == client
        assert channel.onboarding_id == onboarding.pk
        assert not Onboarding.objects.filter(pk=stand_in.pk).exists()


@pytest.mark.parametrize(
    "values",
    [
        {"email": "eve@example.com"},  # another address at 360Dialog
        {"opened_at": None},  # never launched
        {"expires_at": timezone.now() - timedelta(minutes=1)},
        {"verified": False},
    ],
    ids=["other e-mail", "never launched", "expired", "unverified"],
)
def test_a_crm_reference_alone_links_nothing(partner, values):
    with partner_scope(partner):
        onboarding = invited(partner, **values)

        client_apply(
            partner=partner,
            info=ClientInfo(id="cl1", partner_payload="CRM-42", email="ada@example.com"),
        )

        onboarding.refresh_from_db()
        assert onboarding.client is None


def test_a_crm_reference_on_two_open_onboardings_links_neither(partner):
    with partner_scope(partner):
        first, second = invited(partner), invited(partner)

        client_apply(
            partner=partner,
            info=ClientInfo(id="cl1", partner_payload="CRM-42", email="ada@example.com"),
        )

        assert Onboarding.objects.filter(pk__in=[first.pk, second.pk], client=None).count() == 2
