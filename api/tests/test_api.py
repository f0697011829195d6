"""The partner API over HTTP: authentication, scopes, problem documents, resources."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from api.models import ApiToken
from api.tests.factories import ApiTokenFactory, bearer
from audit.models import AuditEntry
from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.models import Invite, Onboarding
from clients.tests.factories import ClientFactory, OnboardingFactory
from portal.tenancy import all_partners_scope, partner_scope
from portal.tokens import token_hash

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def test_no_token_is_401_problem_with_a_challenge(client):
    response = client.get("/api/v1/onboardings")

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Authentication credentials were not provided.",
        "instance": "/api/v1/onboardings",
        "code": "not_authenticated",
    }


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"revoked_at": timezone.now()}, "The token was revoked."),
        ({"expires_at": timezone.now() - timedelta(seconds=1)}, "The token has expired."),
    ],
)
def test_revoked_or_expired_token_is_401(client, change, detail):
    token = ApiTokenFactory.create(**change)

    response = client.get("/api/v1/onboardings", **bearer(token))

    assert response.status_code == 401
    assert response.json()["detail"] == detail
    assert response.json()["code"] == "authentication_failed"


def test_unknown_or_malformed_token_is_401(client):
    for header in ("Bearer ppt_" + "x" * 43, "Bearer \x00", "Bearer a b", "Bearer ppt_é"):
        response = client.get("/api/v1/onboardings", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header


def test_token_of_an_inactive_partner_is_401(client):
    token = ApiTokenFactory.create(partner__is_active=False)

    assert client.get("/api/v1/channels", **bearer(token)).status_code == 401


def test_use_is_recorded_on_the_token(client):
    token = ApiTokenFactory.create()

    client.get("/api/v1/clients", REMOTE_ADDR="203.0.113.7", **bearer(token))

    with partner_scope(token.partner):
        token.refresh_from_db()
    assert token.last_used_ip == "203.0.113.7"
    assert token.last_used_at is not None
    assert token.token_hash == token_hash(token.__dict__["secret"])
    assert token.prefix == token.__dict__["secret"][:12]


@pytest.mark.parametrize(
    ("method", "path", "scopes"),
    [
        ("get", "/api/v1/onboardings", ["invites", "keys"]),
        ("post", "/api/v1/invites", ["read", "keys"]),
        ("get", "/api/v1/channels/ch1/api-key", ["read", "invites"]),
    ],
)
def test_missing_scope_is_403(client, method, path, scopes):
    token = ApiTokenFactory.create(scopes=scopes)

    response = getattr(client, method)(path, content_type="application/json", **bearer(token))

    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "permission_denied"


def test_onboardings_list_filters_and_shows_public_ids(client):
    token = ApiTokenFactory.create()
    partner = token.partner
    with partner_scope(partner):
        customer = ClientFactory.create(partner=partner, hub_client_id="cl-ada")
        wanted = OnboardingFactory.create(
            partner=partner,
            client=customer,
            email="ada@bakery.example",
            phone_number="4915112345678",
            partner_payload="CRM-1",
            status=Onboarding.Status.RETURNED,
        )
        ChannelFactory.create(
            partner=partner, client=customer, onboarding=wanted, hub_channel_id="ch-ada"
        )
        OnboardingFactory.create(partner=partner, status=Onboarding.Status.STARTED)

    response = client.get(
        "/api/v1/onboardings",
        {"status": "returned", "phone": "+49 151 1234-5678", "crm_reference": "CRM-1"},
        **bearer(token),
    )

    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["results"]] == [str(wanted.public_id)]
    row = body["results"][0]
    assert (row["client"], row["channels"], row["email"]) == (
        "cl-ada",
        ["ch-ada"],
        "ada@bakery.example",
    )
    assert "pk" not in row
    assert body["next"] is None


def test_bad_filter_value_is_400_with_the_field(client):
    token = ApiTokenFactory.create()

    response = client.get("/api/v1/onboardings", {"phone": "hello"}, **bearer(token))

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "invalid"
    assert list(response.json()["errors"]) == ["phone"]


def test_stuck_filter_finds_unfinished_onboardings_unchanged_for_a_day(client):
    token = ApiTokenFactory.create()
    with partner_scope(token.partner):
        stuck = OnboardingFactory.create(partner=token.partner, status=Onboarding.Status.OPENED)
        OnboardingFactory.create(partner=token.partner, status=Onboarding.Status.OPENED)
        Onboarding.objects.filter(pk=stuck.pk).update(
            updated_at=timezone.now() - timedelta(hours=25)
        )

    response = client.get("/api/v1/onboardings", {"stuck": "true"}, **bearer(token))

    assert [row["id"] for row in response.json()["results"]] == [str(stuck.public_id)]


def test_cursor_pagination_walks_every_row_once(client):
    token = ApiTokenFactory.create()
    with partner_scope(token.partner):
        made = {str(OnboardingFactory.create(partner=token.partner).public_id) for _ in range(5)}

    seen: list[str] = []
    url: str | None = "/api/v1/onboardings?page_size=2&ordering=created_at"
    while url:
        body = client.get(url, **bearer(token)).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]

    assert len(seen) == 5
    assert set(seen) == made


def test_a_malformed_id_is_404_not_500(client):
    token = ApiTokenFactory.create()

    response = client.get("/api/v1/onboardings/not-a-uuid", **bearer(token))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_unknown_path_is_a_404_problem(client):
    response = client.get("/api/v1/nothing/here")

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM


def test_invite_create_returns_the_link_once_and_revoke_ends_it(client):
    token = ApiTokenFactory.create(scopes=["read", "invites"])

    made = client.post(
        "/api/v1/invites",
        {"email": "ada@bakery.example", "phone_number": "+49 151 12345678", "crm_reference": "C7"},
        content_type="application/json",
        **bearer(token),
    )

    assert made.status_code == 201
    body = made.json()
    assert body["link"].startswith(f"https://portal.test/p/{token.partner.slug}/?invite=")
    assert (body["phone_number"], body["crm_reference"], body["state"]) == (
        "4915112345678",
        "C7",
        "open",
    )
    listed = client.get("/api/v1/invites", **bearer(token)).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert "link" not in listed[0]

    revoked = client.post(f"/api/v1/invites/{body['id']}/revoke", **bearer(token))

    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    with partner_scope(token.partner):
        assert Invite.objects.get().revoked_at is not None


def test_api_key_read_is_off_by_default_and_audited(client):
    token = ApiTokenFactory.create(scopes=["keys"])
    with partner_scope(token.partner):
        key = ApiKeyFactory.create(channel__client__partner=token.partner)

    response = client.get(f"/api/v1/channels/{key.channel.hub_channel_id}/api-key", **bearer(token))

    assert response.status_code == 403
    assert response.json()["code"] == "api_key_reads_disabled"
    assert response.json()["type"] == (
        "https://portal.test/api/v1/docs/#problem-api_key_reads_disabled"
    )
    with partner_scope(token.partner):
        entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome, entry.actor, entry.target_id) == (
        "api_key.read",
        "refused",
        f"API token {token.name}",
        key.channel.hub_channel_id,
    )


def test_api_key_read_returns_the_current_key_and_audits_it(client):
    token = ApiTokenFactory.create(scopes=["keys"], partner__api_key_reads_enabled=True)
    with partner_scope(token.partner):
        key = ApiKeyFactory.create(
            channel__client__partner=token.partner,
            address="https://waba-v2.360dialog.io",
            app_id="app-1",
        )
    channel_id = key.channel.hub_channel_id

    response = client.get(f"/api/v1/channels/{channel_id}/api-key", **bearer(token))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "channel": channel_id,
        "api_key": key.key,
        "address": "https://waba-v2.360dialog.io",
        "app_id": "app-1",
        "created_at": key.created_at.isoformat().replace("+00:00", "Z"),
        "fingerprint": key.fingerprint,
        "last4": key.last4,
    }
    with partner_scope(token.partner):
        entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.data) == (
        "ok",
        {"token_prefix": token.prefix, "fingerprint": key.fingerprint},
    )


def test_api_key_reads_are_throttled_per_token(client, monkeypatch):
    from api.throttling import ApiKeyReadThrottle

    monkeypatch.setattr(ApiKeyReadThrottle, "THROTTLE_RATES", {"api_key": "2/h", "token": "99/m"})
    token = ApiTokenFactory.create(scopes=["keys"], partner__api_key_reads_enabled=True)
    other = ApiTokenFactory.create(partner=token.partner, scopes=["keys"], name="other")
    with partner_scope(token.partner):
        key = ApiKeyFactory.create(channel__client__partner=token.partner)
    url = f"/api/v1/channels/{key.channel.hub_channel_id}/api-key"

    statuses = [client.get(url, **bearer(token)).status_code for _ in range(3)]
    refused = client.get(url, **bearer(token))

    assert statuses == [200, 200, 429]
    assert refused["Content-Type"] == PROBLEM
    assert 3000 <= int(refused["Retry-After"]) <= 3600
    assert refused.json()["code"] == "throttled"
    assert client.get(url, **bearer(other)).status_code == 200


def test_resync_queues_a_check_and_answers_202(client, django_capture_on_commit_callbacks):
    token = ApiTokenFactory.create(scopes=["read"])
    with partner_scope(token.partner):
        onboarding = OnboardingFactory.create(partner=token.partner)
        channel = ChannelFactory.create(
            client__partner=token.partner, onboarding=None, hub_channel_id="ch-9"
        )

    with django_capture_on_commit_callbacks() as queued:
        first = client.post(f"/api/v1/onboardings/{onboarding.public_id}/resync", **bearer(token))
        second = client.post("/api/v1/channels/ch-9/resync", **bearer(token))

    assert first.status_code == 202
    assert first.json() == {
        "status": "queued",
        "check": "channels.check_onboarding",
        "resource": f"/api/v1/onboardings/{onboarding.public_id}",
        "events": "/api/v1/events",
    }
    assert first["Location"] == f"/api/v1/onboardings/{onboarding.public_id}"
    assert second.json()["check"] == "channels.reconcile_partner"
    assert len(queued) == 2
    assert channel.pk


def test_token_admin_shows_the_token_once_and_revokes(client):
    from portal.tests.factories import MembershipFactory

    membership = MembershipFactory.create()
    client.force_login(membership.user)

    response = client.post(
        "/admin/api/apitoken/add/",
        {"partner": membership.partner.pk, "name": "CRM sync", "scopes": ["read", "keys"]},
    )

    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret.startswith("ppt_")
    with all_partners_scope():
        token = ApiToken.objects.get()
    assert (token.name, token.scopes, token.token_hash) == (
        "CRM sync",
        ["keys", "read"],
        token_hash(secret),
    )
    assert client.get("/api/v1/clients", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200

    client.post(
        "/admin/api/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    assert client.get("/api/v1/clients", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_a_time_with_any_offset_filters_as_utc_and_one_utc_cannot_hold_is_400(client):
    token = ApiTokenFactory.create()

    far = client.get("/api/v1/clients?updated_after=0502-10-15T10:14:39-18:33", **bearer(token))
    before_year_1 = client.get(
        "/api/v1/clients?created_after=0001-01-01T00:14:20%2B11:38", **bearer(token)
    )

    assert far.status_code == 200
    assert before_year_1.status_code == 400
    assert before_year_1.json()["errors"] == {
        "created_after": ["Enter a time between the years 1 and 9999."]
    }


def test_a_cursor_we_did_not_make_is_400(client):
    token = ApiTokenFactory.create()

    response = client.get("/api/v1/channels?cursor=bm90LW91cnM", **bearer(token))

    assert response.status_code == 400
    assert response.json()["errors"] == {"cursor": ["Not a cursor from `next`."]}


def test_a_post_to_no_endpoint_is_a_404_problem_without_a_csrf_token():
    from django.test import Client as HttpClient

    token = ApiTokenFactory.create()
    authorization = bearer(token)["HTTP_AUTHORIZATION"]
    response = HttpClient(enforce_csrf_checks=True).post(
        "/api/v1/nothing/here", HTTP_AUTHORIZATION=authorization
    )

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
