"""The home page's funnel and charts are computed at most every HOME_FIGURES_SECONDS per set
of partners and window (they read every onboarding of the window), and the page says as of
when; what needs attention is read on every request."""

from __future__ import annotations

import re

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from clients.models import Onboarding
from clients.tests.factories import OnboardingFactory
from console.models import StuckFlag, StuckReason
from portal.models import PartnerMembership
from portal.tenancy import all_partners_scope
from portal.tests.factories import MembershipFactory, PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha():
    return PartnerFactory.create(slug="alpha", name="Alpha Hub")


@pytest.fixture
def manager(alpha):
    membership = MembershipFactory.create(
        partner=alpha, role=PartnerMembership.Role.MANAGER, user__username="mia"
    )
    http = HttpClient()
    http.force_login(membership.user)
    return http


def started(html: str) -> str:
    match = re.search(
        r'<tr data-step="started">\s*<th scope="row">[^<]+</th>\s*<td class="num">(\d+)', html
    )
    assert match is not None
    return match.group(1)


def test_the_figures_are_kept_and_say_as_of_when_while_attention_is_current(alpha, manager):
    OnboardingFactory.create(partner=alpha)
    first = manager.get(reverse("admin:index")).content.decode()
    later = OnboardingFactory.create(partner=alpha, status=Onboarding.Status.RETURNED)
    with all_partners_scope():
        StuckFlag.objects.create(
            partner=alpha,
            onboarding=later,
            reason=StuckReason.RETURNED_NO_CHANNEL,
            since=timezone.now(),
        )

    second = manager.get(reverse("admin:index")).content.decode()

    assert (started(first), started(second)) == ("1", "1")
    as_of = re.search(r"As of (\d\d:\d\d:\d\d): the funnel and the charts are recomputed", first)
    assert as_of is not None
    assert f"As of {as_of.group(1)}:" in second
    assert "when older than 60 s" in second
    assert ">1 stuck</a>" in second  # needs attention: current


def test_with_no_keeping_the_figures_are_computed_on_every_request(alpha, manager, settings):
    settings.HOME_FIGURES_SECONDS = 0
    OnboardingFactory.create(partner=alpha)
    first = manager.get(reverse("admin:index")).content.decode()
    OnboardingFactory.create(partner=alpha)

    second = manager.get(reverse("admin:index")).content.decode()

    assert (started(first), started(second)) == ("1", "2")
    assert "As of" not in second


def test_kept_figures_are_per_window_and_cost_no_query(
    alpha, manager, django_assert_max_num_queries
):
    OnboardingFactory.create(partner=alpha)
    manager.get(reverse("admin:index"))  # computes the 30 days' figures
    manager.get(reverse("admin:index") + "?days=7")

    with django_assert_max_num_queries(14):
        response = manager.get(reverse("admin:index"))
    with django_assert_max_num_queries(14):
        manager.get(reverse("admin:index") + "?days=7")
    assert response.status_code == 200
