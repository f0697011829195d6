"""Changelists take only the lookups their own filters make: nobody finds a stored token (or
anything else a list does not show) one character at a time, and no value with a NUL
character reaches PostgreSQL."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.test import Client as HttpClient
from django.urls import reverse

from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.tests.factories import (
    ClientFactory,
    NotificationFactory,
    OnboardingFactory,
    TimelineEntryFactory,
)
from portal.admin_tenancy import AllowedLookupsMixin
from portal.models import Partner, PartnerMembership
from portal.tests.factories import MembershipFactory, PartnerFactory, UserFactory
from webhooks.tests.factories import WebhookEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory.create(slug="acme", name="Acme")


def staff(partner: Partner, role: str) -> HttpClient:
    http = HttpClient()
    http.force_login(MembershipFactory.create(partner=partner, role=role).user)
    return http


def superuser() -> HttpClient:
    http = HttpClient()
    http.force_login(UserFactory.create(username="root", is_superuser=True))
    return http


def changelists() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]


def test_a_viewer_cannot_probe_the_webhook_token_hash(partner):
    http = staff(partner, PartnerMembership.Role.VIEWER)
    first = partner.webhook_token_hash[0]

    for lookup in (
        f"webhook_token_hash__regex=^{first}",
        f"webhook_token_hash__startswith={first}",
        "webhook_token__regex=^a",
        "api_key__regex=.",
        "platform_secret__isnull=False",
        "hub_partner_id__gt=a",
    ):
        response = http.get(f"/admin/portal/partner/?{lookup}")
        assert response.status_code == 400, lookup


def test_every_admin_refuses_a_lookup_its_filters_do_not_make(partner):
    http = superuser()

    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, AllowedLookupsMixin), model
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        field = next(f.name for f in model._meta.concrete_fields if not f.primary_key)
        assert http.get(f"{url}?{field}__regex=.").status_code == 400, url
        assert http.get(f"{url}?id__gt=0").status_code == 400, url


def tenant_rows(partner: Partner) -> None:
    client = ClientFactory.create(partner=partner)
    onboarding = OnboardingFactory.create(partner=partner, client=client, verified=False)
    OnboardingFactory.create(partner=partner)
    TimelineEntryFactory.create(onboarding=onboarding)
    NotificationFactory.create(onboarding=onboarding)
    channel = ChannelFactory.create(client=client, onboarding=onboarding)
    ApiKeyFactory.create(channel=channel)
    WebhookEventFactory.create(partner=partner)


def test_every_filter_link_of_every_changelist_works(partner):
    tenant_rows(partner)
    http = superuser()

    followed = 0
    for url in changelists():
        page = http.get(url)
        assert page.status_code == 200, url
        text = page.content.decode()
        sidebar = text.split('id="changelist-filter"', 1)[-1] if "changelist-filter" in text else ""
        links = re.findall(r'href="(\?[^"]*)"', sidebar + _date_hierarchy(text))
        for link in links:
            response = http.get(url + html.unescape(link))
            assert response.status_code == 200, url + link
            followed += 1
    assert followed > 30


def _date_hierarchy(text: str) -> str:
    match = re.search(r'<nav class="xfull">(.*?)</nav>', text, re.S)
    return match.group(1) if match else ""


def test_nul_characters_in_filters_and_searches_are_refused_not_500(partner):
    tenant_rows(partner)
    http = superuser()

    for url in changelists():
        assert http.get(f"{url}?q={quote(chr(0))}").status_code == 200, url
    onboardings = reverse("admin:clients_onboarding_changelist")
    assert http.get(f"{onboardings}?status__exact=%00").status_code == 400
    events = reverse("admin:webhooks_webhookevent_changelist")
    assert http.get(f"{events}?event_type=%00").status_code == 400
