"""Two partners, Alpha and Bravo, and staff of Alpha only: no admin page shows anything of Bravo.

Every row of Bravo carries the word "bravo" in a field the admin lists or searches, so "bravo"
appearing anywhere in a page is a leak. Each check is first made as a superuser, who must see
Bravo, so that none of these tests can pass by looking at an empty page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import models
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.models import Invite
from clients.tests.factories import (
    ClientFactory,
    NotificationFactory,
    OnboardingFactory,
    TimelineEntryFactory,
)
from portal.models import Partner, PartnerMembership
from portal.tests.factories import MembershipFactory, PartnerFactory, UserFactory
from portal.tokens import token_hash
from webhooks.tests.factories import WebhookEventFactory

TENANT_MODELS = [
    "portal.partner",
    "clients.client",
    "clients.onboarding",
    "clients.timelineentry",
    "clients.notification",
    "clients.invite",
    "channels.channel",
    "channels.apikey",
    "webhooks.webhookevent",
]


@dataclass
class Tenant:
    partner: Partner
    rows: dict[str, models.Model]


def make_tenant(marker: str) -> Tenant:
    partner = PartnerFactory.create(
        slug=marker, name=f"{marker.title()} Hub", hub_partner_id=f"{marker}PA"
    )
    client = ClientFactory.create(
        partner=partner,
        name=f"{marker} bakery",
        email=f"owner@{marker}.example",
        hub_client_id=f"{marker}Client",
    )
    onboarding = OnboardingFactory.create(
        partner=partner, client=client, email=f"signup@{marker}.example", contact_name=marker
    )
    entry = TimelineEntryFactory.create(onboarding=onboarding, message=f"{marker} popup launched")
    invite = Invite.objects.create(
        partner=partner,
        token_hash=token_hash(f"{marker}-invite"),
        email=f"invitee@{marker}.example",
        contact_name=f"{marker} invitee",
        expires_at=timezone.now() + timedelta(days=1),
    )
    notification = NotificationFactory.create(
        onboarding=onboarding, subject=f"{marker} number ready", key=f"{marker}:key_ready"
    )
    channel = ChannelFactory.create(
        client=client, onboarding=onboarding, hub_channel_id=f"{marker}Chan", phone_name=marker
    )
    api_key = ApiKeyFactory.create(channel=channel, hub_key_id=f"{marker}Key")
    event = WebhookEventFactory.create(
        partner=partner,
        hub_event_id=f"{marker}_evt_1",
        payload={
            "event": "channel_running",
            "data": {"id": channel.hub_channel_id, "client_id": client.hub_client_id},
        },
    )
    return Tenant(
        partner=partner,
        rows={
            "portal.partner": partner,
            "clients.client": client,
            "clients.onboarding": onboarding,
            "clients.timelineentry": entry,
            "clients.notification": notification,
            "clients.invite": invite,
            "channels.channel": channel,
            "channels.apikey": api_key,
            "webhooks.webhookevent": event,
        },
    )


@pytest.fixture
def alpha(db) -> Tenant:
    return make_tenant("alpha")


@pytest.fixture
def bravo(db) -> Tenant:
    return make_tenant("bravo")


def logged_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


@pytest.fixture(params=[PartnerMembership.Role.MANAGER, PartnerMembership.Role.VIEWER])
def alpha_staff(request, alpha, bravo) -> HttpClient:
    membership = MembershipFactory.create(partner=alpha.partner, role=request.param)
    return logged_in(membership.user)


@pytest.fixture
def superuser(alpha, bravo) -> HttpClient:
    return logged_in(UserFactory.create(username="root", is_superuser=True))


def url(label: str, view: str, *args: object) -> str:
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


def page(http: HttpClient, path: str) -> str:
    response = http.get(path, follow=True)
    assert response.status_code == 200, (path, response.status_code)
    return response.content.decode().lower()


@pytest.mark.parametrize("label", TENANT_MODELS)
def test_the_list_shows_only_the_members_partner(label, alpha_staff, superuser):
    assert "bravo" in page(superuser, url(label, "changelist"))

    html = page(alpha_staff, url(label, "changelist"))

    assert "alpha" in html
    assert "bravo" not in html


@pytest.mark.parametrize("label", TENANT_MODELS)
def test_search_finds_nothing_of_another_partner(label, alpha_staff, superuser):
    search = url(label, "changelist") + "?q=bravo"
    assert "0 results" not in page(superuser, search)

    html = page(alpha_staff, search)

    assert "0 results" in html
    assert 'id="result_list"' not in html
    # The query itself is echoed in the search box and in links; nothing else may say "bravo".
    assert "bravo" not in re.sub(r'q(=|%3d)bravo|value="bravo"', "", html)


@pytest.mark.parametrize("label", TENANT_MODELS[1:])
def test_filtering_the_list_by_another_partner_shows_nothing(label, alpha_staff, superuser, bravo):
    filtered = url(label, "changelist") + f"?partner__id__exact={bravo.partner.pk}"
    assert "bravo" in page(superuser, filtered)

    response = alpha_staff.get(filtered, follow=True)

    html = response.content.decode().lower()
    assert response.status_code == 200
    assert "bravo" not in html


@pytest.mark.parametrize("label", TENANT_MODELS)
@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_another_partners_detail_pages_are_closed(label, view, alpha_staff, superuser, bravo):
    target = url(label, view, bravo.rows[label].pk)
    assert superuser.get(target).status_code == 200

    response = alpha_staff.get(target)

    assert response.status_code in (302, 403, 404)
    if response.status_code == 302:
        assert response["Location"] == reverse("admin:index")
        assert "bravo" not in page(alpha_staff, response["Location"])


@pytest.mark.parametrize("label", TENANT_MODELS)
def test_the_members_own_detail_page_mentions_no_other_partner(label, alpha_staff, alpha):
    html = page(alpha_staff, url(label, "change", alpha.rows[label].pk))

    assert "alpha" in html
    assert "bravo" not in html


def test_the_admin_index_lists_no_other_partner(alpha_staff):
    html = page(alpha_staff, reverse("admin:index"))

    assert "bravo" not in html


def test_a_user_without_memberships_sees_no_tenant_data(alpha, bravo):
    http = logged_in(UserFactory.create(username="nobody"))

    for label in TENANT_MODELS:
        assert http.get(url(label, "changelist")).status_code == 403
    assert "alpha" not in page(http, reverse("admin:index"))
