"""The public pages against hostile input: no NUL byte or odd token reaches a query."""

from __future__ import annotations

import re

import pytest
from django.test import Client as HttpClient

from clients.models import Onboarding, TimelineEntry
from portal.models import Partner
from portal.tenancy import partner_scope
from portal.tests.factories import MembershipFactory, PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory.create(slug="acme", hub_url="https://hub.example")


@pytest.mark.parametrize("invite", ["%00", "abc%00def", "a" * 200, "../../etc", "%F0%9F%98%80"])
def test_an_invite_that_is_not_token_shaped_is_ignored(partner, invite):
    response = HttpClient().get(f"/p/acme/?invite={invite}")

    assert response.status_code == 200
    assert 'name="invite"' not in response.content.decode() or 'value="' + invite not in (
        response.content.decode()
    )


def test_a_signup_posting_a_nul_invite_is_refused_without_a_query(partner):
    response = HttpClient().post(
        "/p/acme/", {"email": "ada@example.com", "invite": "\x00"}, follow=True
    )

    assert response.status_code == 200  # the form again: its fields refuse NUL characters
    with partner_scope(partner):
        assert not Onboarding.objects.exists()


@pytest.mark.parametrize("token", ["%00", "a%00b", "x" * 300])
def test_a_webhook_url_with_a_token_that_is_not_token_shaped_is_404(partner, token):
    response = HttpClient().post(
        f"/webhooks/360dialog/{token}/", b"{}", content_type="application/json"
    )

    assert response.status_code == 404


@pytest.mark.parametrize("token", ["%00", "a%00b"])
def test_a_return_with_a_nul_token_is_refused(partner, token):
    response = HttpClient().get(f"/p/acme/r/{token}/?client=c1&channels=[a1]")

    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    with partner_scope(partner):
        assert not Onboarding.objects.exists()


def start(http: HttpClient, partner: Partner, **data: str) -> Onboarding:
    response = http.post(
        f"/p/{partner.slug}/",
        {"email": "ada@example.com", "phone_number": "+49 151 12345678", **data},
    )
    assert response.status_code == 302, response.content
    with partner_scope(partner):
        return Onboarding.objects.get()


def launch_url(onboarding: Onboarding) -> str:
    return f"/p/acme/o/{onboarding.public_id}/launch/"


def test_launch_does_not_change_anything_on_get(partner):
    http = HttpClient()
    onboarding = start(http, partner)

    response = http.get(launch_url(onboarding))

    assert response.status_code == 405
    with partner_scope(partner):
        again = Onboarding.objects.get()
        assert (again.return_token_hash, again.status, again.opened_at) == (
            onboarding.return_token_hash,
            Onboarding.Status.STARTED,
            None,
        )
        assert not TimelineEntry.objects.filter(kind=TimelineEntry.Kind.LAUNCHED).exists()


def test_launch_is_a_post_with_the_pages_csrf_token(partner):
    http = HttpClient()
    onboarding = start(http, partner)
    http.handler.enforce_csrf_checks = True

    forged = http.post(launch_url(onboarding))  # a cross-site form has no token
    page = http.get(f"/p/acme/o/{onboarding.public_id}/").content.decode()
    [csrf] = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page))
    assert f'<form method="post" action="{launch_url(onboarding)}" target="dialog360"' in page
    with partner_scope(partner):
        assert Onboarding.objects.get().return_token_hash == onboarding.return_token_hash

    launched = http.post(launch_url(onboarding), {"csrfmiddlewaretoken": csrf})

    assert forged.status_code == 403
    assert launched.status_code == 302
    assert launched["Location"].startswith("https://hub.example/dashboard/app/")
    with partner_scope(partner):
        assert Onboarding.objects.get().status == Onboarding.Status.OPENED


def test_the_onboarding_page_may_post_the_launch_to_the_hub(partner):
    http = HttpClient()
    onboarding = start(http, partner)

    response = http.get(f"/p/acme/o/{onboarding.public_id}/")

    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
    )
    assert policy["form-action"] == "'self' https://hub.example"


