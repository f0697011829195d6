"""A token of one partner sees nothing of another: every endpoint that names an object
answers 404 for the other partner's, and no list shows its rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from api.tests.factories import ApiTokenFactory, bearer
from audit.models import AuditEntry
from channels.tests.factories import ApiKeyFactory
from clients.tests.factories import OnboardingFactory
from events.models import DomainEvent
from events.services import domain_event_record
from outbound.services import endpoint_create
from portal.tenancy import partner_scope

pytestmark = pytest.mark.django_db

# Every route with an id, as (method, path); {onboarding}, {client}, {channel} and {invite}
# are filled with partner B's public ids.
OBJECT_ROUTES = [
    ("get", "/api/v1/onboardings/{onboarding}"),
    ("post", "/api/v1/onboardings/{onboarding}/resync"),
    ("get", "/api/v1/clients/{client}"),
    ("get", "/api/v1/channels/{channel}"),
    ("get", "/api/v1/channels/{channel}/api-key"),
    ("post", "/api/v1/channels/{channel}/resync"),
    ("get", "/api/v1/invites/{invite}"),
    ("post", "/api/v1/invites/{invite}/revoke"),
    ("get", "/api/v1/endpoints/{endpoint}"),
    ("post", "/api/v1/endpoints/{endpoint}/rotate-secret"),
    ("post", "/api/v1/endpoints/{endpoint}/disable"),
]
LIST_ROUTES = [
    "/api/v1/onboardings",
    "/api/v1/clients",
    "/api/v1/channels",
    "/api/v1/invites",
    "/api/v1/endpoints",
]


def test_the_route_map_is_complete():
    from django.urls import get_resolver

    api = get_resolver().url_patterns
    names = {
        p.name
        for top in api
        if str(top.pattern) == "api/v1/"
        for inc in top.url_patterns  # type: ignore[union-attr]
        for p in getattr(inc, "url_patterns", [inc])
        if p.name
        and p.name.endswith(
            ("-detail", "-api-key", "-resync", "-revoke", "-rotate-secret", "-disable")
        )
    }
    assert len(names) == len(OBJECT_ROUTES)


def partner_b_objects():
    token_b = ApiTokenFactory.create(partner__api_key_reads_enabled=True)
    with partner_scope(token_b.partner):
        key = ApiKeyFactory.create(channel__client__partner=token_b.partner)
        onboarding = OnboardingFactory.create(partner=token_b.partner)
    from api.services import invite_create

    with partner_scope(token_b.partner):
        invite, _ = invite_create(partner=token_b.partner, email="b@b.example")
        endpoint, _ = endpoint_create(partner=token_b.partner, url="https://b.example/hooks")
    return {
        "endpoint": endpoint.public_id,
        "onboarding": onboarding.public_id,
        "client": key.channel.client.hub_client_id,
        "channel": key.channel.hub_channel_id,
        "invite": invite.public_id,
    }, token_b


@pytest.mark.parametrize(("method", "path"), OBJECT_ROUTES)
def test_a_token_gets_404_for_every_object_of_another_partner(client, method, path):
    token_a = ApiTokenFactory.create(partner__api_key_reads_enabled=True)
    ids, token_b = partner_b_objects()
    url = path.format(**ids)

    response = getattr(client, method)(url, **bearer(token_a))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert getattr(client, method)(url, **bearer(token_b)).status_code in (200, 202)
    with partner_scope(token_a.partner):
        assert AuditEntry.objects.count() == 0


@pytest.mark.parametrize("path", [*LIST_ROUTES, "/api/v1/events"])
def test_lists_show_nothing_of_another_partner(client, path):
    token_a = ApiTokenFactory.create()
    _, token_b = partner_b_objects()
    with partner_scope(token_b.partner):
        domain_event_record(partner=token_b.partner, type="onboarding.started", data={})
        DomainEvent.objects.update(created_at=timezone.now() - timedelta(minutes=1))
    assert client.get(path, **bearer(token_b)).json()["results"] != []

    body = client.get(path, **bearer(token_a)).json()

    assert body["results"] == []
