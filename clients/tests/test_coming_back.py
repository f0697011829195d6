"""Coming back to 360Dialog's permission page from the same onboarding: each visit's return
(its own fresh token) is accepted, a reload of it is not a new one, an older token is dead."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from clients.models import Onboarding, TimelineEntry
from clients.tests.test_flow import launch, returned, start, token_of
from portal.models import Partner
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory.create(
        slug="acme", hub_partner_id="aAbBcCPA", hub_url="https://hub.example"
    )


def test_a_second_visit_returns_through_its_own_token_and_is_accepted(partner):
    http = HttpClient()
    onboarding = start(http, partner)
    first = token_of(launch(http, partner, onboarding)[1])
    assert returned(http, partner, first, "client=c1&channels=[a1]").status_code == 200
    second = token_of(launch(http, partner, onboarding)[1])

    response = returned(http, partner, second, "client=c1&channels=[a2]&revoked=[a1]")

    assert response.status_code == 200
    with partner_scope(partner):
        onboarding = Onboarding.objects.get()
        assert onboarding.return_data == {"client": "c1", "channels": ["a2"], "revoked": ["a1"]}
        assert list(
            TimelineEntry.objects.filter(kind=TimelineEntry.Kind.RETURNED).values_list(
                "message", flat=True
            )
        ) == [
            "Returned from 360Dialog: client c1, 1 number(s); checking with the Partner API.",
            "Returned from 360Dialog: client c1, 1 number(s), withdrawn for 1; checking with "
            "the Partner API.",
        ]


def test_a_reload_of_the_second_visit_is_not_a_third_and_the_first_token_is_dead(partner):
    http = HttpClient()
    onboarding = start(http, partner)
    first = token_of(launch(http, partner, onboarding)[1])
    returned(http, partner, first, "client=c1&channels=[a1]")
    second = token_of(launch(http, partner, onboarding)[1])
    returned(http, partner, second, "client=c1&channels=[a2]")

    reload = returned(http, partner, second, "client=c1&channels=[a2]")
    edited = returned(http, partner, second, "client=c1&channels=[a3]")
    old = returned(http, partner, first, "client=c1&channels=[a1]")

    assert reload.status_code == 200
    assert (edited.status_code, old.status_code) == (400, 400)
    assert "This link was already used." in edited.content.decode()
    with partner_scope(partner):
        assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.RETURNED).count() == 2


def test_a_finished_page_offers_add_or_remove_a_number(partner):
    http = HttpClient()
    onboarding = start(http, partner)
    with partner_scope(partner):
        Onboarding.objects.filter(pk=onboarding.pk).update(status=Onboarding.Status.LIVE)

    page = http.get(f"/p/acme/o/{onboarding.public_id}/").content.decode()

    assert '<section class="manage" data-manage hidden>' in page  # shown once every number is live
    assert ">Add or remove a number</button>" in page