def test_an_invalid_number_in_the_admin_is_refused(partner):
    onboarding = start(HttpClient(), partner)
    manager = HttpClient()
    manager.force_login(MembershipFactory.create(partner=partner).user)
    url = f"/admin/clients/onboarding/{onboarding.pk}/change/"
    form = {
        "status": onboarding.status,
        "email": onboarding.email,
        "contact_name": "",
        "phone_number": "12ab",
        "partner_payload": "",
        "lang": "en",
        "expires_at_0": onboarding.expires_at.strftime("%Y-%m-%d"),
        "expires_at_1": onboarding.expires_at.strftime("%H:%M:%S"),
        "verified": "on",
        "timeline-TOTAL_FORMS": "0",
        "timeline-INITIAL_FORMS": "0",
    }

    refused = manager.post(url, form)
    saved = manager.post(url, {**form, "phone_number": "+44 (0) 20 7946 0000"})

    assert refused.status_code == 200
    assert "Enter the number with its country code" in refused.content.decode()
    assert saved.status_code == 302, saved.content.decode()[-2000:]
    with partner_scope(partner):
        assert Onboarding.objects.get().phone_number == "442079460000"


def test_a_launch_that_cannot_build_its_link_changes_nothing(partner):
    http = HttpClient()
    onboarding = start(http, partner)
    first = http.post(launch_url(onboarding))
    assert first.status_code == 302
    with partner_scope(partner):
        launched = Onboarding.objects.get()
        # A number stored before numbers were validated everywhere.
        Onboarding.objects.filter(pk=onboarding.pk).update(phone_number="12ab")

    response = http.post(launch_url(onboarding))

    assert response.status_code == 400
    assert "Your details could not be sent to 360Dialog" in response.content.decode()
    with partner_scope(partner):
        # The token the open popup carries still works.
        assert Onboarding.objects.get().return_token_hash == launched.return_token_hash
        assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.LAUNCHED).count() == 1


def returned_token(http: HttpClient, onboarding: Onboarding) -> str:
    location = http.post(launch_url(onboarding))["Location"]
    match = re.search(r"%2Fr%2F([^%]+)%2F", location)
    assert match is not None
    return match.group(1)


def test_the_return_url_opens_the_status_only_in_the_browser_that_started_it(partner):
    started = HttpClient()
    onboarding = start(started, partner)
    token = returned_token(started, onboarding)
    url = f"/p/acme/r/{token}/?client=c1x&channels=[a1]"
    assert started.get(url).status_code == 200  # the popup, in the same browser

    elsewhere = HttpClient()
    refused = elsewhere.get(url)

    assert refused.status_code == 400
    assert "This link was already used." in refused.content.decode()
    assert elsewhere.get(f"/p/acme/o/{onboarding.public_id}/status.json").status_code == 404
    assert started.get(url).status_code == 200  # a reload where it started still works
    assert started.get(f"/p/acme/o/{onboarding.public_id}/status.json").status_code == 200


def test_a_first_return_in_another_browser_may_follow_and_no_third_one(partner):
    started = HttpClient()
    onboarding = start(started, partner)
    url = f"/p/acme/r/{returned_token(started, onboarding)}/?client=c1x&channels=[a1]"

    other = HttpClient()  # 360Dialog finished in another browser
    assert other.get(url).status_code == 200
    assert other.get(f"/p/acme/o/{onboarding.public_id}/status.json").status_code == 200
    assert started.get(url).status_code == 200
    assert HttpClient().get(url).status_code == 400


def test_a_token_less_return_url_does_not_open_in_another_browser(partner):
    url = "/p/acme/r/?client=c9x&channels=[z9]"
    first = HttpClient()
    assert first.get(url).status_code == 200
    assert first.get(url).status_code == 200

    assert HttpClient().get(url).status_code == 400
    with partner_scope(partner):
        assert Onboarding.objects.count() == 1
