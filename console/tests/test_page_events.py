"""The page-event beacon: the signup page reports its view, the onboarding page a blocked or
early-closed popup, each with the page's signed token (no cookie, no CSRF token), once per
page; another site, an altered token or a report the page cannot make records nothing; it is
rate-limited. The funnel starts with them, the story shows them, each partner its own."""

from __future__ import annotations

import re
from html import unescape

import pytest
import redis
from django.conf import settings as django_settings
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from clients.models import Onboarding
from clients.page_events import page_events_token
from clients.tests.factories import OnboardingFactory
from console.models import PageEvent
from portal.models import PartnerMembership
from portal.tenancy import all_partners_scope
from portal.tests.factories import MembershipFactory, PartnerFactory

pytestmark = pytest.mark.django_db
URL = "/events/page/"


@pytest.fixture
def alpha():
    return PartnerFactory.create(slug="alpha", name="Alpha Hub")


@pytest.fixture
def bravo():
    return PartnerFactory.create(slug="bravo", name="Bravo Hub")


def token_on(html: str) -> str:
    match = re.search(r'data-page-events="/events/page/" data-page-events-token="([^"]+)"', html)
    assert match is not None
    return unescape(match.group(1))


def recorded():
    with all_partners_scope():
        return list(
            PageEvent.objects.order_by("pk").values_list("partner__slug", "kind", "onboarding_id")
        )


def report(token: str, kind: str, **headers):
    return HttpClient().post(URL, {"token": token, "kind": kind}, **headers)


def test_the_signup_page_reports_its_view_once(alpha):
    html = HttpClient().get("/p/alpha/").content.decode()
    token = token_on(html)

    first = report(token, "signup_viewed", HTTP_SEC_FETCH_SITE="same-origin")
    again = report(token, "signup_viewed")
    another_page = report(token_on(HttpClient().get("/p/alpha/").content.decode()), "signup_viewed")

    assert (first.status_code, again.status_code, another_page.status_code) == (204, 204, 204)
    assert 'src="/static/portal/page-events.js"' in html
    assert 'data-page-events-on-load="signup_viewed"' in html
    assert recorded() == [("alpha", "signup_viewed", None), ("alpha", "signup_viewed", None)]


def test_the_onboarding_page_reports_its_popup_for_its_onboarding(alpha):
    http = HttpClient()
    http.post("/p/alpha/", {"email": "ada@bakery.example"})
    with all_partners_scope():
        onboarding = Onboarding.objects.get()
    html = http.get(f"/p/alpha/o/{onboarding.public_id}/").content.decode()
    token = token_on(html)

    blocked = report(token, "popup_blocked")
    closed = report(token, "popup_closed_early")
    not_this_page = report(token, "signup_viewed")

    assert (blocked.status_code, closed.status_code, not_this_page.status_code) == (204, 204, 204)
    assert recorded() == [
        ("alpha", "popup_blocked", onboarding.pk),
        ("alpha", "popup_closed_early", onboarding.pk),
    ]


def test_the_signup_page_cannot_report_a_popup_and_nothing_unknown_is_taken(alpha):
    token = page_events_token(partner_id=alpha.pk)

    for kind in ("popup_blocked", "anything", ""):
        assert report(token, kind).status_code == 204

    assert recorded() == []


def test_another_site_or_an_altered_token_records_nothing(alpha, bravo):
    token = page_events_token(partner_id=alpha.pk)
    value, _, signature = token.rpartition(":")

    cross_site = report(token, "signup_viewed", HTTP_SEC_FETCH_SITE="cross-site")
    other_origin = report(token, "signup_viewed", HTTP_ORIGIN="https://elsewhere.example")
    flipped = "A" if signature[-1] != "A" else "B"
    altered = report(f"{value}:{signature[:-1]}{flipped}", "signup_viewed")
    forged = report("bravo:1:abc", "signup_viewed")
    read = HttpClient().get(URL)

    assert [r.status_code for r in (cross_site, other_origin, altered, forged, read)] == [
        403,
        403,
        400,
        400,
        405,
    ]
    assert recorded() == []


def test_an_onboarding_of_another_partner_is_not_taken(alpha, bravo):
    theirs = OnboardingFactory.create(partner=bravo)
    token = page_events_token(partner_id=alpha.pk, onboarding=theirs.public_id)

    assert report(token, "popup_blocked").status_code == 204

    assert recorded() == []


def test_reports_are_rate_limited_per_address(alpha, settings):
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    for key in client.scan_iter(match="*ratelimit:*"):
        client.delete(key)
    settings.RATE_LIMITS_ENABLED = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "beacon_ip": "2/600"}
    tokens = [page_events_token(partner_id=alpha.pk) for _ in range(3)]

    answers = [report(token, "signup_viewed", REMOTE_ADDR="198.51.100.7") for token in tokens]
    elsewhere = report(tokens[2], "signup_viewed", REMOTE_ADDR="198.51.100.8")

    assert [answer.status_code for answer in answers] == [204, 204, 429]
    assert 0 < int(answers[2]["Retry-After"]) <= 600
    assert elsewhere.status_code == 204
    assert len(recorded()) == 3


def manager_of(partner):
    membership = MembershipFactory.create(
        partner=partner, role=PartnerMembership.Role.MANAGER, user__username="mia"
    )
    http = HttpClient()
    http.force_login(membership.user)
    return http


def test_the_funnel_starts_with_the_pages_reports_of_the_managers_partners(alpha, bravo):
    opened = timezone.now()
    ours = [OnboardingFactory.create(partner=alpha, opened_at=opened) for _ in range(2)]
    for _ in range(4):
        assert report(page_events_token(partner_id=alpha.pk), "signup_viewed").status_code == 204
    report(page_events_token(partner_id=bravo.pk), "signup_viewed")
    page = page_events_token(partner_id=alpha.pk, onboarding=ours[0].public_id)
    report(page, "popup_blocked")
    report(page, "popup_closed_early")  # the same onboarding: counted once
    theirs = OnboardingFactory.create(partner=bravo)
    report(page_events_token(partner_id=bravo.pk, onboarding=theirs.public_id), "popup_blocked")

    html = manager_of(alpha).get(reverse("admin:index")).content.decode()

    rows = re.findall(
        r'<tr data-step="(\w+)"[^>]*>\s*<th scope="row">([^<]+)</th>\s*<td class="num">(\d+)</td>'
        r'\s*<td class="num">([^<]+)</td>',
        html,
    )
    assert rows[:4] == [
        ("viewed", "Signup page viewed", "4", "—"),
        ("started", "Form submitted", "2", "50 %"),
        ("opened", "Popup opened", "2", "100 %"),
        ("popup_trouble", "Popup blocked or closed early", "1", "50 %"),
    ]
    assert rows[4][0] == "returned"


def test_the_story_shows_what_the_page_reported(alpha):
    onboarding = OnboardingFactory.create(partner=alpha)
    report(page_events_token(partner_id=alpha.pk, onboarding=onboarding.public_id), "popup_blocked")

    html = (
        manager_of(alpha)
        .get(reverse("admin:clients_onboarding_change", args=[onboarding.pk]))
        .content.decode()
    )

    assert "Popup blocked (reported by the client&#x27;s page)" in html
