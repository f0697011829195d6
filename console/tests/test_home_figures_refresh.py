"""Beat keeps the home page's funnel and charts fresh (console.refresh_home_figures) for every
partner and for all partners, each window, so a page load reads them instead of computing
them; with nothing kept the page still computes them itself."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client as HttpClient
from django.urls import reverse

from clients.tests.factories import OnboardingFactory
from console.selectors import WINDOWS, home_figures_key
from console.tasks import FIGURES_REFRESH_SECONDS, refresh_home_figures
from portal.models import PartnerMembership
from portal.tests.factories import MembershipFactory, PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db

# The home page of a manager of one partner: what it runs with its figures kept, and when it
# computes them itself (the funnel and the two per-day counts on top).
KEPT_QUERIES = 14
COMPUTED_QUERIES = KEPT_QUERIES + 4


@pytest.fixture
def alpha():
    return PartnerFactory.create(slug="alpha", name="Alpha Hub")


@pytest.fixture
def bravo():
    return PartnerFactory.create(slug="bravo", name="Bravo Hub")


def logged_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def manager_of(partner, username: str) -> HttpClient:
    membership = MembershipFactory.create(
        partner=partner, role=PartnerMembership.Role.MANAGER, user__username=username
    )
    return logged_in(membership.user)


def seconds_left(key: str) -> int:
    """How long Redis keeps the entry (-2: not there)."""
    from django.core.cache import cache

    full = cache.make_and_validate_key(key)
    return int(cache._cache.get_client(full).ttl(full))  # type: ignore[attr-defined]


def started(html: str) -> str:
    match = re.search(
        r'<tr data-step="started">\s*<th scope="row">[^<]+</th>\s*<td class="num">(\d+)', html
    )
    assert match is not None
    return match.group(1)


def test_the_refresh_fills_what_the_page_reads(alpha, django_assert_num_queries):
    manager = manager_of(alpha, "mia")
    OnboardingFactory.create_batch(2, partner=alpha)

    assert refresh_home_figures() == {"kept": len(WINDOWS)}  # one partner: its set is all
    # Kept past HOME_FIGURES_SECONDS (60): the next run, a minute later, replaces them first.
    assert [
        seconds_left(home_figures_key([alpha.pk], days)) > settings.HOME_FIGURES_SECONDS
        for days in WINDOWS
    ] == [True, True, True]
    with django_assert_num_queries(KEPT_QUERIES):
        first = manager.get(reverse("admin:index")).content.decode()
    with django_assert_num_queries(KEPT_QUERIES):
        week = manager.get(reverse("admin:index") + "?days=7").content.decode()

    assert (started(first), started(week)) == ("2", "2")


def test_with_nothing_kept_the_page_computes_the_figures_itself(alpha, django_assert_num_queries):
    manager = manager_of(alpha, "mia")
    OnboardingFactory.create(partner=alpha)

    with django_assert_num_queries(COMPUTED_QUERIES):
        page = manager.get(reverse("admin:index")).content.decode()

    assert started(page) == "1"
    assert "As of" in page


def test_two_partners_are_kept_apart(alpha, bravo, django_assert_num_queries):
    mia = manager_of(alpha, "mia")
    bob = manager_of(bravo, "bob")
    root = logged_in(UserFactory.create(username="root", is_staff=True, is_superuser=True))
    OnboardingFactory.create(partner=alpha)
    OnboardingFactory.create_batch(3, partner=bravo)

    assert refresh_home_figures() == {"kept": 3 * len(WINDOWS)}
    with django_assert_num_queries(KEPT_QUERIES):
        alpha_page = mia.get(reverse("admin:index")).content.decode()
    # Naming the other partner changes nothing: a manager sees only their own.
    other = mia.get(reverse("admin:index") + f"?partner={bravo.pk}").content.decode()
    bravo_page = bob.get(reverse("admin:index")).content.decode()
    every = root.get(reverse("admin:index")).content.decode()
    chosen = root.get(reverse("admin:index") + f"?partner={bravo.pk}").content.decode()

    assert [started(page) for page in (alpha_page, other, bravo_page, every, chosen)] == [
        "1",
        "1",
        "3",
        "4",
        "3",
    ]


def test_with_no_keeping_the_refresh_keeps_nothing(alpha, settings):
    from django.core.cache import cache

    settings.HOME_FIGURES_SECONDS = 0
    OnboardingFactory.create(partner=alpha)

    assert refresh_home_figures() == {"kept": 0}
    assert cache.get(home_figures_key([alpha.pk], 30)) is None


def test_the_refresh_is_scheduled_every_minute_on_the_default_queue():
    from portal.celery import app

    app.loader.import_default_modules()
    entries = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "console.refresh_home_figures"
    ]

    assert "console.refresh_home_figures" in app.tasks
    assert app.amqp.router.route({}, "console.refresh_home_figures")["queue"].name == "default"  # type: ignore[attr-defined]
    assert [entry["schedule"] for entry in entries] == [60.0]
    assert FIGURES_REFRESH_SECONDS == 60
