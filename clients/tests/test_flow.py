"""The end client's path, server side: signup, launch, return (every bad case), status."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from channels.models import ApiKey, Channel
from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.models import Client, Invite, Onboarding, TimelineEntry
from clients.proof import onboarding_link_code
from clients.tests.factories import ClientFactory, OnboardingFactory
from dialog360.signatures import io_signature_matches
from portal.models import Partner
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory
from portal.tokens import token_hash

pytestmark = pytest.mark.django_db
HUB = "https://hub.example"


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory.create(
        slug="acme",
        name="Acme Telecom",
        hub_partner_id="aAbBcCPA",
        hub_url=HUB,
        headline="WhatsApp for your shop",
        support_email="help@acme.example",
    )


def start(http, partner, **data) -> Onboarding:
    response = http.post(
        f"/p/{partner.slug}/",
        {
            "email": "ada@example.com",
            "contact_name": "Ada",
            "phone_number": "+49 151 12345678",
            **data,
        },
    )
    assert response.status_code == 302, response.content
    public_id = response["Location"].rstrip("/").split("/")[-1]
    with partner_scope(partner):
        return Onboarding.objects.get(public_id=public_id)


def launch(http, partner, onboarding) -> tuple[str, dict[str, str]]:
    response = http.post(f"/p/{partner.slug}/o/{onboarding.public_id}/launch/")
    assert response.status_code == 302
    location = response["Location"]
    return location, dict(parse_qsl(urlsplit(location).query))


def token_of(params):
    return urlsplit(params["redirect_url"]).path.split("/")[-2]


def test_the_signup_page_is_branded_accessible_and_allows_popups(partner):
    response = HttpClient().get("/p/acme/")

    text = response.content.decode()
    assert response.status_code == 200
    assert response["Cross-Origin-Opener-Policy"] == "same-origin-allow-popups"
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"  # no inline script at all (a nonce when one is used)
    assert policy["frame-ancestors"] == "'none'"
    assert "WhatsApp for your shop" in text and "help@acme.example" in text
    assert '<label for="id_email">E-mail address</label>' in text
    assert 'autocomplete="email"' in text


def test_the_page_is_german_on_request(partner):
    response = HttpClient().get("/p/acme/?lang=de")

    text = response.content.decode()
    assert response["Content-Language"] == "de"
    assert '<html lang="de">' in text
    assert '<label for="id_email">E-Mail-Adresse</label>' in text
    assert ">Weiter<" in text


def test_the_browser_language_is_used_without_lang(partner):
    response = HttpClient().get("/p/acme/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")

    assert response["Content-Language"] == "de"


def test_errors_are_shown_next_to_their_fields_and_nothing_is_made(partner):
    http = HttpClient()
    posted = http.post("/p/acme/", {"email": "not-an-email", "phone_number": "12ab"})
    # Post/redirect/get: Back or reload never posts the form again.
    assert (posted.status_code, posted["Location"]) == (302, "/p/acme/?lang=en")
    response = http.get(posted["Location"])

    text = response.content.decode()
    assert response.status_code == 200
    assert 'value="not-an-email"' in text
    assert 'aria-describedby="id_email_error"' in text
    assert (
        '<div class="form__error" id="id_email_error" role="alert"><p>Enter a valid email address.'
        in text
    )
    assert 'aria-describedby="id_phone_number_helptext id_phone_number_error"' in text
    assert "Enter the number with its country code" in text
    with partner_scope(partner):
        assert Onboarding.objects.count() == 0


def test_signup_starts_an_onboarding(partner):
    http = HttpClient()
    onboarding = start(http, partner, lang="de")

    assert (
        onboarding.email,
        onboarding.contact_name,
        onboarding.phone_number,
        onboarding.lang,
    ) == (
        "ada@example.com",
        "Ada",
        "4915112345678",
        "de",
    )
    assert onboarding.status == Onboarding.Status.STARTED
    page = http.get(f"/p/acme/o/{onboarding.public_id}/")
    assert page["Cross-Origin-Opener-Policy"] == "same-origin-allow-popups"
    assert "WhatsApp verbinden" in page.content.decode()  # the onboarding's language


def test_launch_redirects_to_the_hub_with_every_parameter(partner):
    http = HttpClient()
    onboarding = start(http, partner)

    location, params = launch(http, partner, onboarding)

    assert location.startswith(f"{HUB}/dashboard/app/aAbBcCPA/permissions?email=")
    assert list(params) == [
        "email",
        "name",
        "number",
        "state",
        "redirect_url",
        "partner",
        "next",
        "lang",
        "plan_selection",
    ]
    assert params["state"] == str(onboarding.public_id)
    assert params["partner"] == onboarding_link_code(onboarding)  # signed: only this link has it
    assert (params["email"], params["name"], params["number"]) == (
        "ada@example.com",
        "Ada",
        "4915112345678",
    )
    assert (params["next"], params["lang"], params["plan_selection"]) == ("signup", "en", "regular")
    token = token_of(params)
    assert params["redirect_url"] == f"https://portal.test/p/acme/r/{token}/"
    onboarding.refresh_from_db()
    assert onboarding.return_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert onboarding.status == Onboarding.Status.OPENED


def test_every_launch_mints_a_fresh_token_and_io_signature():
    partner = PartnerFactory.create(
        slug="signed",
        hub_url=HUB,
        hub_partner_id="sigPA",
        platform_secret="s3cret",
        io_signature_enabled=True,
    )
    http = HttpClient()
    onboarding = start(http, partner)

    _, first = launch(http, partner, onboarding)
    _, second = launch(http, partner, onboarding)

    assert token_of(first) != token_of(second)
    for params in (first, second):
        assert io_signature_matches(
            "sigPA", "s3cret", params["io_signature"], params["io_timestamp"]
        )
    with partner_scope(partner):
        assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.LAUNCHED).count() == 2


def returned(http, partner, token, query):
    return http.get(f"/p/{partner.slug}/r/{token}/?{query}")


def test_a_return_records_what_it_said_and_enqueues_a_check(
    partner, django_capture_on_commit_callbacks
):
    http = HttpClient()
    onboarding = start(http, partner)
    token = token_of(launch(http, partner, onboarding)[1])

    with django_capture_on_commit_callbacks() as callbacks:
        response = returned(
            http, partner, token, "client=oaY9LLfUCL&channels=%5By9MiLoCH%2CabC123%5D"
        )

    text = response.content.decode()
    assert response.status_code == 200
    assert response["Cross-Origin-Opener-Policy"] == "unsafe-none"  # keeps its opener
    assert f'data-status-page="/p/acme/o/{onboarding.public_id}/"' in text
    assert 'data-origin="https://portal.test"' in text
    # The Partner API check (the onboarding.returned event wakes the relay by its trigger).
    assert len(callbacks) == 1
    onboarding.refresh_from_db()
    assert onboarding.status == Onboarding.Status.RETURNED
    assert onboarding.return_data == {
        "client": "oaY9LLfUCL",
        "channels": ["y9MiLoCH", "abC123"],
        "revoked": [],
    }
    # Unauthenticated parameters: nothing is linked or created before the Partner API says so.
    assert onboarding.client is None
    with partner_scope(partner):
        assert (Client.objects.count(), Channel.objects.count()) == (0, 0)


def test_a_forged_return_cannot_touch_another_clients_number():
    partner = PartnerFactory.create(
        slug="direct", hub_url=HUB, payment_mode=Partner.PaymentMode.DIRECT
    )
    victim = ClientFactory.create(partner=partner, hub_client_id="vicCLIENT")
    channel = ChannelFactory.create(
        client=victim,
        onboarding=OnboardingFactory.create(partner=partner, client=victim),
        hub_channel_id="vicCHAN",
        status="running",
        permission="granted",
    )
    ApiKeyFactory.create(channel=channel)
    http = HttpClient()
    onboarding = start(http, partner)
    token = token_of(launch(http, partner, onboarding)[1])

    returned(http, partner, token, "client=vicCLIENT&channels=[]&revoked=[vicCHAN]")
    http.get("/p/direct/r/?client=vicCLIENT&channels=[vicCHAN]")

    with partner_scope(partner):
        before = channel.onboarding_id
        channel.refresh_from_db()
        assert (channel.onboarding_id, channel.permission) == (before, "granted")
        assert Onboarding.objects.get(channels=channel).client == victim
        assert ApiKey.objects.get().revoked_at is None
        assert Onboarding.objects.filter(client=victim).count() == 1


def assert_refused(response, message, partner, before):
    assert response.status_code == 400
    assert message in response.content.decode()
    with partner_scope(partner):
        assert (Onboarding.objects.count(), Channel.objects.count()) == before
        assert Client.objects.count() == 0
        assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.RETURNED).count() <= 1


def test_bad_returns_get_a_clear_error_and_change_nothing(partner):
    http = HttpClient()
    onboarding = start(http, partner)
    token = token_of(launch(http, partner, onboarding)[1])
    other = PartnerFactory.create(slug="other", hub_url=HUB)
    other_onboarding = start(http, other)
    other_token = token_of(launch(http, other, other_onboarding)[1])

    assert_refused(
        returned(http, partner, "forged-token", "client=c1&channels=[a1]"),
        "This link is not valid",
        partner,
        (1, 0),
    )
    assert_refused(
        returned(http, partner, other_token, "client=c1&channels=[a1]"),
        "This link belongs to another provider.",
        partner,
        (1, 0),
    )
    assert_refused(
        returned(http, partner, token, "client=c1&channels=a1"),
        "360Dialog&#x27;s answer could not be read.",
        partner,
        (1, 0),
    )
    assert_refused(
        returned(http, partner, token, "channels=[a1]"),
        "360Dialog&#x27;s answer could not be read.",
        partner,
        (1, 0),
    )
    with partner_scope(partner):
        Onboarding.objects.filter(pk=onboarding.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    assert_refused(
        returned(http, partner, token, "client=c1&channels=[a1]"),
        "This link has expired",
        partner,
        (1, 0),
    )


def test_a_replay_with_the_same_data_is_harmless_and_with_other_data_refused(partner):
    http = HttpClient()
    onboarding = start(http, partner)
    token = token_of(launch(http, partner, onboarding)[1])
    assert returned(http, partner, token, "client=c1&channels=[a1]").status_code == 200

    again = returned(http, partner, token, "client=c1&channels=%5Ba1%5D")
    forged = returned(http, partner, token, "client=c2&channels=[a1,b2]")

    assert again.status_code == 200
    assert_refused(forged, "This link was already used.", partner, (1, 0))
    onboarding.refresh_from_db()
    assert onboarding.return_data["client"] == "c1"
    with partner_scope(partner):
        assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.RETURNED).count() == 1


def test_a_return_without_our_token_is_unverified(partner, django_capture_on_commit_callbacks):
    browser = HttpClient()
    with django_capture_on_commit_callbacks() as callbacks:
        response = browser.get("/p/acme/r/?client=c9&channels=[z9]")

    assert response.status_code == 200
    # The Partner API check (the onboarding.returned event wakes the relay by its trigger).
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        again = browser.get("/p/acme/r/?client=c9&channels=[z9]")  # a reload: the same one
    assert again.status_code == 200
    assert callbacks == []  # no second check
    with partner_scope(partner):
        onboarding = Onboarding.objects.get()
        assert onboarding.verified is False
        assert onboarding.client is None
        assert Channel.objects.count() == 0


def test_the_status_json_explains_each_channel(partner):
    http = HttpClient()
    onboarding = start(http, partner, lang="de")
    token = token_of(launch(http, partner, onboarding)[1])
    returned(http, partner, token, "client=c1&channels=[a1]")
    with partner_scope(partner):
        ChannelFactory.create(
            client=ClientFactory.create(partner=partner),
            onboarding=onboarding,
            status="submitted",
            phone_number="4915112345678",
        )

    data = http.get(f"/p/acme/o/{onboarding.public_id}/status.json").json()

    assert data == {
        "status": "returned",
        "returned": True,
        "done": False,
        "headline": "Ihre Nummer ist auf dem Weg. Diese Seite aktualisiert sich von selbst.",
        "dead_end": "",
        "wait": "",
        "channels": [
            {
                "number": "+49 1511 2345678",
                "step": "submitted",
                "steps_done": ["created"],
                "steps": [
                    {"name": "created", "label": "Registriert", "state": "done"},
                    {"name": "submitted", "label": "Geprüft", "state": "current"},
                    {"name": "ready", "label": "Freigegeben", "state": "todo"},
                    {"name": "running", "label": "Eingeschaltet", "state": "todo"},
                    {"name": "key", "label": "Verbunden", "state": "todo"},
                    {"name": "live", "label": "Live", "state": "todo"},
                ],
                "label": "Wird geprüft",
                "explanation": "Meta prüft Ihr Unternehmen und Ihre Nummer. "
                "Das dauert meist nur wenige Minuten.",
                "failed": False,
                "wait": "",
                "late": False,
            }
        ],
    }


def test_only_the_browser_that_started_an_onboarding_may_follow_it(partner):
    onboarding = start(HttpClient(), partner)
    stranger = HttpClient()

    for path in ("", "status.json"):
        assert stranger.get(f"/p/acme/o/{onboarding.public_id}/{path}").status_code == 404
    assert stranger.post(f"/p/acme/o/{onboarding.public_id}/launch/").status_code == 404


def test_an_unknown_onboarding_is_404(partner):
    assert HttpClient().get("/p/acme/o/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_an_invite_prefills_the_form_until_it_expires_or_is_revoked(partner):
    token = "invite-token-0000000001"
    invite = Invite.objects.create(
        partner=partner,
        token_hash=token_hash(token),
        email="bea@example.com",
        contact_name="Bea",
        phone_number="4915100000000",
        partner_payload="crm-42",
        expires_at=timezone.now() + timedelta(days=1),
    )
    text = HttpClient().get(f"/p/acme/?invite={token}").content.decode()
    assert 'value="bea@example.com"' in text and 'value="crm-42"' not in text

    onboarding = start(HttpClient(), partner, invite=token)
    assert onboarding.partner_payload == "crm-42"

    with partner_scope(partner):
        Invite.objects.filter(pk=invite.pk).update(revoked_at=timezone.now())
    assert (
        'value="bea@example.com"'
        not in HttpClient().get(f"/p/acme/?invite={token}").content.decode()
    )


def test_return_tokens_never_reach_the_logs(partner, caplog):
    HttpClient().get("/p/acme/r/secret-token-123/?client=c1&channels=[a1]")

    assert "secret-token-123" not in caplog.text
    assert re.search(r"/p/acme/r/\[redacted\]/", caplog.text)
