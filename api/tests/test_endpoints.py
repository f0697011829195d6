"""Outbound endpoints through the API: list, add (secret shown once), rotate, disable; the
`endpoints` scope; and where an onboarding is (the `step` filter)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from api.tests.factories import ApiTokenFactory, bearer
from channels.models import Channel
from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.models import Onboarding
from clients.tests.factories import OnboardingFactory
from events.services import domain_event_record
from outbound.models import Delivery, Endpoint
from outbound.services import domain_event_relay, endpoint_create
from portal.tenancy import partner_scope

pytestmark = pytest.mark.django_db


def test_an_endpoint_added_through_the_api_shows_its_secret_once(client):
    token = ApiTokenFactory.create(scopes=["endpoints"])

    made = client.post(
        "/api/v1/endpoints",
        {"url": "https://crm.example/hooks", "event_types": ["channel.api_key_ready"]},
        content_type="application/json",
        **bearer(token),
    )
    listed = client.get("/api/v1/endpoints", **bearer(token))

    assert made.status_code == 201
    body = made.json()
    with partner_scope(token.partner):
        endpoint = Endpoint.objects.get()
    assert body["id"] == str(endpoint.public_id)
    assert body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_")
    assert made["Location"] == f"/api/v1/endpoints/{endpoint.public_id}"
    assert made["Cache-Control"] == "no-store"
    assert (endpoint.url, endpoint.event_types, endpoint.partner_id) == (
        "https://crm.example/hooks",
        ["channel.api_key_ready"],
        token.partner_id,
    )
    assert listed.json()["results"] == [
        {
            "id": str(endpoint.public_id),
            "url": "https://crm.example/hooks",
            "event_types": ["channel.api_key_ready"],
            "enabled": True,
            "failing_since": None,
            "disabled_reason": "",
            "created_at": endpoint.created_at.isoformat().replace("+00:00", "Z"),
        }
    ]


def test_rotating_gives_a_new_secret_and_the_old_one_signs_for_a_day(client):
    token = ApiTokenFactory.create(scopes=["endpoints"])
    with partner_scope(token.partner):
        endpoint, old = endpoint_create(partner=token.partner, url="https://crm.example/h")

    response = client.post(f"/api/v1/endpoints/{endpoint.public_id}/rotate-secret", **bearer(token))

    assert response.status_code == 200
    new = response.json()["secret"]
    endpoint.refresh_from_db()
    assert (endpoint.secret, endpoint.previous_secret) == (new, old)
    assert new != old
    assert endpoint.previous_secret_until is not None
    assert response.json()["previous_secret_until"] == (
        endpoint.previous_secret_until.isoformat().replace("+00:00", "Z")
    )
    assert Webhook(new) and Webhook(old)  # both are valid Standard Webhooks secrets


def test_disabling_stops_sending_and_keeps_the_endpoint(client):
    token = ApiTokenFactory.create(scopes=["endpoints"])
    with partner_scope(token.partner):
        endpoint, _ = endpoint_create(partner=token.partner, url="https://crm.example/h")
        event = domain_event_record(partner=token.partner, type="onboarding.started", data={})
        domain_event_relay(event_id=event.pk)

    response = client.post(
        f"/api/v1/endpoints/{endpoint.public_id}/disable",
        {"reason": "moving to a new CRM"},
        content_type="application/json",
        **bearer(token),
    )

    assert response.status_code == 200
    assert (response.json()["enabled"], response.json()["disabled_reason"]) == (
        False,
        "moving to a new CRM",
    )
    with partner_scope(token.partner):
        assert list(Delivery.objects.values_list("status", "last_error")) == [
            ("failed", "endpoint disabled")
        ]
        later = domain_event_record(partner=token.partner, type="onboarding.live", data={})
        assert domain_event_relay(event_id=later.pk) == 0


def test_endpoints_need_their_scope_and_plain_http_is_refused_in_production(client, settings):
    settings.OUTBOUND_ALLOW_HTTP = False
    reader = ApiTokenFactory.create(scopes=["read", "invites", "keys"])
    manager = ApiTokenFactory.create(scopes=["endpoints"])

    refused = client.get("/api/v1/endpoints", **bearer(reader))
    plain = client.post(
        "/api/v1/endpoints",
        {"url": "http://crm.example/hooks"},
        content_type="application/json",
        **bearer(manager),
    )

    assert refused.status_code == 403
    assert refused.json()["detail"] == "This token lacks the 'endpoints' scope."
    assert plain.status_code == 400
    assert plain.json()["errors"] == {"url": ["Endpoints must use https://."]}
    with partner_scope(manager.partner):
        assert Endpoint.objects.count() == 0


def test_the_step_filter_finds_onboardings_by_where_they_are(client):
    token = ApiTokenFactory.create(scopes=["read"])
    partner = token.partner
    now = timezone.now()
    with partner_scope(partner):
        started = OnboardingFactory.create(partner=partner)
        opened = OnboardingFactory.create(partner=partner, status="opened", opened_at=now)
        returned = OnboardingFactory.create(
            partner=partner, status="returned", opened_at=now, returned_at=now
        )
        running = OnboardingFactory.create(partner=partner, status="returned", returned_at=now)
        ChannelFactory.create(
            client__partner=partner, onboarding=running, status=Channel.Status.RUNNING
        )
        keyed = OnboardingFactory.create(partner=partner, status="returned", returned_at=now)
        ApiKeyFactory.create(
            channel__client__partner=partner,
            channel__onboarding=keyed,
            channel__status=Channel.Status.RUNNING,
        )
        live = OnboardingFactory.create(partner=partner, status=Onboarding.Status.LIVE)

    def found(query: str) -> list[str]:
        response = client.get(f"/api/v1/onboardings?{query}", **bearer(token))
        assert response.status_code == 200
        return sorted(row["id"] for row in response.json()["results"])

    def ids(*onboardings: Onboarding) -> list[str]:
        return sorted(str(o.public_id) for o in onboardings)

    assert found("step=started") == ids(started)
    assert found("step=opened") == ids(opened)
    assert found("step=returned") == ids(returned)
    assert found("step=running") == ids(running)
    assert found("step=key") == ids(keyed)
    assert found("step=live") == ids(live)
    assert found("step=running&step=key") == ids(running, keyed)
    bad = client.get("/api/v1/onboardings?step=nowhere", **bearer(token))
    assert bad.status_code == 400
