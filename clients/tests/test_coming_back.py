"""Coming back to 360Dialog's permission page from the same onboarding: each visit's return
(its own fresh token) is accepted, a reload of it is not a new one, an older token is dead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from clients.models import Onboarding, TimelineEntry
from clients.onboarding import ONBOARDING_LIFETIME
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


def expire(onboarding: Onboarding, status: str) -> None:
    """Two days and more later: the onboarding's own expiry has passed."""
    Onboarding._base_manager.filter(pk=onboarding.pk).update(
        status=status, expires_at=timezone.now() - timedelta(hours=1)
    )


@pytest.mark.parametrize("status", [Onboarding.Status.LIVE, Onboarding.Status.RETURNED])
def test_after_its_expiry_a_finished_onboarding_visits_again_with_a_fresh_token(partner, status):
    http = HttpClient()
    onboarding = start(http, partner)
    first = token_of(launch(http, partner, onboarding)[1])
    returned(http, partner, first, "client=c1&channels=[a1]")
    expire(onboarding, status)

    before = timezone.now()
    second = token_of(launch(http, partner, onboarding)[1])
    response = returned(http, partner, second, "client=c1&channels=[a2]")

    assert second != first
    assert response.status_code == 200
    with partner_scope(partner):
        onboarding = Onboarding.objects.get()
        assert onboarding.return_data == {"client": "c1", "channels": ["a2"], "revoked": []}
        # This visit's own expiry: as long as a signup's, from the launch.
        assert before + ONBOARDING_LIFETIME <= onboarding.expires_at
        assert onboarding.expires_at <= timezone.now() + ONBOARDING_LIFETIME
        assert onboarding.status == status


@pytest.mark.parametrize("status", [Onboarding.Status.STARTED, Onboarding.Status.OPENED])
def test_an_expired_unfinished_onboarding_is_still_refused(partner, status):
    http = HttpClient()
    onboarding = start(http, partner)
    expire(onboarding, status)

    response = http.post(f"/p/acme/o/{onboarding.public_id}/launch/")

    assert response.status_code == 400
    assert "This signup link has expired. Please start again." in response.content.decode()
    with partner_scope(partner):
        assert Onboarding.objects.get().return_token_hash is None
        assert not TimelineEntry.objects.filter(kind=TimelineEntry.Kind.LAUNCHED).exists()


def test_an_unverified_return_never_gets_a_visit_after_its_expiry(partner):
    http = HttpClient()
    http.get("/p/acme/r/?client=c9&channels=[z9]")
    with partner_scope(partner):
        onboarding = Onboarding.objects.get()
    expire(onboarding, Onboarding.Status.RETURNED)

    response = http.post(f"/p/acme/o/{onboarding.public_id}/launch/")

    assert response.status_code == 400
    with partner_scope(partner):
        assert Onboarding.objects.get().return_token_hash is None
