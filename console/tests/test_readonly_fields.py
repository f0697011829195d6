"""Lifecycle, identity and 360Dialog fields are read-only in every admin form: they change
through events, reconciliation and the console's audited actions, never by hand."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client as HttpClient
from django.urls import reverse

from channels.models import ApiKey, Channel
from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.models import Client, Onboarding
from clients.tests.factories import ClientFactory, OnboardingFactory
from portal.models import PartnerMembership
from portal.tenancy import all_partners_scope
from portal.tests.factories import MembershipFactory, UserFactory

# Per model: the fields no admin form may offer for editing.
LOCKED = {
    Onboarding: {
        "status",
        "client",
        "verified",
        "expires_at",
        "public_id",
        "partner",
        "partner_payload",
        "opened_at",
        "returned_at",
        "completed_at",
        "return_token_hash",
        "started_by_webhook",
        "return_data",
    },
    Channel: {
        "status",
        "permission",
        "permission_changed_at",
        "client",
        "onboarding",
        "partner",
        "hub_channel_id",
        "waba_id",
        "phone_number",
        "account_mode",
        "has_violation",
        "is_restricted",
        "cancellation_requested",
        "cancelled_at",
        "status_changed_at",
        "api_key_error",
        "api_key_error_at",
    },
    Client: {"hub_client_id", "hub_status", "partner", "partner_payload", "name", "email"},
    ApiKey: {"key", "last4", "fingerprint", "hub_key_id", "revoked_at", "channel", "partner"},
}


@pytest.fixture
def rows(db):
    channel = ChannelFactory.create(status=Channel.Status.LIVE)
    onboarding = OnboardingFactory.create(
        partner=channel.partner, client=channel.client, status=Onboarding.Status.LIVE
    )
    channel.onboarding = onboarding
    with all_partners_scope():
        channel.save()
    key = ApiKeyFactory.create(channel=channel)
    return {Onboarding: onboarding, Channel: channel, Client: channel.client, ApiKey: key}


@pytest.fixture
def manager(rows) -> HttpClient:
    membership = MembershipFactory.create(
        partner=rows[Channel].partner, role=PartnerMembership.Role.MANAGER
    )
    http = HttpClient()
    http.force_login(membership.user)
    return http


@pytest.mark.parametrize("model", list(LOCKED), ids=lambda m: m.__name__)
def test_no_admin_form_offers_a_lifecycle_field(model, rows, rf):
    model_admin = admin.site._registry[model]
    request = rf.get("/admin/")
    request.user = UserFactory.create(username="root", is_superuser=True)
    with all_partners_scope():
        form = model_admin.get_form(request, rows[model], change=True)

    assert LOCKED[model] & set(form.base_fields) == set()


def test_a_manager_cannot_move_a_live_channel_back_by_posting_the_form(manager, rows):
    channel = rows[Channel]
    url = reverse("admin:channels_channel_change", args=[channel.pk])

    response = manager.post(
        url,
        {
            "status": "ready",
            "permission": "revoked",
            "hub_channel_id": "other",
            "api_keys-TOTAL_FORMS": "1",
            "api_keys-INITIAL_FORMS": "1",
            "api_keys-0-id": str(rows[ApiKey].pk),
            "api_keys-0-channel": str(channel.pk),
            "_save": "1",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    with all_partners_scope():
        channel.refresh_from_db()
    assert (channel.status, channel.permission, channel.hub_channel_id) == (
        Channel.Status.LIVE,
        Channel.Permission.UNKNOWN,
        rows[Channel].hub_channel_id,
    )


def test_a_manager_cannot_mark_an_onboarding_live_or_relink_it_by_posting_the_form(manager, rows):
    onboarding = rows[Onboarding]
    other_client = ClientFactory.create(partner=onboarding.partner)
    url = reverse("admin:clients_onboarding_change", args=[onboarding.pk])

    response = manager.post(
        url,
        {
            "email": "new@client.example",
            "contact_name": "Ada",
            "phone_number": "",
            "status": "failed",
            "client": other_client.pk,
            "verified": "",
            "expires_at_0": "2000-01-01",
            "expires_at_1": "00:00:00",
            "timeline-TOTAL_FORMS": "0",
            "timeline-INITIAL_FORMS": "0",
            "_save": "1",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    with all_partners_scope():
        onboarding.refresh_from_db()
    assert onboarding.email == "new@client.example"
    assert (onboarding.status, onboarding.client_id, onboarding.verified) == (
        Onboarding.Status.LIVE,
        rows[Client].pk,
        True,
    )
    assert onboarding.expires_at > rows[Onboarding].created_at
